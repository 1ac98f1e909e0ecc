#pragma once
// The seccomp filter installed in the supervised child just before exec.
#include <cstdint>

namespace mif::enforce {

enum class FilterMode : uint8_t {
  // Every call that can name a destination is sent to the supervisor: connect, bind,
  // sendto with an address, sendmsg, sendmmsg. Used for every policy.
  PerCall,
  // A strict pin to one PvD: AF_INET/AF_INET6 socket() is sent to the supervisor, which
  // answers with a socket already bound to the PvD's interface (SECCOMP_IOCTL_NOTIF_ADDFD),
  // so datagrams need no supervision; connect and bind are still sent (loopback, DNS
  // redirection, a view that changed). sendto/sendmsg/sendmmsg run in the kernel.
  PinAtCreation,
};

const char* filterModeName(FilterMode);

// Installs the filter on the calling thread (and so on everything it execs and forks):
// sets no_new_privs, loads the filter with a user-notification listener and returns the
// listener descriptor, or -errno. io_uring_setup is answered with ENOSYS because
// io_uring submits connect/sendmsg without those system calls; programs fall back to the
// calls the filter sees. Calls of other architectures (int 0x80, x32) kill the process:
// the supervisor only understands the native layouts, and letting them run would leak.
int installFilter(FilterMode mode);

// SECCOMP_IOCTL_NOTIF_SET_FLAGS / SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6): the
// supervisor and the program hand the CPU to each other directly instead of through the
// scheduler's wake-up path. Returns false where the kernel does not have it (harmless).
bool setSyncWakeUp(int listener);

}  // namespace mif::enforce
