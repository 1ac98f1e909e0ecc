// bind(2) and listen(2): the program's own choice of address pins its socket to the
// interface that owns that address; strict pins also catch wildcard and autobound
// listeners.
#include <sys/socket.h>

#include "datagram_cache.h"
#include "known_fds.h"
#include "unicast_if.h"
#include "guard.h"
#include "hook.h"
#include "real_libc.h"
#include "runtime.h"

using namespace mif::preload;

extern "C" {

MIF_EXPORT int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  auto realBind = real::bind.get(reinterpret_cast<const void*>(&bind));
  if (realBind == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  // A socket bound by the program chooses its source itself: its datagrams are decided
  // afresh.
  if (!ReentryGuard::active()) {
    dgram::forget(fd);
    if (ucif::held(fd)) ucif::leave(fd);
    knownfd::programBound();
  }
  Endpoint local;
  // An address the kernel would refuse (unreadable: EFAULT; oversized: EINVAL) is left to
  // it, with the socket untouched.
  if (ReentryGuard::active() || !fromCallerSockaddr(addr, len, &local, MIF_LIVE_FRAME())) {
    return realBind(fd, addr, len);
  }
  Runtime* rt = Runtime::get();
  if (rt == nullptr) return realBind(fd, addr, len);
  ErrnoKeeper keep;
  Outcome o;
  {
    ReentryGuard guard;
    o = rt->bindLocal(fd, local);
  }
  if (o.error != 0) {
    rt->finish(o, o.error);
    errno = o.error;
    return -1;
  }
  keep.restore();
  const int rc = realBind(fd, addr, len);
  if (o.decided) rt->finish(o, rc < 0 ? errno : 0);
  return rc;
}

MIF_EXPORT int listen(int fd, int backlog) noexcept {
  auto realListen = real::listen.get(reinterpret_cast<const void*>(&listen));
  if (realListen == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (ReentryGuard::active()) return realListen(fd, backlog);
  knownfd::programBound();
  // Only a strict setup cares; a process that is not yet initialised asks the socket's
  // family first so that an AF_UNIX listener never loads the policy.
  Runtime* rt = Runtime::peek();
  if (rt != nullptr && !rt->strictPossible()) return realListen(fd, backlog);
  ErrnoKeeper keep;
  sockaddr_storage ss;
  socklen_t sslen = sizeof ss;
  Endpoint local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sslen) != 0 ||
      !fromSockaddr(reinterpret_cast<sockaddr*>(&ss), sslen, &local)) {
    keep.restore();
    return realListen(fd, backlog);
  }
  if (rt == nullptr) rt = Runtime::get();
  if (rt == nullptr) {
    keep.restore();
    return realListen(fd, backlog);
  }
  Outcome o;
  {
    ReentryGuard guard;
    o = rt->listenOn(fd);
  }
  if (o.error != 0) {
    rt->finish(o, o.error);
    errno = o.error;
    return -1;
  }
  keep.restore();
  const int rc = realListen(fd, backlog);
  if (o.decided) rt->finish(o, rc < 0 ? errno : 0);
  return rc;
}

}  // extern "C"
