#include "enforce/filter.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

namespace mif::enforce {

namespace {

// Not in Debian 12's headers (Linux 6.6 added them).
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
// Linux 5.19; libseccomp 2.5.4 has no attribute for it.
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

// Frees the libseccomp context on every path.
class Context {
 public:
  Context() : ctx_(seccomp_init(SCMP_ACT_ALLOW)) {}
  ~Context() {
    if (ctx_) seccomp_release(ctx_);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  scmp_filter_ctx get() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

int addRules(scmp_filter_ctx ctx, FilterMode mode) {
  int rc = 0;
  auto add = [&](uint32_t action, int nr, unsigned count, const scmp_arg_cmp* cmp) {
    if (rc == 0) rc = seccomp_rule_add_array(ctx, action, nr, count, cmp);
  };
  add(SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0, nullptr);
  // bind and connect are rare next to data transfer; supervising them all costs little
  // and the filter cannot see the socket's family anyway.
  add(SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0, nullptr);
  add(SCMP_ACT_NOTIFY, SCMP_SYS(bind), 0, nullptr);
  if (mode == FilterMode::PerCall) {
    // send()/sendto() with no address go to a connected socket, decided at connect: they
    // stay in the kernel, which is what keeps TCP and connected UDP free.
    scmp_arg_cmp hasAddress = SCMP_A4(SCMP_CMP_NE, 0);
    add(SCMP_ACT_NOTIFY, SCMP_SYS(sendto), 1, &hasAddress);
    // The filter cannot look into struct msghdr: every sendmsg/sendmmsg is sent; the
    // supervisor continues those without a name at once.
    add(SCMP_ACT_NOTIFY, SCMP_SYS(sendmsg), 0, nullptr);
    add(SCMP_ACT_NOTIFY, SCMP_SYS(sendmmsg), 0, nullptr);
  } else {
    scmp_arg_cmp inet = SCMP_A0(SCMP_CMP_EQ, AF_INET);
    scmp_arg_cmp inet6 = SCMP_A0(SCMP_CMP_EQ, AF_INET6);
    add(SCMP_ACT_NOTIFY, SCMP_SYS(socket), 1, &inet);
    add(SCMP_ACT_NOTIFY, SCMP_SYS(socket), 1, &inet6);
  }
  return rc;
}

}  // namespace

const char* filterModeName(FilterMode mode) {
  return mode == FilterMode::PerCall ? "per-call" : "pin-at-creation";
}

int installFilter(FilterMode mode, bool* killableWait) {
  if (killableWait) *killableWait = false;
  Context ctx;
  if (!ctx.get()) return -ENOMEM;
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  // SECCOMP_FILTER_FLAG_SPEC_ALLOW: on kernels booted with spec_store_bypass_disable=seccomp
  // a filter would otherwise turn on the store-bypass mitigation and slow the whole
  // program down. This filter routes traffic; it does not confine the program against
  // itself, so that mitigation buys nothing here.
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_SSB, 1);
  if (rc == 0) rc = addRules(ctx.get(), mode);
  if (rc != 0) return rc;
  // libseccomp would set it too (SCMP_FLTATR_CTL_NNP); done here so that failing is
  // reported as what it is.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  // Loaded by hand from libseccomp's BPF, for a flag libseccomp 2.5.4 cannot set:
  // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV. Without it, a signal that reaches a thread
  // while the supervisor is deciding its connect or sendto (Go preempts goroutines with
  // SIGURG every 10 ms) ends the wait: the call is restarted after the supervisor may
  // have acted on it, or fails with EINTR where the kernel alone never would. With it, a
  // call the supervisor has received waits for the answer and only a fatal signal ends it.
  int bpf = static_cast<int>(syscall(SYS_memfd_create, "mif-seccomp-bpf", 1U /* MFD_CLOEXEC */));
  if (bpf < 0) return -errno;
  rc = seccomp_export_bpf(ctx.get(), bpf);
  const off_t size = rc == 0 ? lseek(bpf, 0, SEEK_END) : -1;
  std::vector<sock_filter> code;
  if (rc == 0 && size > 0 && size % sizeof(sock_filter) == 0) {
    code.resize(static_cast<size_t>(size) / sizeof(sock_filter));
    if (pread(bpf, code.data(), static_cast<size_t>(size), 0) != size) rc = -EIO;
  } else if (rc == 0) {
    rc = -EIO;
  }
  close(bpf);
  if (rc != 0) return rc;
  sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
  const unsigned long base = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                    base | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
  // Kernels before 5.19 refuse the flag (EINVAL): the filter goes in without it, and a
  // signal during a decision behaves as described above (docs/architecture.md).
  if (fd >= 0 && killableWait) *killableWait = true;
  if (fd < 0 && errno == EINVAL) fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, base, &prog);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

bool hasCapSysAdmin() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32))) != 0;
}

int installIoUringClosure(bool* noNewPrivs) {
  if (noNewPrivs) *noNewPrivs = false;
  Context ctx;
  if (!ctx.get()) return -ENOMEM;
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_SSB, 1);  // as installFilter
  // The kernel's own error from seccomp_load instead of libseccomp's -ECANCELED.
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_API_SYSRAWRC, 1);
  // no_new_privs only where the kernel requires it; set here, not by libseccomp, so that
  // failing is reported as what it is.
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  if (rc == 0) rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0);
  if (rc != 0) return rc;
  if (!hasCapSysAdmin() && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
    if (noNewPrivs) *noNewPrivs = true;
  }
  return seccomp_load(ctx.get());
}

bool setSyncWakeUp(int listener) {
  uint64_t flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) == 0;
}

}  // namespace mif::enforce
