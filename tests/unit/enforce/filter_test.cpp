// Which calls the filter sends to the supervisor (tools/enforce/filter.h), on the real
// kernel: a forked child makes calls, the parent records what it is asked about.
#include "enforce/filter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <vector>

#include "supervised.h"

namespace mif::enforce {
namespace {

using testing::SupervisedChild;

// Answers every notification with CONTINUE until the child exits; returns the system
// call numbers seen, in order, and the child's status.
std::vector<int> superviseAll(SupervisedChild& c, int* status) {
  std::vector<int> seen;
  for (;;) {
    pollfd p{c.listener, POLLIN, 0};
    int n = poll(&p, 1, 100);
    if (n > 0 && (p.revents & POLLIN)) {
      seccomp_notif req{};
      if (ioctl(c.listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) continue;
      seen.push_back(req.data.nr);
      seccomp_notif_resp resp{};
      resp.id = req.id;
      resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      ioctl(c.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
      continue;
    }
    if (p.revents & POLLHUP) break;
  }
  *status = c.wait();
  return seen;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// The calls every filter must leave alone or answer itself.
int commonCalls() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) return 10;
  if (send(sv[0], "x", 1, 0) != 1) return 11;  // sendto(NULL): never supervised
  io_uring_params params{};
  if (syscall(SYS_io_uring_setup, 1, &params) != -1 || errno != ENOSYS) return 12;
  return 0;
}

TEST(Filter, PerCallSendsAddressedCallsOnly) {
  auto c = SupervisedChild::start(FilterMode::PerCall, [] {
    if (int rc = commonCalls()) return rc;
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to = loopback(9);
    if (connect(u, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return 20;
    if (send(u, "x", 1, 0) != 1) return 21;  // connected: stays in the kernel
    int v = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sendto(v, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != 1) return 22;
    msghdr m{};
    iovec iov{const_cast<char*>("x"), 1};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    // Port 9 is closed: ECONNREFUSED from the earlier datagram is a fine answer too.
    if (sendmsg(u, &m, 0) != 1 && errno != ECONNREFUSED) return 23;
    return 0;
  });
  ASSERT_GE(c.listener, 0);
  int status = -1;
  auto seen = superviseAll(c, &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(seen, (std::vector<int>{SYS_connect, SYS_sendto, SYS_sendmsg}));
}

TEST(Filter, PinAtCreationSendsInetSocketsConnectAndBind) {
  auto c = SupervisedChild::start(FilterMode::PinAtCreation, [] {
    if (int rc = commonCalls()) return rc;
    int unix = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);  // not supervised
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int w = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (unix < 0 || u < 0 || w < 0) return 30;
    sockaddr_in any = loopback(0);
    if (bind(u, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) return 31;
    sockaddr_in to = loopback(9);
    for (int i = 0; i < 10; ++i) {  // datagrams stay in the kernel
      if (sendto(u, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != 1) return 32;
    }
    return 0;
  });
  ASSERT_GE(c.listener, 0);
  int status = -1;
  auto seen = superviseAll(c, &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(seen, (std::vector<int>{SYS_socket, SYS_socket, SYS_bind}));
}

TEST(Filter, InheritedByForkedChildren) {
  auto c = SupervisedChild::start(FilterMode::PerCall, [] {
    pid_t p = fork();
    if (p == 0) {
      int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in to = loopback(9);
      _exit(connect(u, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 ? 0 : 1);
    }
    int st = 0;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
  });
  ASSERT_GE(c.listener, 0);
  int status = -1;
  auto seen = superviseAll(c, &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(seen, (std::vector<int>{SYS_connect}));
}

TEST(Filter, SyncWakeUpIsAvailableOrHarmless) {
  auto c = SupervisedChild::start(FilterMode::PerCall, [] { return 0; });
  ASSERT_GE(c.listener, 0);
  setSyncWakeUp(c.listener);  // either way the listener keeps working
  int status = -1;
  auto seen = superviseAll(c, &status);
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace mif::enforce
