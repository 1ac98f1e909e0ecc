// Which refusals say the path is broken (preload/src/path_error.h): a server's RST never
// does. (An ICMP error on the way needs a router: tests/e2e/e2e_socket_failover_refused.cpp.)
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "path_error.h"

namespace mif::preload {
namespace {

// A loopback port nothing listens on (bound, then closed).
sockaddr_in closedPort() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  socklen_t len = sizeof a;
  EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  close(s);
  return a;
}

TEST(PathError, ErrnosAloneSayTheRest) {
  EXPECT_TRUE(pathBrokenOn(-1, ENETUNREACH));
  EXPECT_TRUE(pathBrokenOn(-1, EHOSTUNREACH));
  EXPECT_TRUE(pathBrokenOn(-1, ETIMEDOUT));
  EXPECT_FALSE(pathBrokenOn(-1, EADDRNOTAVAIL));
  EXPECT_FALSE(pathBrokenOn(-1, ECONNREFUSED));  // no socket to ask: not on the way
  EXPECT_TRUE(icmpMayGive(ECONNREFUSED));
  EXPECT_TRUE(icmpMayGive(EACCES));
  EXPECT_FALSE(icmpMayGive(ECONNRESET));
}

TEST(PathError, TheServersRstIsNotOnTheWayBlocking) {
  const sockaddr_in a = closedPort();
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_NE(connect(s, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(errno, ECONNREFUSED);
  EXPECT_FALSE(refusedOnTheWay(s, ECONNREFUSED));
  close(s);
}

TEST(PathError, TheServersRstIsNotOnTheWayNonBlocking) {
  const sockaddr_in a = closedPort();
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int r = connect(s, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  int err = r == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    pollfd p{s, POLLOUT, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    socklen_t len = sizeof err;
    ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  }
  ASSERT_EQ(err, ECONNREFUSED);
  EXPECT_FALSE(refusedOnTheWay(s, ECONNREFUSED));
  close(s);
}

TEST(PathError, NotATcpSocketSaysNothing) {
  const int u = socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_FALSE(refusedOnTheWay(u, ECONNREFUSED));
  close(u);
  EXPECT_FALSE(refusedOnTheWay(-1, ECONNREFUSED));
}

// IPV6_RECVERR is set for the call only when the program had not set it, and cleared after.
TEST(PathError, RecvErrIsArmedOnlyWhenTheProgramHadNotSetIt) {
  const int s = socket(AF_INET6, SOCK_STREAM, 0);
  if (s < 0) GTEST_SKIP() << "no IPv6";
  auto on = [&] {
    int v = -1;
    socklen_t len = sizeof v;
    EXPECT_EQ(getsockopt(s, SOL_IPV6, IPV6_RECVERR, &v, &len), 0);
    return v;
  };
  EXPECT_FALSE(armRecvErr(s, AF_INET));
  EXPECT_EQ(on(), 0);
  ASSERT_TRUE(armRecvErr(s, AF_INET6));
  EXPECT_EQ(on(), 1);
  disarmRecvErr(s);
  EXPECT_EQ(on(), 0);
  const int one = 1;
  ASSERT_EQ(setsockopt(s, SOL_IPV6, IPV6_RECVERR, &one, sizeof one), 0);  // the program's
  EXPECT_FALSE(armRecvErr(s, AF_INET6));
  EXPECT_EQ(on(), 1);
  close(s);
}

}  // namespace
}  // namespace mif::preload
