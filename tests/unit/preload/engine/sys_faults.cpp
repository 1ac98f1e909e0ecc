// See sys_faults.h. The set of functions defined here must stay the set that
// preload/sys/src/calls.cpp defines (a missing one pulls that archive member in and the
// link fails with duplicate definitions, which is the intended loud failure).
#include "sys_faults.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "mif/sys/calls.h"

namespace mif::sys::faults {
namespace {

struct Slot {
  std::atomic<int> err{0};
  std::atomic<int> left{0};
  std::atomic<int> match{-1};
  std::atomic<int> made{0};
  std::atomic<int> fired{0};
};
Slot gSlots[int(Call::Count)];

// True (errno set) when the call must fail now.
bool fault(Call c, int key = -1) noexcept {
  Slot& s = gSlots[int(c)];
  s.made.fetch_add(1, std::memory_order_relaxed);
  const int err = s.err.load(std::memory_order_acquire);
  if (err == 0) return false;
  const int m = s.match.load(std::memory_order_relaxed);
  if (m != -1 && m != key) return false;
  int left = s.left.load(std::memory_order_relaxed);
  if (left == 0) return false;
  if (left > 0 && !s.left.compare_exchange_strong(left, left - 1)) return false;
  s.fired.fetch_add(1, std::memory_order_relaxed);
  errno = err;
  return true;
}

}  // namespace

const char* name(Call c) noexcept {
  static const char* const kNames[] = {"socket",      "bind",          "close",          "setsockopt",
                                       "getsockopt",  "recv",          "fstat",          "fcntl",
                                       "timer slack", "set timer slack",
                                       "raw socket",  "raw bind",      "raw connect",    "raw close",
                                       "raw setsockopt", "raw recvfrom", "raw sendmsg"};
  static_assert(sizeof kNames / sizeof kNames[0] == size_t(Call::Count));
  return kNames[int(c)];
}

void arm(Call call, int err, int times, int match) noexcept {
  Slot& s = gSlots[int(call)];
  s.match.store(match, std::memory_order_relaxed);
  s.left.store(times, std::memory_order_relaxed);
  s.err.store(err, std::memory_order_release);
}

void disarm() noexcept {
  for (Slot& s : gSlots) {
    s.err.store(0, std::memory_order_release);
    s.left.store(0);
    s.match.store(-1);
    s.made.store(0);
    s.fired.store(0);
  }
}

int made(Call call) noexcept { return gSlots[int(call)].made.load(); }
int fired(Call call) noexcept { return gSlots[int(call)].fired.load(); }

}  // namespace mif::sys::faults

namespace mif::sys {
using faults::Call;
using faults::fault;

int socket(int domain, int type, int protocol) noexcept {
  return fault(Call::Socket, domain) ? -1 : ::socket(domain, type, protocol);
}
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  return fault(Call::Bind) ? -1 : ::bind(fd, addr, len);
}
// Linux releases the descriptor even when close reports an error (EINTR, EIO): so does
// the fault.
int close(int fd) noexcept {
  if (!fault(Call::Close)) return ::close(fd);
  const int err = errno;
  ::close(fd);
  errno = err;
  return -1;
}
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  return fault(Call::Setsockopt, name) ? -1 : ::setsockopt(fd, level, name, value, len);
}
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
  return fault(Call::Getsockopt, name) ? -1 : ::getsockopt(fd, level, name, value, len);
}
ssize_t recv(int fd, void* buf, size_t len, int flags) noexcept {
  return fault(Call::Recv) ? -1 : ::recv(fd, buf, len, flags);
}
int fstat(int fd, struct stat* st) noexcept { return fault(Call::Fstat) ? -1 : ::fstat(fd, st); }
int fcntl(int fd, int cmd, int arg) noexcept {
  return fault(Call::Fcntl, cmd) ? -1 : ::fcntl(fd, cmd, arg);
}
long timerSlack() noexcept {
  return fault(Call::TimerSlack) ? -1 : ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
}
int setTimerSlack(unsigned long ns) noexcept {
  return fault(Call::SetTimerSlack) ? -1 : ::prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
}

namespace raw {
int socket(int domain, int type, int protocol) noexcept {
  return fault(Call::RawSocket, domain) ? -1 : int(::syscall(SYS_socket, domain, type, protocol));
}
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  return fault(Call::RawBind) ? -1 : int(::syscall(SYS_bind, fd, addr, len));
}
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  return fault(Call::RawConnect) ? -1 : int(::syscall(SYS_connect, fd, addr, len));
}
int close(int fd) noexcept {
  if (!fault(Call::RawClose)) return int(::syscall(SYS_close, fd));
  const int err = errno;
  ::syscall(SYS_close, fd);
  errno = err;
  return -1;
}
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  return fault(Call::RawSetsockopt, name) ? -1
                                          : int(::syscall(SYS_setsockopt, fd, level, name, value, len));
}
ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from,
                 socklen_t* fromLen) noexcept {
  return fault(Call::RawRecvfrom) ? -1 : ::syscall(SYS_recvfrom, fd, buf, len, flags, from, fromLen);
}
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return fault(Call::RawSendmsg) ? -1 : ::syscall(SYS_sendmsg, fd, msg, flags);
}
}  // namespace raw

}  // namespace mif::sys
