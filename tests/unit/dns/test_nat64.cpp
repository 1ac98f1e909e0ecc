// AAAA synthesis from a PvD's PREF64 (nat64.h): RFC 6052 2.2's embedding at every prefix
// length (its own examples, 2.4), the addresses it excludes, and when an answer gets
// synthesized addresses at all.
#include <gtest/gtest.h>

#include <chrono>

#include "mif/dns/nat64.h"

namespace {

using mif::dns::Answer;
using mif::dns::embedIpv4;
using mif::dns::Status;
using mif::dns::synthesizeAaaa;
using mif::policy::IpAddress;
using mif::policy::Prefix;

Prefix pfx(const char* s) { return *Prefix::parse(s).prefix; }
IpAddress ip(const char* s) { return *IpAddress::parse(s); }

std::string embed(const char* prefix, const char* v4) {
  auto a = embedIpv4(pfx(prefix), ip(v4));
  return a ? a->toString() : "none";
}

TEST(Nat64, EmbedsAsRfc6052Section24Shows) {
  EXPECT_EQ(embed("2001:db8::/32", "192.0.2.33"), "2001:db8:c000:221::");
  EXPECT_EQ(embed("2001:db8:100::/40", "192.0.2.33"), "2001:db8:1c0:2:21::");
  EXPECT_EQ(embed("2001:db8:122::/48", "192.0.2.33"), "2001:db8:122:c000:2:2100::");
  EXPECT_EQ(embed("2001:db8:122:300::/56", "192.0.2.33"), "2001:db8:122:3c0:0:221::");
  EXPECT_EQ(embed("2001:db8:122:344::/64", "192.0.2.33"), "2001:db8:122:344:c0:2:2100:0");
  EXPECT_EQ(embed("2001:db8:122:344::/96", "192.0.2.33"), "2001:db8:122:344::c000:221");
  EXPECT_EQ(embed("64:ff9b::/96", "192.0.2.33"), "64:ff9b::c000:221");
}

TEST(Nat64, ExcludedAddressesAndLengthsGetNothing) {
  EXPECT_EQ(embed("2001:db8:64::/96", "127.0.0.1"), "none");
  EXPECT_EQ(embed("2001:db8:64::/96", "0.1.2.3"), "none");
  EXPECT_EQ(embed("2001:db8:64::/96", "169.254.1.1"), "none");
  EXPECT_EQ(embed("2001:db8:64::/96", "255.255.255.255"), "none");
  // Private IPv4 only with a network-specific prefix, never the well-known one.
  EXPECT_EQ(embed("64:ff9b::/96", "10.1.2.3"), "none");
  EXPECT_EQ(embed("64:ff9b::/96", "192.168.1.1"), "none");
  EXPECT_EQ(embed("2001:db8:64::/96", "10.1.2.3"), "2001:db8:64::a01:203");
  EXPECT_EQ(embed("2001:db8:64::/80", "192.0.2.33"), "none");
  EXPECT_EQ(embedIpv4(pfx("192.0.2.0/24"), ip("192.0.2.33")), std::nullopt);
}

mif::view::BoundPvd ipv6Only(const char* prefix) {
  mif::view::BoundPvd p;
  p.state.present = true;
  p.state.v6 = true;
  if (prefix) p.pref64.push_back({pfx(prefix), ip("fe80::1"), {}});
  return p;
}

Answer answer(std::initializer_list<const char*> addrs) {
  Answer a;
  a.status = Status::Ok;
  for (auto s : addrs) a.addresses.push_back(ip(s));
  return a;
}

TEST(Nat64, AnIpv4OnlyNameOfAnIpv6OnlyPvdGetsOneAaaaPerA) {
  Answer a = answer({"203.0.113.80", "203.0.113.81"});
  EXPECT_EQ(synthesizeAaaa(ipv6Only("2001:db8:64::/96"), true, a), 2u);
  ASSERT_EQ(a.addresses.size(), 4u);
  EXPECT_EQ(a.addresses[0].toString(), "203.0.113.80");  // A records first, as received
  EXPECT_EQ(a.addresses[2].toString(), "2001:db8:64::cb00:7150");
  EXPECT_EQ(a.addresses[3].toString(), "2001:db8:64::cb00:7151");
}

TEST(Nat64, NothingIsSynthesizedOtherwise) {
  Answer a = answer({"203.0.113.80"});
  EXPECT_EQ(synthesizeAaaa(ipv6Only(nullptr), true, a), 0u);  // no PREF64 announced
  EXPECT_EQ(synthesizeAaaa(ipv6Only("2001:db8:64::/96"), false, a), 0u);  // no AAAA wanted
  auto dual = ipv6Only("2001:db8:64::/96");
  dual.state.v4 = true;  // the PvD has IPv4: its A records work as they are
  EXPECT_EQ(synthesizeAaaa(dual, true, a), 0u);
  Answer own = answer({"203.0.113.80", "2001:db8:ff::80"});  // the name has IPv6
  EXPECT_EQ(synthesizeAaaa(ipv6Only("2001:db8:64::/96"), true, own), 0u);
  Answer none = answer({});
  none.status = Status::NotFound;
  EXPECT_EQ(synthesizeAaaa(ipv6Only("2001:db8:64::/96"), true, none), 0u);
  EXPECT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(own.addresses.size(), 2u);
}

// getaddrinfo(AF_INET6) and gethostbyname2(AF_INET6) ask AAAA only: an IPv4-only name then
// comes back NODATA, and the A records must be asked of the PvD that answered before
// anything can be synthesized; the answer holds the synthesized AAAA only.
TEST(Nat64, AnIpv6OnlyLookupAsksTheARecordsAndGetsOnlyAaaa) {
  mif::view::Snapshot snap;
  snap.pvds.push_back(ipv6Only("2001:db8:64::/96"));
  snap.pvds.push_back(ipv6Only(nullptr));
  Answer nodata = answer({});
  nodata.status = Status::NoData;
  nodata.pvd = 0;
  EXPECT_TRUE(mif::dns::needsARecords(snap, false, true, nodata));
  EXPECT_FALSE(mif::dns::needsARecords(snap, true, true, nodata));   // A asked already
  EXPECT_FALSE(mif::dns::needsARecords(snap, true, false, nodata));  // IPv4 only
  Answer own = answer({"2001:db8:ff::80"});  // the name has IPv6
  own.pvd = 0;
  EXPECT_FALSE(mif::dns::needsARecords(snap, false, true, own));
  nodata.pvd = 1;  // a PvD without PREF64
  EXPECT_FALSE(mif::dns::needsARecords(snap, false, true, nodata));
  snap.pvds[0].state.v4 = true;  // a PvD with IPv4 synthesizes nothing
  nodata.pvd = 0;
  EXPECT_FALSE(mif::dns::needsARecords(snap, false, true, nodata));
  snap.pvds[0].state.v4 = false;
  Answer notFound = nodata;
  notFound.status = Status::NotFound;
  EXPECT_FALSE(mif::dns::needsARecords(snap, false, true, notFound));

  Answer four = answer({"203.0.113.80", "203.0.113.81"});
  four.pvd = 0;
  four.qname = "legacy.example";
  EXPECT_EQ(mif::dns::replaceWithPref64(snap, four), 2u);
  ASSERT_EQ(four.addresses.size(), 2u);
  EXPECT_EQ(four.addresses[0].toString(), "2001:db8:64::cb00:7150");
  EXPECT_EQ(four.addresses[1].toString(), "2001:db8:64::cb00:7151");
  Answer excluded = answer({"127.0.0.1"});  // nothing to synthesize: left as it was
  excluded.pvd = 0;
  EXPECT_EQ(mif::dns::replaceWithPref64(snap, excluded), 0u);
  EXPECT_EQ(excluded.addresses.size(), 1u);
}

}  // namespace
