// accept and accept4: under a strict pin, a connection that arrived through another PvD
// (a listener the program set up before mif could pin it, or one inherited through socket
// activation) is dropped and reported as ECONNABORTED, which servers already handle as a
// peer that went away before accept.
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "datagram_cache.h"
#include "known_fds.h"
#include "unicast_if.h"
#include "guard.h"
#include "hook.h"
#include "real_libc.h"
#include "runtime.h"

namespace mif::preload {
namespace {

// The kernel wrote min(given, actual) bytes of the peer's address and then the actual
// length into *peerLen, so the family can be read from `peer` only when the program gave
// room for it (`given`, read before the call); otherwise the socket is asked.
bool isInetSocket(int fd, const sockaddr* peer, socklen_t given) noexcept {
  sa_family_t family = AF_UNSPEC;
  if (peer != nullptr && given >= sizeof(sa_family_t)) {
    std::memcpy(&family, peer, sizeof family);  // written by the kernel just now
  } else {
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
    family = ss.ss_family;
  }
  return family == AF_INET || family == AF_INET6;
}

// What accept() needs to know before the real call: whether vet() will look at all, and
// how much room the program gave for the peer's address (0 when unknown: vet() then asks
// the socket). *len is read fault-safely: a pointer the kernel answers with EFAULT must
// not crash the program here.
socklen_t roomGiven(const sockaddr* peer, const socklen_t* len, const void* liveFrame) noexcept {
  if (peer == nullptr || len == nullptr || ReentryGuard::active()) return 0;
  Runtime* rt = Runtime::peek();
  if (rt != nullptr && !rt->strictPossible()) return 0;
  socklen_t given = 0;
  if (!copyFromCaller(&given, len, sizeof given, liveFrame)) return 0;
  return given;
}

// Returns fd, or -1 with errno ECONNABORTED after closing a forbidden connection.
int vet(int fd, const sockaddr* peer, socklen_t given) noexcept {
  if (fd < 0 || ReentryGuard::active()) return fd;
  Runtime* rt = Runtime::peek();
  if (rt != nullptr && !rt->strictPossible()) return fd;
  ErrnoKeeper keep;
  if (!isInetSocket(fd, peer, given)) {
    keep.restore();
    return fd;
  }
  if (rt == nullptr) rt = Runtime::get();
  bool allowed = true;
  if (rt != nullptr) {
    ReentryGuard guard;
    allowed = rt->acceptAllowed(fd);
  }
  if (allowed) {
    keep.restore();
    return fd;
  }
  real::close.get()(fd);
  errno = ECONNABORTED;
  return -1;
}

}  // namespace
}  // namespace mif::preload

using namespace mif::preload;

namespace {
// A new descriptor: whatever a socket of that number sent before is not this one's.
int forgotten(int fd) noexcept {
  if (fd >= 0 && !mif::preload::ReentryGuard::active()) {
    mif::preload::dgram::forget(fd);
    mif::preload::ucif::forget(fd);
    mif::preload::knownfd::forget(fd);
  }
  return fd;
}
}  // namespace

extern "C" {

MIF_EXPORT int accept(int fd, sockaddr* addr, socklen_t* len) {
  auto realAccept = real::accept.get(reinterpret_cast<const void*>(&accept));
  if (realAccept == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const socklen_t given = roomGiven(addr, len, MIF_LIVE_FRAME());
  return forgotten(vet(realAccept(fd, addr, len), addr, given));
}

MIF_EXPORT int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  auto realAccept4 = real::accept4.get(reinterpret_cast<const void*>(&accept4));
  if (realAccept4 == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const socklen_t given = roomGiven(addr, len, MIF_LIVE_FRAME());
  return forgotten(vet(realAccept4(fd, addr, len, flags), addr, given));
}

}  // extern "C"
