// The io_uring closure of `mif run --strict` without --enforce (tools/enforce/filter.h
// installIoUringClosure), on the real kernel: a forked child installs it and reports by
// its exit status what io_uring_setup and the socket calls did.
#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "enforce/filter.h"

namespace mif::enforce {
namespace {

// Runs body in a forked child; its return value is the exit status (128+N on signal N).
int inChild(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// 0 when io_uring_setup succeeds, else its errno.
int ioUringSetupErrno() {
  io_uring_params params{};
  long fd = syscall(SYS_io_uring_setup, 8, &params);
  if (fd >= 0) {
    close(static_cast<int>(fd));
    return 0;
  }
  return errno;
}

// A UDP socket connected to loopback and one datagram sent on it: what a program falls
// back to must still work. 0 or a code saying which call failed.
int plainCallsWork() {
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (u < 0) return 40;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(u, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return 41;
  if (send(u, "x", 1, 0) != 1) return 42;
  close(u);
  int t = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (t < 0) return 43;
  close(t);
  return 0;
}

bool dropCapSysAdmin() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
  return syscall(SYS_capset, &header, data) == 0;
}

TEST(IoUringClosure, WithoutItIoUringSetupWorksHere) {
  // The contrast the other tests rely on; a kernel built without io_uring, or with
  // kernel.io_uring_disabled set, already closes it for everyone.
  int err = inChild([] { return ioUringSetupErrno(); });
  if (err == ENOSYS || err == EPERM) GTEST_SKIP() << "io_uring unavailable here: " << std::strerror(err);
  EXPECT_EQ(err, 0) << std::strerror(err);
}

TEST(IoUringClosure, IoUringSetupFailsWithEnosysAndPlainCallsStillWork) {
  int status = inChild([] {
    bool nnp = true;
    if (installIoUringClosure(&nnp) != 0) return 10;
    if (int err = ioUringSetupErrno(); err != ENOSYS) return 11;
    return plainCallsWork();
  });
  EXPECT_EQ(status, 0);
}

TEST(IoUringClosure, InheritedByForkedChildren) {
  int status = inChild([] {
    if (installIoUringClosure() != 0) return 10;
    return inChild([] { return ioUringSetupErrno() == ENOSYS ? 0 : 11; });
  });
  EXPECT_EQ(status, 0);
}

TEST(IoUringClosure, WithCapSysAdminNoNewPrivsStaysUnset) {
  if (!hasCapSysAdmin()) GTEST_SKIP() << "needs CAP_SYS_ADMIN (root)";
  int status = inChild([] {
    bool nnp = true;
    if (installIoUringClosure(&nnp) != 0) return 10;
    if (nnp) return 12;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) return 13;
    return ioUringSetupErrno() == ENOSYS ? 0 : 11;
  });
  EXPECT_EQ(status, 0) << "12/13: no_new_privs was set although the caller is privileged";
}

TEST(IoUringClosure, WithoutCapSysAdminNoNewPrivsIsSet) {
  int status = inChild([] {
    if (hasCapSysAdmin() && !dropCapSysAdmin()) return 20;
    if (hasCapSysAdmin()) return 21;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) return 22;  // the test's own state
    bool nnp = false;
    if (int rc = installIoUringClosure(&nnp); rc != 0) return 10;
    if (!nnp) return 12;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 13;
    if (ioUringSetupErrno() != ENOSYS) return 11;
    return plainCallsWork();
  });
  if (status == 22) GTEST_SKIP() << "the test runs with no_new_privs already set";
  EXPECT_EQ(status, 0);
}

TEST(IoUringClosure, FailureIsReported) {
  // A filter already in place that refuses seccomp(2) itself, and prctl(PR_SET_SECCOMP)
  // which libseccomp may fall back to: the closure cannot be installed and says so
  // (`mif run` then stops with status 125 instead of running the program unprotected).
  int status = inChild([] {
    sock_filter insns[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_prctl, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof insns / sizeof insns[0]), insns};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 30;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return 31;
    return installIoUringClosure() < 0 ? 0 : 32;
  });
  EXPECT_EQ(status, 0) << "32: installed although seccomp(2) was refused";
}

}  // namespace
}  // namespace mif::enforce
