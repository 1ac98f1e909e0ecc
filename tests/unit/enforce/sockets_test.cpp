// Address conversion and socket pinning (tools/enforce/sockets.h).
#include "enforce/sockets.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <unistd.h>

#include <cstring>

namespace mif::enforce {
namespace {

using policy::Family;
using policy::IpAddress;

TEST(Endpoint, ReadsIpv4) {
  sockaddr_storage ss;
  socklen_t len = toSockaddr(*IpAddress::parse("192.0.2.7"), 8080, AF_INET, &ss);
  ASSERT_EQ(len, sizeof(sockaddr_in));
  auto e = endpointOf(ss, len);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->address.toString(), "192.0.2.7");
  EXPECT_EQ(e->port, 8080);
  EXPECT_FALSE(e->mapped);
}

TEST(Endpoint, UnmapsV4MappedIpv6) {
  sockaddr_storage ss;
  socklen_t len = toSockaddr(*IpAddress::parse("198.51.100.1"), 53, AF_INET6, &ss);
  ASSERT_EQ(len, sizeof(sockaddr_in6));
  auto e = endpointOf(ss, len);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->address.family, Family::V4);
  EXPECT_EQ(e->address.toString(), "198.51.100.1");
  EXPECT_TRUE(e->mapped);
}

TEST(Endpoint, RejectsShortAndForeign) {
  sockaddr_storage ss;
  socklen_t len = toSockaddr(*IpAddress::parse("2001:db8::1"), 1, AF_INET6, &ss);
  EXPECT_FALSE(endpointOf(ss, len - 1));
  ss.ss_family = AF_UNIX;
  EXPECT_FALSE(endpointOf(ss, sizeof ss));
  EXPECT_EQ(toSockaddr(*IpAddress::parse("2001:db8::1"), 1, AF_INET, &ss), 0u);
}

TEST(Endpoint, LoopbackAndUnspecifiedStayOnHost) {
  EXPECT_TRUE(staysOnHost(*IpAddress::parse("127.0.0.53")));
  EXPECT_TRUE(staysOnHost(*IpAddress::parse("::1")));
  EXPECT_TRUE(staysOnHost(*IpAddress::parse("0.0.0.0")));
  EXPECT_TRUE(staysOnHost(*IpAddress::parse("::")));
  EXPECT_FALSE(staysOnHost(*IpAddress::parse("192.0.2.1")));
  EXPECT_FALSE(staysOnHost(*IpAddress::parse("2001:db8::1")));
}

TEST(SocketInfo, FamilyTypeAndDevice) {
  int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  SocketInfo info;
  ASSERT_TRUE(socketInfo(s, &info));
  EXPECT_EQ(info.family, AF_INET6);
  EXPECT_EQ(info.type, SOCK_DGRAM);
  EXPECT_EQ(info.boundIf, 0);
  close(s);
  EXPECT_FALSE(socketInfo(STDIN_FILENO, &info) && info.family == AF_INET);
}

TEST(PinSocket, BindsTheDeviceByNameAndKeepsAnotherBinding) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  view::BoundPvd lo;
  lo.ifname = "lo";
  lo.ifindex = static_cast<int>(if_nametoindex("lo"));
  SocketInfo info;
  ASSERT_TRUE(socketInfo(s, &info));
  ASSERT_EQ(pinSocket(s, info, lo, Family::V4, false), 0);
  ASSERT_TRUE(socketInfo(s, &info));
  EXPECT_EQ(info.boundIf, lo.ifindex);
  view::BoundPvd other = lo;
  other.ifindex = lo.ifindex + 1000;
  other.ifname = "nonexistent0";
  // Someone else's binding is not replaced unless asked to.
  EXPECT_EQ(pinSocket(s, info, other, Family::V4, false), EBUSY);
  EXPECT_EQ(unpinSocket(s), 0);
  ASSERT_TRUE(socketInfo(s, &info));
  EXPECT_EQ(info.boundIf, 0);
  close(s);
}

TEST(PinSocket, BindsTheSourceWithoutAPort) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  view::BoundPvd lo;
  lo.ifname = "lo";
  lo.ifindex = static_cast<int>(if_nametoindex("lo"));
  lo.hasSource4 = true;
  lo.source4 = *IpAddress::parse("127.0.0.1");
  SocketInfo info;
  ASSERT_TRUE(socketInfo(s, &info));
  ASSERT_EQ(pinSocket(s, info, lo, Family::V4, false), 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&ss), &len), 0);
  auto e = endpointOf(ss, len);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->address.toString(), "127.0.0.1");
  EXPECT_EQ(e->port, 0) << "IP_BIND_ADDRESS_NO_PORT: the port is chosen at connect";
  close(s);
}

// The pin of a PvD with a source reads the socket's local address: the port it saw is what
// a held connect checks for a port the program bound (held_connect.cpp), with no second
// getsockname. A pin that read nothing leaves it alone.
TEST(PinSocket, SaysTheLocalPortItRead) {
  view::BoundPvd lo;
  lo.ifname = "lo";
  lo.ifindex = static_cast<int>(if_nametoindex("lo"));
  lo.hasSource4 = true;
  lo.source4 = *IpAddress::parse("127.0.0.1");
  SocketInfo info;
  int fresh = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fresh, 0);
  ASSERT_TRUE(socketInfo(fresh, &info));
  int port = -1;
  ASSERT_EQ(pinSocket(fresh, info, lo, Family::V4, false, &port), 0);
  EXPECT_EQ(port, 0);
  close(fresh);

  int bound = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(bound, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  ASSERT_EQ(bind(bound, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);  // a port of its own
  socklen_t al = sizeof any;
  ASSERT_EQ(getsockname(bound, reinterpret_cast<sockaddr*>(&any), &al), 0);
  ASSERT_TRUE(socketInfo(bound, &info));
  port = -1;
  ASSERT_EQ(pinSocket(bound, info, lo, Family::V4, false, &port), 0);
  EXPECT_EQ(port, ntohs(any.sin_port));
  close(bound);

  lo.hasSource4 = false;  // no source to bind: the pin reads nothing
  int plain = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(plain, 0);
  ASSERT_TRUE(socketInfo(plain, &info));
  port = -1;
  ASSERT_EQ(pinSocket(plain, info, lo, Family::V4, false, &port), 0);
  EXPECT_EQ(port, -1);
  close(plain);
}

}  // namespace
}  // namespace mif::enforce
