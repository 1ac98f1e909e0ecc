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

// Polls the view until `done` holds for its snapshot (an RA reaches the kernel through the
// veth's receive path, not when sendto returns), for at most 3 s.
template <class F>
SnapshotRef waitFor(LiveView& view, F done) {
  SnapshotRef s;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  do {
    s = view.current();
    if (done(*s)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return s;
}

std::string ra(const std::string& args) { return std::string(MIF_SEND_RA) + " vb0 " + args; }

TEST_F(RaTest, AnRdnssLifetimeEndsWithoutAnyNetlinkEvent) {
  must("sysctl -qw net.ipv6.conf.default.accept_dad=0");
  vethPair("va0", "vb0", "192.0.2.10/24");
  must("ip -6 addr add 2001:db8:1::10/64 dev va0 nodad");
  auto policy = compile("[pvd.lan]\ninterface = \"va0\"\n");
  LiveView view(*policy);
  const auto id = *policy->findPvd("lan");
  must(ra("rdnss=1,2001:db8:53::1"));
  auto s = waitFor(view, [&](const Snapshot& x) { return !x.pvds[id].dns.empty(); });
  ASSERT_FALSE(s->pvds[id].dns.empty());
  EXPECT_EQ(s->pvds[id].dns[0].origin, DnsOrigin::RouterAdvertisement);
  s.release();
  // Nothing changes on the link any more: the kernel reports nothing, and the view still
  // drops the server once its second is over. (What the PvD has then comes from
  // resolv.conf: it holds the default route the advertisement made.)
  auto fromRa = [&](const Snapshot& x) {
    return std::any_of(x.pvds[id].dns.begin(), x.pvds[id].dns.end(), [](const DnsServer& d) {
      return d.origin == DnsOrigin::RouterAdvertisement;
    });
  };
  s = waitFor(view, [&](const Snapshot& x) { return !fromRa(x); });
  EXPECT_FALSE(fromRa(*s));
}

TEST_F(RaTest, Pref64AndCaptivePortalReachThePvdAndLeaveWithTheRouter) {
  must("sysctl -qw net.ipv6.conf.default.accept_dad=0");
  vethPair("va0", "vb0", "");
  must("ip -6 addr add 2001:db8:1::10/64 dev va0 nodad");
  auto policy = compile("[pvd.lan]\ninterface = \"va0\"\n");
  LiveView view(*policy);
  const auto id = *policy->findPvd("lan");
  must(ra("pref64=600,2001:db8:64::/96 captive=https://portal.example/api"));
  auto s = waitFor(view, [&](const Snapshot& x) {
    return !x.pvds[id].pref64.empty() && !x.pvds[id].captive.empty();
  });
  const BoundPvd& lan = s->pvds[id];
  ASSERT_EQ(lan.pref64.size(), 1u);
  EXPECT_EQ(lan.pref64[0].prefix.toString(), "2001:db8:64::/96");
  EXPECT_EQ(lan.pref64[0].router.family, Family::V6);
  auto left = lan.pref64[0].expires - std::chrono::steady_clock::now();
  EXPECT_GT(left, std::chrono::seconds(590));
  EXPECT_LE(left, std::chrono::seconds(600));
  ASSERT_EQ(lan.captive.size(), 1u);
  EXPECT_EQ(lan.captive[0].uri, "https://portal.example/api");
  EXPECT_TRUE(lan.state.v6);
  EXPECT_FALSE(lan.routerLeft);
  s.release();
  // Router lifetime 0: the router leaves. Its options (still with their own lifetime in
  // this advertisement) go with it, and with no IPv6 route left the PvD is not usable
  // for IPv6: a program pinned to it stops sending.
  must(ra("--router-lifetime 0 pref64=600,2001:db8:64::/96 captive=https://portal.example/api"));
  s = waitFor(view, [&](const Snapshot& x) { return x.pvds[id].routerLeft; });
  EXPECT_TRUE(s->pvds[id].routerLeft);
  EXPECT_TRUE(s->pvds[id].pref64.empty());
  EXPECT_TRUE(s->pvds[id].captive.empty());
  EXPECT_FALSE(s->pvds[id].state.v6);
  s.release();
  // It comes back.
  must(ra("pref64=600,2001:db8:64::/96"));
  s = waitFor(view, [&](const Snapshot& x) { return !x.pvds[id].pref64.empty(); });
  EXPECT_EQ(s->pvds[id].pref64.size(), 1u);
  EXPECT_FALSE(s->pvds[id].routerLeft);
  EXPECT_TRUE(s->pvds[id].state.v6);
}

}  // namespace
}  // namespace mif::view::test
