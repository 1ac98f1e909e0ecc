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
// *killableWait (if given): whether SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV was accepted
// (Linux 5.19+), so that a call the supervisor holds is ended by fatal signals only.
int installFilter(FilterMode mode, bool* killableWait = nullptr);

// `mif run` without --enforce when anything can be strict (a --strict pin, a strict
// [default] or rule): io_uring submits connect, sendmsg and socket in the kernel, past
// every libc call the preload sees, so a strict program must not have it. Installs on
// the calling thread (and so on everything it execs and forks) a filter that answers
// io_uring_setup with ENOSYS, what a kernel without io_uring says, and allows every other
// call: programs fall back to the plain calls. No listener, no supervisor. Calls of other
// architectures kill the process, as under installFilter (an x32 or int 0x80 io_uring_setup
// would pass a filter that only knows the native number).
//
// The kernel takes a filter without no_new_privs only from a caller with CAP_SYS_ADMIN in
// its user namespace. With it (root), no_new_privs is left alone, so set-user-ID programs
// started below keep working; without it, no_new_privs is set, and exec ignores set-id
// bits and file capabilities for everything started below. *noNewPrivs (if given) says
// whether it was set here. Returns 0 or -errno.
int installIoUringClosure(bool* noNewPrivs = nullptr);

// Whether the calling thread has CAP_SYS_ADMIN in its effective set (in its own user
// namespace): what the kernel asks of a filter installed without no_new_privs.
bool hasCapSysAdmin();

// SECCOMP_IOCTL_NOTIF_SET_FLAGS / SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6): the
// supervisor and the program hand the CPU to each other directly instead of through the
// scheduler's wake-up path. Returns false where the kernel does not have it (harmless).
bool setSyncWakeUp(int listener);

}  // namespace mif::enforce
