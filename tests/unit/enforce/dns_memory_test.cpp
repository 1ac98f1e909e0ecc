// The DNS stub's bookkeeping (tools/enforce/dns_memory.h): per PvD, name and type, the
// addresses answered, for how long, and which name an address was an answer for.
#include "enforce/dns_memory.h"

#include <gtest/gtest.h>

#include <string>

namespace mif::enforce {
namespace {

using policy::Family;
using policy::IpAddress;
using Known = DnsMemory::Known;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

constexpr uint16_t kA = 1, kAaaa = 28;
constexpr policy::PvdId kWifi = 0, kCell = 1;

TEST(DnsMemory, EachPvdsOwnAnswerForAName) {
  DnsMemory m;
  m.record(kWifi, "cdn.example.com", kA, {ip("203.0.113.80")}, 60, 1000);
  m.record(kCell, "CDN.Example.com.", kA, {ip("203.0.113.200"), ip("203.0.113.201")}, 60, 1000);
  IpAddress a;
  ASSERT_EQ(m.answer(kWifi, "cdn.example.com", Family::V4, 2000, &a), Known::Address);
  EXPECT_EQ(a, ip("203.0.113.80"));
  ASSERT_EQ(m.answer(kCell, "cdn.example.com.", Family::V4, 2000, &a), Known::Address);
  EXPECT_EQ(a, ip("203.0.113.200")) << "the first address of the answer";
  EXPECT_EQ(m.answer(kCell, "cdn.example.com", Family::V6, 2000, &a), Known::Unknown)
      << "AAAA was never asked";
  EXPECT_EQ(m.answer(2, "cdn.example.com", Family::V4, 2000, &a), Known::Unknown);
}

TEST(DnsMemory, WhereAnAddressCameFrom) {
  DnsMemory m;
  m.record(kWifi, "cdn.example.com", kA, {ip("203.0.113.80")}, 60, 0);
  m.record(kCell, "cdn.example.com", kA, {ip("203.0.113.200")}, 60, 0);
  // www.example.com: the same address from both PvDs.
  m.record(kWifi, "www.example.com", kAaaa, {ip("2001:db8:80::80")}, 60, 0);
  m.record(kCell, "www.example.com", kAaaa, {ip("2001:db8:80::80")}, 60, 0);
  auto s = m.sourceOf(ip("203.0.113.80"), kCell, 10);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pvd, kWifi);
  EXPECT_EQ(s->name, "cdn.example.com");
  s = m.sourceOf(ip("2001:db8:80::80"), kCell, 10);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pvd, kCell) << "the preferred PvD's answer when several hold the address";
  s = m.sourceOf(ip("2001:db8:80::80"), kWifi, 10);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pvd, kWifi);
  EXPECT_FALSE(m.sourceOf(ip("192.0.2.1"), kWifi, 10)) << "a literal nobody answered";
}

TEST(DnsMemory, KeptForTheTtlWithinBounds) {
  DnsMemory m;
  IpAddress a;
  // TTL 0 (dnsmasq's default for its own records): still kept for the minimum.
  m.record(kWifi, "zero.example", kA, {ip("192.0.2.1")}, 0, 0);
  EXPECT_EQ(m.answer(kWifi, "zero.example", Family::V4, DnsMemory::kMinTtlMs - 1, &a), Known::Address);
  EXPECT_EQ(m.answer(kWifi, "zero.example", Family::V4, DnsMemory::kMinTtlMs, &a), Known::Unknown);
  EXPECT_FALSE(m.sourceOf(ip("192.0.2.1"), kWifi, DnsMemory::kMinTtlMs));
  m.record(kWifi, "hour.example", kA, {ip("192.0.2.2")}, 3600, 0);
  EXPECT_EQ(m.answer(kWifi, "hour.example", Family::V4, 3'599'999, &a), Known::Address);
  EXPECT_EQ(m.answer(kWifi, "hour.example", Family::V4, 3'600'000, &a), Known::Unknown);
  m.record(kWifi, "week.example", kA, {ip("192.0.2.3")}, 7 * 86400, 0);
  EXPECT_EQ(m.answer(kWifi, "week.example", Family::V4, DnsMemory::kMaxTtlMs, &a), Known::Unknown)
      << "capped at a day";
}

TEST(DnsMemory, NoAnswerIsKnownBriefly) {
  DnsMemory m;
  IpAddress a;
  m.record(kCell, "nx.example", kA, {}, 3600, 0);
  EXPECT_EQ(m.answer(kCell, "nx.example", Family::V4, DnsMemory::kNoAnswerMs - 1, &a), Known::NoAddress);
  EXPECT_EQ(m.answer(kCell, "nx.example", Family::V4, DnsMemory::kNoAnswerMs, &a), Known::Unknown);
  // NODATA for AAAA: no IPv6 address, while the A answer stands.
  m.record(kCell, "v4only.example", kAaaa, {}, 60, 0);
  EXPECT_EQ(m.answer(kCell, "v4only.example", Family::V6, 1, &a), Known::NoAddress);
  // A later answer replaces the earlier one.
  m.record(kCell, "nx.example", kA, {ip("192.0.2.7")}, 60, 10);
  EXPECT_EQ(m.answer(kCell, "nx.example", Family::V4, 20, &a), Known::Address);
  EXPECT_EQ(a, ip("192.0.2.7"));
  EXPECT_EQ(m.size(), 2u);
  // Only A and AAAA are remembered.
  m.record(kCell, "mx.example", 15, {}, 60, 10);
  EXPECT_EQ(m.size(), 2u);
}

TEST(DnsMemory, BoundedExpiredFirstThenSoonest) {
  DnsMemory m;
  for (size_t i = 0; i < DnsMemory::kCapacity; ++i)
    m.record(kWifi, "n" + std::to_string(i) + ".example", kA, {ip("192.0.2.1")},
             static_cast<uint32_t>(100 + i), 0);
  EXPECT_EQ(m.size(), DnsMemory::kCapacity);
  IpAddress a;
  // Full, nothing expired: the entry that expires soonest (n0) goes.
  m.record(kCell, "new.example", kA, {ip("192.0.2.2")}, 60, 1000);
  EXPECT_EQ(m.size(), DnsMemory::kCapacity);
  EXPECT_EQ(m.answer(kWifi, "n0.example", Family::V4, 1000, &a), Known::Unknown);
  EXPECT_EQ(m.answer(kWifi, "n1.example", Family::V4, 1000, &a), Known::Address);
  EXPECT_EQ(m.answer(kCell, "new.example", Family::V4, 1000, &a), Known::Address);
  // Much later every old entry has expired: they all go at the next insertion.
  m.record(kCell, "later.example", kA, {ip("192.0.2.3")}, 60, 10'000'000);
  EXPECT_EQ(m.size(), 1u);
}

}  // namespace
}  // namespace mif::enforce
