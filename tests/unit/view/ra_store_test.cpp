// RaStore: what one router advertisement option, as the kernel hands it over
// (RTM_NEWNDUSEROPT with the router in NDUSEROPT_SRCADDR), leaves in the view, and how
// long: PREF64 (RFC 8781), captive portal (RFC 8910), lifetimes and routers that leave.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>

#include <cstring>
#include <string>
#include <vector>

#include "ra_source.h"
#include "ra_test_util.h"

namespace mif::view::detail {
namespace {

using namespace std::chrono_literals;
using Clock = RaStore::Clock;


// One RTM_NEWNDUSEROPT as the kernel builds it (ndisc_ra_useropt): the header, the
// option, then NDUSEROPT_SRCADDR.
std::vector<uint8_t> message(int ifindex, const std::vector<uint8_t>& opt,
                             const char* router = "fe80::1") {
  size_t base = NLMSG_ALIGN(sizeof(nduseroptmsg) + opt.size());
  std::vector<uint8_t> buf(NLMSG_LENGTH(base + RTA_LENGTH(16)), 0);
  auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
  h->nlmsg_type = RTM_NEWNDUSEROPT;
  h->nlmsg_len = static_cast<uint32_t>(buf.size());
  auto* m = static_cast<nduseroptmsg*>(NLMSG_DATA(h));
  m->nduseropt_family = AF_INET6;
  m->nduseropt_opts_len = static_cast<uint16_t>(opt.size());
  m->nduseropt_ifindex = ifindex;
  m->nduseropt_icmp_type = ND_ROUTER_ADVERT;
  std::memcpy(m + 1, opt.data(), opt.size());
  auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<uint8_t*>(m) + base);
  a->rta_type = NDUSEROPT_SRCADDR;
  a->rta_len = RTA_LENGTH(16);
  inet_pton(AF_INET6, router, RTA_DATA(a));
  return buf;
}

std::vector<uint8_t> pref64(unsigned lifetime, unsigned plc, const char* prefix,
                            uint8_t length = 2) {
  std::vector<uint8_t> o(16, 0);
  o[0] = 38;
  o[1] = length;
  unsigned word = (lifetime / 8) << 3 | plc;
  o[2] = static_cast<uint8_t>(word >> 8);
  o[3] = static_cast<uint8_t>(word);
  uint8_t a[16];
  inet_pton(AF_INET6, prefix, a);
  std::memcpy(&o[4], a, 12);
  o.resize(length * 8u, 0);
  return o;
}

std::vector<uint8_t> captive(const std::string& uri) {
  std::vector<uint8_t> o((2 + uri.size() + 7) / 8 * 8, 0);
  o[0] = 37;
  o[1] = static_cast<uint8_t>(o.size() / 8);
  for (size_t k = 0; k < uri.size(); ++k) o[2 + k] = static_cast<uint8_t>(uri[k]);
  return o;
}

std::vector<uint8_t> rdnss(uint32_t lifetime, const char* addr) {
  std::vector<uint8_t> o(24, 0);
  o[0] = 25;
  o[1] = 3;
  uint32_t l = htonl(lifetime);
  std::memcpy(&o[4], &l, 4);
  inet_pton(AF_INET6, addr, &o[8]);
  return o;
}

void record(RaStore& s, int ifindex, const std::vector<uint8_t>& opt, Clock::time_point now,
            const char* router = "fe80::1") {
  auto m = message(ifindex, opt, router);
  s.record(reinterpret_cast<const nlmsghdr*>(m.data()), now);
}

using ratest::defaultVia;
using ratest::factsOf;

TEST(RaStore, Pref64IsThePvdsNat64PrefixWithItsRouterAndLifetime) {
  RaStore s;
  auto t = Clock::now();
  record(s, 3, pref64(600, 0, "64:ff9b::"), t);                   // /96
  record(s, 3, pref64(1800, 3, "2001:db8:64:ffff::", 2), t, "fe80::2");  // /48
  record(s, 4, pref64(600, 1, "2001:db8:46::"), t);               // another interface
  auto b = factsOf(s, 3, t);
  ASSERT_EQ(b.pref64.size(), 2u);
  EXPECT_EQ(b.pref64[0].prefix.toString(), "64:ff9b::/96");
  EXPECT_EQ(b.pref64[0].router.toString(), "fe80::1");
  EXPECT_EQ(b.pref64[0].expires, t + 600s);
  // Bits past the announced length are not part of the prefix.
  EXPECT_EQ(b.pref64[1].prefix.toString(), "2001:db8:64::/48");
  EXPECT_EQ(b.pref64[1].router.toString(), "fe80::2");
  EXPECT_EQ(s.nextExpiry(t), t + 600s);
  // Past its lifetime it is gone, without anything heard.
  EXPECT_EQ(factsOf(s, 3, t + 601s).pref64.size(), 1u);
  EXPECT_EQ(s.nextExpiry(t + 601s), t + 600s + 1200s);
  // The same router repeats it: the lifetime restarts, nothing is added.
  record(s, 3, pref64(1800, 3, "2001:db8:64::"), t + 700s, "fe80::2");
  EXPECT_EQ(factsOf(s, 3, t + 700s).pref64.size(), 1u);
  EXPECT_EQ(s.nextExpiry(t + 700s), t + 700s + 1800s);
  // Lifetime 0 withdraws it at once.
  record(s, 3, pref64(0, 3, "2001:db8:64::"), t + 800s, "fe80::2");
  EXPECT_TRUE(factsOf(s, 3, t + 800s).pref64.empty());
}

TEST(RaStore, MalformedOptionsChangeNothing) {
  RaStore s;
  auto t = Clock::now();
  record(s, 3, pref64(600, 0, "64:ff9b::", 3), t);  // length must be exactly 2
  record(s, 3, pref64(600, 6, "64:ff9b::"), t);     // prefix length codes 6, 7: invalid
  record(s, 3, pref64(600, 7, "64:ff9b::"), t);
  auto truncated = pref64(600, 0, "64:ff9b::");
  truncated.resize(12);  // shorter than its length says
  record(s, 3, truncated, t);
  auto junk = captive("http://portal.example/a");  // padded to 32 octets
  junk.back() = 'x';  // text after the padding
  record(s, 3, junk, t);
  record(s, 3, captive("http://a b/"), t);  // a space: not a URI
  record(s, 3, std::vector<uint8_t>{37, 1, 0, 0, 0, 0, 0, 0}, t);  // empty URI
  record(s, 3, std::vector<uint8_t>{38, 0, 0, 0, 0, 0, 0, 0}, t);  // length 0
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.nextExpiry(t), Clock::time_point::max());
}

TEST(RaStore, CaptivePortalHoldsWhileItsRouterIsADefaultRouter) {
  RaStore s;
  auto t = Clock::now();
  record(s, 3, captive("https://portal.example/api"), t);
  s.routesSeen({defaultVia(3, "fe80::1")});
  auto b = factsOf(s, 3, t);
  ASSERT_EQ(b.captive.size(), 1u);
  EXPECT_EQ(b.captive[0].uri, "https://portal.example/api");
  EXPECT_EQ(b.captive[0].router.toString(), "fe80::1");
  // A new URI from the same router replaces it.
  record(s, 3, captive("https://portal.example/v2"), t);
  b = factsOf(s, 3, t);
  ASSERT_EQ(b.captive.size(), 1u);
  EXPECT_EQ(b.captive[0].uri, "https://portal.example/v2");
  // RFC 8910: "unrestricted" says there is no portal.
  record(s, 3, captive("urn:ietf:params:capport:unrestricted"), t);
  EXPECT_TRUE(factsOf(s, 3, t).captive.empty());
  // From a router that is no default router (lifetime 0 from the start): not kept.
  record(s, 3, captive("https://other.example/"), t, "fe80::9");
  s.routesSeen({defaultVia(3, "fe80::1")});
  EXPECT_TRUE(factsOf(s, 3, t).captive.empty());
}

TEST(RaStore, EverythingARouterGaveGoesWhenItLeaves) {
  RaStore s;
  auto t = Clock::now();
  record(s, 3, pref64(600, 0, "64:ff9b::"), t);
  record(s, 3, rdnss(600, "2001:db8::53"), t);
  record(s, 3, captive("https://portal.example/"), t);
  record(s, 3, rdnss(600, "2001:db8::5353"), t, "fe80::2");  // another router, no route
  s.routesSeen({defaultVia(3, "fe80::1")});
  EXPECT_FALSE(s.routerLeft(3));
  EXPECT_EQ(factsOf(s, 3, t).pref64.size(), 1u);
  // Router lifetime 0: the kernel deletes its default route; the same advertisement
  // repeats its options, still with their lifetimes.
  record(s, 3, pref64(600, 0, "64:ff9b::"), t + 1s);
  s.routesSeen({});
  EXPECT_TRUE(s.routerLeft(3));
  auto b = factsOf(s, 3, t + 1s);
  EXPECT_TRUE(b.pref64.empty());
  EXPECT_TRUE(b.captive.empty());
  DnsFacts dns;
  s.lookup(3, t + 1s, dns);
  ASSERT_EQ(dns.servers.size(), 1u);  // the other router's (never a default router) stays
  EXPECT_EQ(dns.servers[0].addr.toString(), "2001:db8::5353");
  // It comes back: its route is there again, and what it announces counts again.
  record(s, 3, pref64(600, 0, "64:ff9b::"), t + 2s);
  s.routesSeen({defaultVia(3, "fe80::1")});
  EXPECT_FALSE(s.routerLeft(3));
  EXPECT_EQ(factsOf(s, 3, t + 2s).pref64.size(), 1u);
}

}  // namespace
}  // namespace mif::view::detail
