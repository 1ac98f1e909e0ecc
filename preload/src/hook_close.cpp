// close, close_range, closefrom, dup2, dup3, and socket: the library's own descriptors
// (own_fds.h). A daemon that closes every descriptor does not take the live view's netlink
// socket or the resolver's sockets from under the library: closing one of them reports
// success and leaves it open (as closing any other open descriptor would report), and a
// range is closed around them. dup2/dup3 onto one of them is the program claiming that
// number: it gets it, and the library's component notices (it checks its descriptor's
// identity before each use) and reopens.
#include <sys/socket.h>
#include <unistd.h>

#include <climits>

#include "guard.h"
#include "hook.h"
#include "datagram_cache.h"
#include "nb_race.h"
#include "unicast_if.h"
#include "known_fds.h"
#include "own_fds.h"
#include "real_libc.h"

namespace mif::preload {
namespace {

// close_range(lo, hi) skipping our descriptors. Returns 0 or -1 with errno.
int closeRangeAround(unsigned lo, unsigned hi, int flags, real::CloseRangeFn realCloseRange) {
  while (lo <= hi) {
    const int own = ownfds::lowestIn(lo, hi);
    if (own < 0) return realCloseRange(lo, hi, flags);
    if (static_cast<unsigned>(own) > lo) {
      if (realCloseRange(lo, static_cast<unsigned>(own) - 1, flags) != 0) return -1;
    }
    if (static_cast<unsigned>(own) == hi) break;
    lo = static_cast<unsigned>(own) + 1;
  }
  return 0;
}

}  // namespace
}  // namespace mif::preload

using namespace mif::preload;

extern "C" {

MIF_EXPORT int close(int fd) {
  auto realClose = real::close.get(reinterpret_cast<const void*>(&close));
  if (realClose == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (ReentryGuard::active()) {
    ownfds::remove(fd);  // the library closing its own
  } else if (ownfds::isOwn(fd)) {
    return 0;
  } else {
    dgram::forget(fd);
    ucif::forget(fd);
    knownfd::forget(fd);
    if (nbrace::pending()) nbrace::end(fd);  // its fresh sockets go with it
  }
  return realClose(fd);
}

MIF_EXPORT int close_range(unsigned int first, unsigned int last, int flags) noexcept {
  auto realCloseRange = real::closeRange.get(reinterpret_cast<const void*>(&close_range));
  if (realCloseRange == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (!ReentryGuard::active() && (flags & CLOSE_RANGE_CLOEXEC) == 0 && first <= last) {
    dgram::forgetRange(first, last);
    ucif::forgetRange(first, last);
    knownfd::forgetRange(first, last);
    if (nbrace::pending()) nbrace::endRange(first, last);
  }
  // CLOSE_RANGE_CLOEXEC only marks descriptors close-on-exec; ours are already.
  if (ReentryGuard::active() || first > last || (flags & CLOSE_RANGE_CLOEXEC) != 0 ||
      ownfds::lowestIn(first, last) < 0) {
    return realCloseRange(first, last, flags);
  }
  return closeRangeAround(first, last, flags, realCloseRange);
}

MIF_EXPORT void closefrom(int lowfd) noexcept {
  auto realClosefrom = real::closefrom.get(reinterpret_cast<const void*>(&closefrom));
  if (realClosefrom == nullptr) return;
  const unsigned lo = lowfd < 0 ? 0u : static_cast<unsigned>(lowfd);
  if (!ReentryGuard::active()) {
    dgram::forgetRange(lo, UINT_MAX);
    ucif::forgetRange(lo, UINT_MAX);
    knownfd::forgetRange(lo, UINT_MAX);
    if (nbrace::pending()) nbrace::endRange(lo, UINT_MAX);
  }
  const int own = ReentryGuard::active() ? -1 : ownfds::lowestIn(lo, UINT_MAX);
  auto realCloseRange = real::closeRange.get();
  if (own < 0 || realCloseRange == nullptr) {
    realClosefrom(lowfd);
    return;
  }
  // Below our highest descriptor piece by piece, then glibc's own closefrom (which also
  // copes with kernels lacking close_range) for the rest.
  unsigned top = lo;
  for (int fd = own; fd >= 0; fd = ownfds::lowestIn(static_cast<unsigned>(fd) + 1, UINT_MAX)) {
    top = static_cast<unsigned>(fd);
  }
  closeRangeAround(lo, top, 0, realCloseRange);
  realClosefrom(static_cast<int>(top) + 1);
}

MIF_EXPORT int dup2(int oldfd, int newfd) noexcept {
  auto realDup2 = real::dup2.get(reinterpret_cast<const void*>(&dup2));
  if (realDup2 == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (!ReentryGuard::active()) {
    ownfds::remove(newfd);
    dgram::forget(newfd);
    if (newfd != oldfd) ucif::forget(newfd);  // dup2(fd, fd) leaves the socket as it is
    if (newfd != oldfd) knownfd::forget(newfd);
    if (newfd != oldfd && nbrace::pending()) nbrace::end(newfd);
  }
  return realDup2(oldfd, newfd);
}

MIF_EXPORT int dup3(int oldfd, int newfd, int flags) noexcept {
  auto realDup3 = real::dup3.get(reinterpret_cast<const void*>(&dup3));
  if (realDup3 == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (!ReentryGuard::active()) {
    ownfds::remove(newfd);
    dgram::forget(newfd);
    ucif::forget(newfd);
    knownfd::forget(newfd);
    if (newfd != oldfd && nbrace::pending()) nbrace::end(newfd);
  }
  return realDup3(oldfd, newfd, flags);
}

// Registers the library's own sockets (created while the guard is set); the program's
// sockets pass straight through.
MIF_EXPORT int socket(int domain, int type, int protocol) noexcept {
  auto realSocket = real::socket.get(reinterpret_cast<const void*>(&socket));
  if (realSocket == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const int fd = realSocket(domain, type, protocol);
  if (fd >= 0 && ReentryGuard::active()) {
    ErrnoKeeper keep;
    ownfds::add(fd);
    keep.restore();
  } else if (fd >= 0) {
    dgram::forget(fd);  // a number the program closed behind our back, now a new socket
    ucif::forget(fd);
    // What the program's socket has set is known from here on (known_fds.h).
    const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if ((domain == AF_INET || domain == AF_INET6) && (base == SOCK_STREAM || base == SOCK_DGRAM)) {
      knownfd::made(fd, (type & SOCK_NONBLOCK) != 0);
    } else {
      knownfd::forget(fd);
    }
    if (nbrace::pending()) nbrace::end(fd);
  }
  return fd;
}

}  // extern "C"
