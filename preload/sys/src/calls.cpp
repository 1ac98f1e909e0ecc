// Production system calls (mif/sys/calls.h). A test executable replaces this whole file
// by defining the same functions (link-time choice): keep the set of definitions here and
// in tests/unit/preload/engine/sys_faults.cpp identical.
#include "mif/sys/calls.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mif::sys {

int socket(int domain, int type, int protocol) noexcept { return ::socket(domain, type, protocol); }
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept { return ::bind(fd, addr, len); }
int close(int fd) noexcept { return ::close(fd); }
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  return ::setsockopt(fd, level, name, value, len);
}
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
  return ::getsockopt(fd, level, name, value, len);
}
ssize_t recv(int fd, void* buf, size_t len, int flags) noexcept { return ::recv(fd, buf, len, flags); }
int fstat(int fd, struct stat* st) noexcept { return ::fstat(fd, st); }
int fcntl(int fd, int cmd, int arg) noexcept { return ::fcntl(fd, cmd, arg); }
long timerSlack() noexcept { return ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0); }
int setTimerSlack(unsigned long ns) noexcept { return ::prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0); }

namespace raw {
int socket(int domain, int type, int protocol) noexcept {
  return int(::syscall(SYS_socket, domain, type, protocol));
}
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  return int(::syscall(SYS_bind, fd, addr, len));
}
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  return int(::syscall(SYS_connect, fd, addr, len));
}
int close(int fd) noexcept { return int(::syscall(SYS_close, fd)); }
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  return int(::syscall(SYS_setsockopt, fd, level, name, value, len));
}
ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from,
                 socklen_t* fromLen) noexcept {
  return ::syscall(SYS_recvfrom, fd, buf, len, flags, from, fromLen);
}
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return ::syscall(SYS_sendmsg, fd, msg, flags);
}
}  // namespace raw

}  // namespace mif::sys
