// setsockopt(2): the program's device binding, send timeout and local address are facts a
// connect needs; for a socket made since the library loaded they are known without asking
// the kernel as long as every change passes here (known_fds.h). The call itself goes to
// libc unchanged.
#include <sys/socket.h>

#include "guard.h"
#include "hook.h"
#include "known_fds.h"
#include "real_libc.h"

using namespace mif::preload;

extern "C" {

MIF_EXPORT int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  auto realSetsockopt = real::setsockopt.get(reinterpret_cast<const void*>(&setsockopt));
  if (realSetsockopt == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  // Before the call: a connect in another thread that sees the option set must not have
  // been told the socket was unbound.
  if (level == SOL_SOCKET && !ReentryGuard::active()) knownfd::programSetOption(level, name);
  return realSetsockopt(fd, level, name, value, len);
}

}  // extern "C"
