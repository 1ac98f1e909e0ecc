// RFC 8106 RDNSS/DNSSL options in a router advertisement reach the PvD of the interface
// that heard them (RTM_NEWNDUSEROPT), tagged as such.
#include <algorithm>
#include <chrono>
#include <thread>

#include "mif/view/live_view.h"
#include "netns.h"

namespace mif::view::test {
namespace {

// Sends one RA out of vb0 (to va0): router lifetime 1800, RDNSS 2001:db8:53::1 and
// DNSSL corp.example, both for LIFETIME seconds.
std::string sendRa(int lifetime) {
  return std::string("python3 -c '") + R"PY(
import socket, struct, sys
life = int(sys.argv[1])
idx = socket.if_nametoindex("vb0")
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"vb0")
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
rdnss = struct.pack("!BBHI", 25, 3, 0, life) + socket.inet_pton(socket.AF_INET6, "2001:db8:53::1")
name = b"".join(bytes([len(l)]) + l for l in (b"Corp", b"example")) + b"\0"
body = struct.pack("!HI", 0, life) + name
pad = (-(2 + len(body))) % 8
dnssl = bytes([31, (2 + len(body) + pad) // 8]) + body + b"\0" * pad
s.sendto(ra + rdnss + dnssl, ("ff02::1", 0, 0, idx))
)PY" + "' " +
         std::to_string(lifetime);
}

class RaTest : public NetnsTest {};

TEST_F(RaTest, RdnssAndDnsslReachThePvd) {
  // Link-local addresses usable at once, so the RA has a valid source and is accepted.
  must("sysctl -qw net.ipv6.conf.default.accept_dad=0");
  vethPair("va0", "vb0", "192.0.2.10/24");
  must("ip -6 addr add 2001:db8:1::10/64 dev va0 nodad");
  auto policy = compile("[pvd.lan]\ninterface = \"va0\"\n");
  LiveView view(*policy);
  const auto id = *policy->findPvd("lan");
  EXPECT_TRUE(view.current()->pvds[id].dns.empty() ||
              view.current()->pvds[id].dns[0].origin != DnsOrigin::RouterAdvertisement);
  must(sendRa(600));
  // The RA travels through the veth's receive path (softirq) before the kernel reports
  // its options: unlike a change made by `ip`, it is not queued when sendto returns.
  SnapshotRef s;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  do {
    s = view.current();
    if (!s->pvds[id].dns.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  const BoundPvd& lan = s->pvds[id];
  ASSERT_EQ(lan.dns.size(), 1u);
  EXPECT_EQ(lan.dns[0].addr.toString(), "2001:db8:53::1");
  EXPECT_EQ(lan.dns[0].origin, DnsOrigin::RouterAdvertisement);
  ASSERT_EQ(lan.domains.size(), 1u);
  EXPECT_EQ(lan.domains[0], "corp.example");
  EXPECT_EQ(lan.domainOrigins[0], DnsOrigin::RouterAdvertisement);

  must(sendRa(0));  // lifetime 0 withdraws them
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  do {
    s = view.current();
    if (s->pvds[id].dns.empty() || s->pvds[id].dns[0].origin != DnsOrigin::RouterAdvertisement)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_TRUE(s->pvds[id].dns.empty() ||
              s->pvds[id].dns[0].origin != DnsOrigin::RouterAdvertisement);
}

}  // namespace
}  // namespace mif::view::test
