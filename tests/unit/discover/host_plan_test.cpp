// What `mif discover` configures for the prefixes nested in PvD options
// (tools/discover/host_plan.h): SLAAC addresses and RFC 8028 source-specific routes.
#include "discover/host_plan.h"

#include <gtest/gtest.h>

namespace mif::discover {
namespace {

using view::kForever;
using view::PublishedPvd;

policy::IpAddress ip(const char* s) { return *policy::IpAddress::parse(s); }
policy::Prefix pfx(const char* s) { return *policy::Prefix::parse(s).prefix; }

template <class T>
T from(const char* ifname, const char* router, int64_t expires) {
  T t;
  t.ifname = ifname;
  t.router = ip(router);
  t.expires = expires;
  return t;
}

PublishedPvd::Prefix prefix(const char* router, const char* p, int64_t valid, int64_t preferred,
                            bool autonomous = true, const char* ifname = "eth0") {
  auto x = from<PublishedPvd::Prefix>(ifname, router, valid);
  x.prefix = pfx(p);
  x.preferred = preferred;
  x.onLink = true;
  x.autonomous = autonomous;
  return x;
}

PublishedPvd::Router router(const char* r, int64_t defaultUntil, const char* ifname = "eth0") {
  auto x = from<PublishedPvd::Router>(ifname, r, defaultUntil);
  x.defaultUntil = defaultUntil;
  return x;
}

TEST(HostPlan, AnAddressPerAutonomousSlash64AndADefaultRouteFromEachPrefixViaItsRouter) {
  PublishedPvd a;
  a.id = "a.example";
  a.routers = {router("fe80::a", 1800)};
  a.prefixes = {prefix("fe80::a", "2001:db8:a::/64", 2000, 1500),
                prefix("fe80::a", "2001:db8:a0::/64", 2000, 1500, false),  // A clear
                prefix("fe80::a", "2001:db8:aa::/56", 2000, 1500)};        // not a /64
  HostPlan plan = planHost({a}, 100);
  ASSERT_EQ(plan.addresses.size(), 1u);
  EXPECT_EQ(plan.addresses[0].ifname, "eth0");
  EXPECT_EQ(plan.addresses[0].prefix, pfx("2001:db8:a::/64"));
  EXPECT_EQ(plan.addresses[0].expires, 2000);
  EXPECT_EQ(plan.addresses[0].preferred, 1500);
  EXPECT_TRUE(plan.addresses[0].onLink);
  // Every prefix the router announced is a source it routes (RFC 8028), A flag or not.
  ASSERT_EQ(plan.routes.size(), 3u);
  for (const auto& r : plan.routes) {
    EXPECT_EQ(r.to, pfx("::/0"));
    EXPECT_EQ(r.via, ip("fe80::a"));
    EXPECT_EQ(r.ifname, "eth0");
    EXPECT_EQ(r.expires, 1800);
  }
  EXPECT_EQ(plan.routes[0].from, pfx("2001:db8:a::/64"));
  EXPECT_EQ(plan.routes[1].from, pfx("2001:db8:a0::/64"));
  EXPECT_EQ(plan.routes[2].from, pfx("2001:db8:aa::/56"));
}

TEST(HostPlan, TwoRoutersOnOneLinkEachRouteOnlyTheirOwnPrefixes) {
  PublishedPvd a, b;
  a.id = "a.example";
  a.routers = {router("fe80::a", 1800)};
  a.prefixes = {prefix("fe80::a", "2001:db8:a::/64", 2000, 1500)};
  b.id = "b.example";
  b.routers = {router("fe80::b", 900)};
  b.prefixes = {prefix("fe80::b", "2001:db8:b::/64", 2000, 1500)};
  HostPlan plan = planHost({a, b}, 100);
  ASSERT_EQ(plan.addresses.size(), 2u);
  ASSERT_EQ(plan.routes.size(), 2u);
  EXPECT_EQ(plan.routes[0].from, pfx("2001:db8:a::/64"));
  EXPECT_EQ(plan.routes[0].via, ip("fe80::a"));
  EXPECT_EQ(plan.routes[1].from, pfx("2001:db8:b::/64"));
  EXPECT_EQ(plan.routes[1].via, ip("fe80::b"));
  EXPECT_EQ(plan.routes[1].expires, 900);
}

TEST(HostPlan, NoDefaultRouteWithoutRouterLifetimeButRoutesForItsRios) {
  PublishedPvd a;
  a.id = "a.example";
  a.routers = {router("fe80::a", 0)};
  a.prefixes = {prefix("fe80::a", "2001:db8:a::/64", 2000, 1500)};
  auto rio = from<PublishedPvd::Route>("eth0", "fe80::a", 700);
  rio.prefix = pfx("2001:db8:100::/48");
  a.routes = {rio};
  HostPlan plan = planHost({a}, 100);
  ASSERT_EQ(plan.routes.size(), 1u);
  EXPECT_EQ(plan.routes[0].to, pfx("2001:db8:100::/48"));
  EXPECT_EQ(plan.routes[0].from, pfx("2001:db8:a::/64"));
  EXPECT_EQ(plan.routes[0].expires, 700);
  EXPECT_EQ(plan.addresses.size(), 1u);  // the address does not need a default router
}

TEST(HostPlan, EndedItemsAndPvdsWithoutPrefixesAskForNothing) {
  PublishedPvd a;
  a.id = "a.example";
  a.routers = {router("fe80::a", 1800)};
  a.prefixes = {prefix("fe80::a", "2001:db8:a::/64", 100, 100)};  // ends at 100
  EXPECT_TRUE(planHost({a}, 100).addresses.empty());
  EXPECT_TRUE(planHost({a}, 100).routes.empty());
  a.prefixes.clear();  // nothing to restrict a route to
  EXPECT_TRUE(planHost({a}, 50).routes.empty());
  // Router lifetime over, prefix still valid: the address stays, the default route goes.
  a.prefixes = {prefix("fe80::a", "2001:db8:a::/64", kForever, kForever)};
  a.routers = {router("fe80::a", 90)};
  HostPlan plan = planHost({a}, 100);
  EXPECT_EQ(plan.addresses.size(), 1u);
  EXPECT_EQ(plan.addresses[0].expires, kForever);
  EXPECT_TRUE(plan.routes.empty());
}

TEST(HostPlan, OnePrefixFromTwoRoutersIsOneAddressWithTheLongestLifetimes) {
  PublishedPvd a;
  a.id = "a.example";
  a.routers = {router("fe80::1", 1800), router("fe80::2", 1800)};
  a.prefixes = {prefix("fe80::1", "2001:db8:a::/64", 2000, 300),
                prefix("fe80::2", "2001:db8:a::/64", 1000, 900)};
  HostPlan plan = planHost({a}, 100);
  ASSERT_EQ(plan.addresses.size(), 1u);
  EXPECT_EQ(plan.addresses[0].expires, 2000);
  EXPECT_EQ(plan.addresses[0].preferred, 900);
  ASSERT_EQ(plan.routes.size(), 2u);  // a default route via each router
  EXPECT_EQ(plan.routes[0].via, ip("fe80::1"));
  EXPECT_EQ(plan.routes[1].via, ip("fe80::2"));
}

TEST(HostPlan, ModifiedEui64FromAMacAddress) {
  const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  auto iid = eui64(mac, 6);
  ASSERT_TRUE(iid);
  EXPECT_EQ(withIdentifier(pfx("2001:db8:a::/64"), *iid), ip("2001:db8:a::5054:ff:fe12:3456"));
  const uint8_t universal[6] = {0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc};
  EXPECT_EQ(withIdentifier(pfx("2001:db8:a::/64"), *eui64(universal, 6)),
            ip("2001:db8:a::21b:21ff:feaa:bbcc"));
  EXPECT_FALSE(eui64(mac, 8));
  EXPECT_FALSE(eui64(mac, 0));
}

// The kernel's own answers (6.18, a veth with addr_gen_mode 2 and this stable_secret, its
// permanent address all zero): the SLAAC address it made for a plain PIO of
// 2001:db8:5::/64, and its link-local address.
TEST(HostPlan, StablePrivacyIdentifiersAreTheKernels) {
  std::array<uint8_t, 16> secret{};
  auto s = ip("2001:db8:1234:5678:9abc:def0:1122:3344");
  std::copy(s.bytes.begin(), s.bytes.end(), secret.begin());
  const uint8_t zero[6] = {};
  auto global = stablePrivacy(secret, pfx("2001:db8:5::/64"), zero, 6);
  ASSERT_TRUE(global);
  EXPECT_EQ(withIdentifier(pfx("2001:db8:5::/64"), *global), ip("2001:db8:5:0:67f5:a2f5:5cc:e5dc"));
  auto local = stablePrivacy(secret, pfx("fe80::/64"), zero, 6);
  ASSERT_TRUE(local);
  EXPECT_EQ(withIdentifier(pfx("fe80::/64"), *local), ip("fe80::b129:9def:7395:14db"));
  // Another prefix, another identifier; the hardware address counts.
  EXPECT_NE(*stablePrivacy(secret, pfx("2001:db8:6::/64"), zero, 6), *global);
  const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3};
  EXPECT_NE(*stablePrivacy(secret, pfx("2001:db8:5::/64"), mac, 6), *global);
}

}  // namespace
}  // namespace mif::discover
