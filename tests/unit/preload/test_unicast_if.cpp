// Pinning a datagram socket once (preload/src/unicast_if.h), on real sockets of a private
// loopback-only use (no datagram is sent): the option is set only where it was 0, a
// program's own value is never changed, leave() gives the socket back, and no sender that
// was told "pinned" ever finds the option gone before it finished (the handshake between
// enter/sent and leave), with the two racing for many rounds.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "unicast_if.h"

namespace mif::preload {
namespace {

using policy::Family;

uint32_t optionOf(int fd, int level, int name) {
  uint32_t v = 0;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, level, name, &v, &len), 0);
  return ntohl(v);
}

struct Socket {
  explicit Socket(int family) : fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    ucif::forget(fd);
    ::close(fd);
  }
  int fd;
};

TEST(UnicastIf, PinsOnTheSecondDatagramAndGivesTheSocketBack) {
  Socket s(AF_INET);
  ASSERT_GE(s.fd, 0);
  // The first datagram sets the option and still goes per packet; the next one is pinned.
  EXPECT_FALSE(ucif::enter(s.fd, AF_INET, Family::V4, 1));
  EXPECT_EQ(optionOf(s.fd, IPPROTO_IP, IP_UNICAST_IF), 1u);
  EXPECT_TRUE(ucif::held(s.fd));
  ASSERT_TRUE(ucif::enter(s.fd, AF_INET, Family::V4, 1));
  ucif::sent(s.fd);
  // Another interface wanted: per packet (the control message overrides the option).
  EXPECT_FALSE(ucif::enter(s.fd, AF_INET, Family::V4, 2));
  ucif::leave(s.fd);
  EXPECT_EQ(optionOf(s.fd, IPPROTO_IP, IP_UNICAST_IF), 0u);
  EXPECT_FALSE(ucif::held(s.fd));
  // For good, until the number names another socket.
  EXPECT_FALSE(ucif::enter(s.fd, AF_INET, Family::V4, 1));
  EXPECT_EQ(optionOf(s.fd, IPPROTO_IP, IP_UNICAST_IF), 0u);
}

TEST(UnicastIf, IPv6SocketsUseTheIPv6OptionAndMappedDestinationsGoPerPacket) {
  Socket s(AF_INET6);
  ASSERT_GE(s.fd, 0);
  EXPECT_FALSE(ucif::enter(s.fd, AF_INET6, Family::V4, 1));  // ::ffff:a.b.c.d
  EXPECT_FALSE(ucif::held(s.fd));
  EXPECT_FALSE(ucif::enter(s.fd, AF_INET6, Family::V6, 1));
  EXPECT_EQ(optionOf(s.fd, IPPROTO_IPV6, IPV6_UNICAST_IF), 1u);
  ucif::leave(s.fd);
  EXPECT_EQ(optionOf(s.fd, IPPROTO_IPV6, IPV6_UNICAST_IF), 0u);
}

TEST(UnicastIf, AProgramsOwnValueIsNeverChanged) {
  Socket s(AF_INET);
  ASSERT_GE(s.fd, 0);
  const uint32_t own = htonl(1);
  ASSERT_EQ(::setsockopt(s.fd, IPPROTO_IP, IP_UNICAST_IF, &own, sizeof own), 0);
  EXPECT_FALSE(ucif::enter(s.fd, AF_INET, Family::V4, 7));
  EXPECT_FALSE(ucif::enter(s.fd, AF_INET, Family::V4, 7));
  EXPECT_FALSE(ucif::held(s.fd));
  ucif::leave(s.fd);
  EXPECT_EQ(optionOf(s.fd, IPPROTO_IP, IP_UNICAST_IF), 1u);
}

TEST(UnicastIf, NoPinnedSenderSeesTheOptionResetUnderIt) {
  // One thread sends "pinned" whenever enter() says so and checks, before sent(), that the
  // option is still there (what the kernel would route its datagram by); the other keeps
  // taking the socket back (leave) and starting over (forget, as for a new socket).
  Socket s(AF_INET);
  ASSERT_GE(s.fd, 0);
  std::atomic<bool> stop{false};
  std::atomic<long> pinned{0}, unpinnedUnder{0}, rounds{0};
  std::thread sender([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      if (!ucif::enter(s.fd, AF_INET, Family::V4, 1)) continue;
      ++pinned;
      if (optionOf(s.fd, IPPROTO_IP, IP_UNICAST_IF) != 1u) ++unpinnedUnder;
      ucif::sent(s.fd);
    }
  });
  long seen = pinned.load();
  for (int i = 0; i < 5000; ++i) {
    while (pinned.load() == seen) std::this_thread::yield();  // it is sending pinned now
    ucif::leave(s.fd);
    ucif::forget(s.fd);
    seen = pinned.load();
    ++rounds;
  }
  stop = true;
  sender.join();
  EXPECT_GT(pinned.load(), 0);
  EXPECT_EQ(unpinnedUnder.load(), 0) << "of " << pinned.load() << " pinned sends in "
                                     << rounds.load() << " rounds";
}

}  // namespace
}  // namespace mif::preload
