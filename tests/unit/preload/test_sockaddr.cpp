#include "sockaddr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/un.h>

namespace mif::preload {
namespace {

TEST(Sockaddr, Ipv4) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(443);
  inet_pton(AF_INET, "192.0.2.7", &in.sin_addr);
  Endpoint e;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in), sizeof in, &e));
  EXPECT_EQ(e.addr, policy::IpAddress::v4(192, 0, 2, 7));
  EXPECT_EQ(e.port, 443);
  EXPECT_EQ(e.socketFamily, AF_INET);
  EXPECT_FALSE(e.loopback());
  EXPECT_FALSE(e.wildcard());
}

TEST(Sockaddr, V4MappedIsDecidedAsIpv4) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(53);
  inet_pton(AF_INET6, "::ffff:198.51.100.1", &in6.sin6_addr);
  Endpoint e;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6, &e));
  EXPECT_EQ(e.addr, policy::IpAddress::v4(198, 51, 100, 1));
  EXPECT_EQ(e.socketFamily, AF_INET6);
  sockaddr_storage back;
  socklen_t len = toSockaddr(e.addr, 0, e.socketFamily, &back);
  ASSERT_EQ(len, sizeof(sockaddr_in6));
  char text[64];
  inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&back)->sin6_addr, text, sizeof text);
  EXPECT_STREQ(text, "::ffff:198.51.100.1");
}

TEST(Sockaddr, RejectsWhatLibcShouldJudge) {
  Endpoint e;
  EXPECT_FALSE(fromSockaddr(nullptr, 16, &e));
  sockaddr_in in{};
  in.sin_family = AF_INET;
  EXPECT_FALSE(fromSockaddr(reinterpret_cast<sockaddr*>(&in), 1, &e));
  EXPECT_FALSE(fromSockaddr(reinterpret_cast<sockaddr*>(&in), sizeof in - 1, &e));
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_FALSE(fromSockaddr(reinterpret_cast<sockaddr*>(&un), sizeof un, &e));
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  EXPECT_FALSE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6 - 4, &e));
}

TEST(Sockaddr, LoopbackWildcardAndScope) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_addr = in6addr_loopback;
  Endpoint e;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6, &e));
  EXPECT_TRUE(e.loopback());
  in6.sin6_addr = in6addr_any;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6, &e));
  EXPECT_TRUE(e.wildcard());
  inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
  in6.sin6_scope_id = 3;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6, &e));
  EXPECT_EQ(e.scopeId, 3u);
  char buf[64];
  EXPECT_STREQ(formatAddress(e.addr, buf, sizeof buf), "fe80::1");
}

}  // namespace
}  // namespace mif::preload
