// connect(2) and its glibc alias __connect: decide, pin the socket, then the real call.
#include <sys/socket.h>

#include "datagram_cache.h"
#include "guard.h"
#include "hook.h"
#include "real_libc.h"
#include "runtime.h"

namespace mif::preload {
namespace {

int connectVia(real::ConnectFn realConnect, int fd, const sockaddr* addr, socklen_t len) {
  if (realConnect == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (!ReentryGuard::active()) dgram::forget(fd);  // a connected socket: decided at connect
  Endpoint dst;
  // An address the kernel would refuse (unreadable: EFAULT; oversized: EINVAL) is left to
  // it, with the socket untouched.
  if (ReentryGuard::active() || !fromCallerSockaddr(addr, len, &dst, MIF_LIVE_FRAME())) {
    return realConnect(fd, addr, len);
  }
  Runtime* rt = Runtime::get();
  if (rt == nullptr) return realConnect(fd, addr, len);
  ErrnoKeeper keep;
  Outcome o;
  {
    ReentryGuard guard;
    o = rt->connectLike(Call::Connect, fd, dst);
  }
  if (o.error != 0) {
    rt->finish(o, o.error);
    errno = o.error;
    return -1;
  }
  keep.restore();
  // Outside the guard and outside any noexcept frame: connect is a cancellation point.
  const int rc = realConnect(fd, o.destination(addr), o.destinationLength(len));
  if (o.decided) {
    const int err = rc < 0 ? errno : 0;
    rt->finish(o, err);
  }
  return rc;
}

}  // namespace
}  // namespace mif::preload

using namespace mif::preload;

extern "C" {

MIF_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
  return connectVia(real::connect.get(reinterpret_cast<const void*>(&connect)), fd, addr, len);
}

// Exported by glibc (GLIBC_2.2.5) and used by a few programs and libraries directly.
MIF_EXPORT int __connect(int fd, const sockaddr* addr, socklen_t len) {
  return connectVia(real::connect.get(reinterpret_cast<const void*>(&connect)), fd, addr, len);
}

}  // extern "C"
