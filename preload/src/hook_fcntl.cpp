// fcntl(2) (and glibc's other names for it, fcntl64 and __fcntl) and ioctl(2): a socket's
// file status flags, O_NONBLOCK above all, say whether a connect raced across PvDs is
// raced in the connect or in the program's waits. For a socket made since the library
// loaded they are known without asking the kernel as long as every change passes here
// (known_fds.h): F_SETFL and FIONBIO on the number socket() returned are recorded for it;
// on any other descriptor (perhaps a dup of a socket), they and FIOASYNC make every older
// socket asked again. Each call goes to libc unchanged, its variadic argument passed on as
// glibc's own wrappers take it (one pointer-sized word), so results and errno are libc's.
#include <fcntl.h>
#include <sys/ioctl.h>

#include <cstdarg>

#include "guard.h"
#include "hook.h"
#include "known_fds.h"
#include "real_libc.h"

// Under _FILE_OFFSET_BITS=64 or _TIME_BITS=64 the headers rename fcntl and ioctl (to
// fcntl64, __fcntl_time64, __ioctl_time64): the definitions below would export the wrong
// names.
#if defined(__USE_FILE_OFFSET64) || defined(__USE_TIME_BITS64)
#error "hook_fcntl.cpp must see glibc's plain fcntl and ioctl declarations"
#endif

using namespace mif::preload;

namespace {

// What F_SETFL(arg) leaves of the flags known_fds.h keeps: it sets every settable flag at
// once (the access mode and creation flags in arg are ignored).
knownfd::Flags setflLeaves(long arg) noexcept {
  if ((arg & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME)) != 0) return knownfd::Flags::Other;
  return (arg & O_NONBLOCK) != 0 ? knownfd::Flags::NonBlocking : knownfd::Flags::Blocking;
}

// Not noexcept: fcntl(F_SETLKW, F_OFD_SETLKW) is a cancellation point (hook.h).
int fcntlVia(real::FcntlFn realFcntl, int fd, int cmd, void* arg) {
  if (realFcntl == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (cmd != F_SETFL || ReentryGuard::active()) return realFcntl(fd, cmd, arg);
  // Before the call, as setsockopt's: a connect in another thread that sees the new flags
  // must not have been told the old ones.
  const uint64_t token = knownfd::settingFlags(fd);
  const int r = realFcntl(fd, cmd, arg);
  if (token != 0)  // no errno touched
    knownfd::flagsSet(fd, token, r == 0 ? setflLeaves(reinterpret_cast<long>(arg)) : knownfd::Flags::Unchanged);
  return r;
}

}  // namespace

extern "C" {

MIF_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntlVia(real::fcntl.get(reinterpret_cast<const void*>(&fcntl)), fd, cmd, arg);
}

// What <fcntl.h> names fcntl under _FILE_OFFSET_BITS=64 (glibc 2.28 on): the same call.
MIF_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntlVia(real::fcntl64.get(reinterpret_cast<const void*>(&fcntl64)), fd, cmd, arg);
}

// Exported by glibc (GLIBC_2.2.5) and used by a few libraries directly, as __connect.
MIF_EXPORT int __fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntlVia(real::fcntlAlias.get(reinterpret_cast<const void*>(&__fcntl)), fd, cmd, arg);
}

MIF_EXPORT int ioctl(int fd, unsigned long request, ...) noexcept {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  auto realIoctl = real::ioctl.get(reinterpret_cast<const void*>(&ioctl));
  if (realIoctl == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  // FIONBIO sets or clears O_NONBLOCK, FIOASYNC O_ASYNC.
  if ((request != FIONBIO && request != FIOASYNC) || ReentryGuard::active()) return realIoctl(fd, request, arg);
  const uint64_t token = knownfd::settingFlags(fd);
  const int r = realIoctl(fd, request, arg);
  if (token != 0) {
    knownfd::Flags now = knownfd::Flags::Unchanged;
    // The kernel read the int at arg: readable.
    if (r == 0 && request == FIONBIO)
      now = *static_cast<const int*>(arg) != 0 ? knownfd::Flags::NonBlocking : knownfd::Flags::Blocking;
    else if (r == 0)
      now = knownfd::Flags::Other;
    knownfd::flagsSet(fd, token, now);
  }
  return r;
}

}  // extern "C"
