#pragma once
// The system calls the library makes for itself, in one place: a seam (issue 27) through
// which unit tests drive the runtime without LD_PRELOAD and inject faults (issue 28 item
// 4) into the resolver's DNS sockets, the live view's netlink socket and the socket
// options that pin a program's socket.
//
// A link-time choice, not an interface: production links calls.cpp (libmif_sys.a); a test
// executable that defines every function below itself (tests/unit/preload/engine/
// sys_faults.cpp) gets its own instead, because the linker never pulls an archive member
// whose symbols are already defined. So the connect path calls these exactly as it called
// libc before: one direct call, no indirection, no table to load.
//
// Two families, as the callers need them:
// - mif::sys::*: libc's functions. Inside libmif-engine.so they pass through the library's
//   own hooks (socket, close), which register the view's netlink socket as one of the
//   library's descriptors (own_fds.h) because the re-entry guard is set.
// - mif::sys::raw::*: the system calls themselves, for the resolver's sockets: neither the
//   library's hooks nor another preloaded library may see or decide them.
// Each returns what the call returns and sets errno as the call does.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

namespace mif::sys {

int socket(int domain, int type, int protocol) noexcept;
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept;
int close(int fd) noexcept;
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept;
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept;
ssize_t recv(int fd, void* buf, size_t len, int flags) noexcept;
int fstat(int fd, struct stat* st) noexcept;
// fcntl with an integer argument (F_GETFL, F_SETFL, F_GETFD, F_SETFD: what the library
// asks and sets on a program's socket).
int fcntl(int fd, int cmd, int arg) noexcept;
// The calling thread's timer slack in nanoseconds (prctl PR_GET_TIMERSLACK, -1 on error) and
// its change (PR_SET_TIMERSLACK): the races lower it for their own waits (race_timing.h).
long timerSlack() noexcept;
int setTimerSlack(unsigned long ns) noexcept;

namespace raw {
int socket(int domain, int type, int protocol) noexcept;
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept;
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept;
int close(int fd) noexcept;
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept;
ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from,
                 socklen_t* fromLen) noexcept;
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept;
}  // namespace raw

}  // namespace mif::sys
