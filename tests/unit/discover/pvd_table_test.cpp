// The listener's table of explicit PvDs (tools/discover/pvd_table.h): per interface and
// router, each item with its own lifetime; and the files it publishes.
#include "discover/pvd_table.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <algorithm>
#include <fstream>

#include "discover/publish.h"

namespace mif::discover {
namespace {

using view::kForever;
namespace ra = view::ra;

policy::IpAddress ip(const char* s) { return *policy::IpAddress::parse(s); }
policy::Prefix pfx(const char* s) { return *policy::Prefix::parse(s).prefix; }

// An advertisement announcing `id` with one prefix and one DNS server of the given lifetimes.
ra::Advertisement advert(const char* id, uint16_t routerLifetime, uint32_t life,
                         const char* prefix = "2001:db8:a::/64", const char* dns = "2001:db8:a::53",
                         uint16_t seq = 1) {
  ra::Advertisement a;
  a.header.routerLifetime = routerLifetime;
  ra::PvdOption p;
  p.id = id;
  p.sequence = seq;
  ra::PrefixInfo pi;
  pi.prefix = pfx(prefix);
  pi.onLink = pi.autonomous = true;
  pi.validLifetime = life;
  pi.preferredLifetime = life / 2;
  p.options.prefixes.push_back(pi);
  ra::Rdnss r;
  r.lifetime = life;
  r.servers.push_back(ip(dns));
  p.options.rdnss.push_back(r);
  a.pvd = p;
  return a;
}

// RFC 8801 3.4: "Hosts MUST associate received RAs and included configuration information
// (e.g., Router Valid Lifetime, Prefix Information [RFC4861], Recursive DNS Server
// [RFC8106], Routing Information [RFC4191] options) with the explicit PvD identified by the
// first PvD Option present in the received RA": the advertisement's own options (outside
// the PvD option) are the PvD's too, and withdrawn the same way.
TEST(PvdTable, Rfc8801Section3_4_TheAdvertisementsOwnOptionsBelongToItsExplicitPvd) {
  PvdTable t;
  ra::Advertisement a = advert("a.example", 1800, 600);
  ra::PrefixInfo pi;
  pi.prefix = pfx("2001:db8:c::/64");
  pi.onLink = pi.autonomous = true;
  pi.validLifetime = 900;
  pi.preferredLifetime = 300;
  a.options.prefixes.push_back(pi);
  ra::Rdnss r;
  r.lifetime = 900;
  r.servers.push_back(ip("2001:db8:c::53"));
  a.options.rdnss.push_back(r);
  ra::RouteInfo ri;
  ri.prefix = pfx("2001:db8:cc::/48");
  ri.lifetime = 900;
  a.options.routes.push_back(ri);
  t.heard("eth0", ip("fe80::a"), a, 100);
  auto pvds = t.pvds();
  ASSERT_EQ(pvds.size(), 1u);
  ASSERT_EQ(pvds[0].prefixes.size(), 2u);
  EXPECT_EQ(pvds[0].prefixes[0].prefix, pfx("2001:db8:c::/64"));
  EXPECT_EQ(pvds[0].prefixes[0].expires, 100 + 900);
  EXPECT_EQ(pvds[0].prefixes[0].router, ip("fe80::a"));
  EXPECT_EQ(pvds[0].prefixes[1].prefix, pfx("2001:db8:a::/64"));
  ASSERT_EQ(pvds[0].dns.size(), 2u);
  EXPECT_EQ(pvds[0].dns[0].addr, ip("2001:db8:c::53"));
  ASSERT_EQ(pvds[0].routes.size(), 1u);
  EXPECT_EQ(pvds[0].routes[0].prefix, pfx("2001:db8:cc::/48"));
  // The outer PIO withdrawn (lifetime 0) goes; the nested one stays.
  a.options.prefixes[0].validLifetime = a.options.prefixes[0].preferredLifetime = 0;
  t.heard("eth0", ip("fe80::a"), a, 200);
  pvds = t.pvds();
  ASSERT_EQ(pvds[0].prefixes.size(), 1u);
  EXPECT_EQ(pvds[0].prefixes[0].prefix, pfx("2001:db8:a::/64"));
  // An advertisement without a PvD option: its options are no explicit PvD's.
  ra::Advertisement plain;
  plain.header.routerLifetime = 1800;
  plain.options.prefixes.push_back(pi);
  t.heard("eth0", ip("fe80::c"), plain, 300);
  EXPECT_EQ(t.pvds().size(), 1u);
}

TEST(PvdTable, TwoRoutersOnOneLinkEachWithItsOwnPvd) {
  PvdTable t;
  EXPECT_NE(t.heard("eth0", ip("fe80::a"), advert("a.example", 1800, 600), 100), "");
  EXPECT_NE(t.heard("eth0", ip("fe80::b"),
                    advert("b.example", 1800, 300, "2001:db8:b::/64", "2001:db8:b::53"), 100),
            "");
  auto pvds = t.pvds();
  ASSERT_EQ(pvds.size(), 2u);
  EXPECT_EQ(pvds[0].id, "a.example");
  EXPECT_EQ(pvds[1].id, "b.example");
  ASSERT_EQ(pvds[1].prefixes.size(), 1u);
  EXPECT_EQ(pvds[1].prefixes[0].prefix, pfx("2001:db8:b::/64"));
  EXPECT_EQ(pvds[1].prefixes[0].router, ip("fe80::b"));
  EXPECT_EQ(pvds[1].prefixes[0].ifname, "eth0");
  EXPECT_EQ(pvds[1].prefixes[0].expires, 400);
  EXPECT_EQ(pvds[1].prefixes[0].preferred, 250);
  EXPECT_EQ(pvds[1].dns.at(0).addr, ip("2001:db8:b::53"));
  EXPECT_EQ(pvds[1].routers.at(0).expires, 1900);
  EXPECT_EQ(pvds[1].routers.at(0).defaultUntil, 1900);
  EXPECT_EQ(t.nextExpiry(), 400);  // b's DNS server and prefix (a preferred lifetime ends nothing)
}

TEST(PvdTable, ItemsEndWithTheirOwnLifetimesAndThePvdWithTheLast) {
  PvdTable t;
  t.heard("eth0", ip("fe80::a"), advert("a.example", 0, 60), 100);
  EXPECT_EQ(t.pvds().size(), 1u);
  EXPECT_FALSE(t.expire(159));
  EXPECT_TRUE(t.expire(160));
  EXPECT_TRUE(t.pvds().empty());
  EXPECT_EQ(t.nextExpiry(), kForever);
}

TEST(PvdTable, LifetimeZeroWithdrawsAtOnce) {
  PvdTable t;
  t.heard("eth0", ip("fe80::a"), advert("a.example", 1800, 600), 100);
  t.heard("eth0", ip("fe80::b"), advert("b.example", 1800, 600, "2001:db8:b::/64"), 100);
  std::string note = t.heard("eth0", ip("fe80::a"), advert("a.example", 0, 0), 101);
  EXPECT_NE(note.find("withdrawn"), std::string::npos) << note;
  auto pvds = t.pvds();
  ASSERT_EQ(pvds.size(), 1u);
  EXPECT_EQ(pvds[0].id, "b.example");
}

TEST(PvdTable, AnAdvertisementWithoutAnItemKeepsItsLifetime) {
  PvdTable t;
  t.heard("eth0", ip("fe80::a"), advert("a.example", 1800, 600), 100);
  ra::Advertisement bare;
  bare.header.routerLifetime = 1800;
  bare.pvd = ra::PvdOption{};
  bare.pvd->id = "a.example";
  bare.pvd->sequence = 2;
  EXPECT_NE(t.heard("eth0", ip("fe80::a"), bare, 200).find("sequence 1 -> 2"), std::string::npos);
  auto pvds = t.pvds();
  ASSERT_EQ(pvds.size(), 1u);
  EXPECT_EQ(pvds[0].prefixes.at(0).expires, 700);
  EXPECT_EQ(pvds[0].sequence, 2);
  EXPECT_EQ(pvds[0].routers.at(0).heard, 200);
}

TEST(PvdTable, ARouterThatNamesAnotherPvdEndsTheOneBefore) {
  PvdTable t;
  t.heard("eth0", ip("fe80::a"), advert("a.example", 1800, 600), 100);
  t.heard("eth0", ip("fe80::a"), advert("c.example", 1800, 600), 110);
  auto pvds = t.pvds();
  ASSERT_EQ(pvds.size(), 1u);
  EXPECT_EQ(pvds[0].id, "c.example");
  ra::Advertisement plain;  // no PvD option at all
  plain.header.routerLifetime = 1800;
  t.heard("eth0", ip("fe80::a"), plain, 120);
  EXPECT_TRUE(t.pvds().empty());
}

TEST(PvdTable, TheSamePvdFromTwoRoutersIsOnePvdWithBoth) {
  PvdTable t;
  t.heard("eth0", ip("fe80::a"), advert("a.example", 1800, 600), 100);
  t.heard("eth1", ip("fe80::c"), advert("a.example", 900, 600, "2001:db8:c::/64"), 100);
  auto pvds = t.pvds();
  ASSERT_EQ(pvds.size(), 1u);
  EXPECT_EQ(pvds[0].routers.size(), 2u);
  EXPECT_EQ(pvds[0].prefixes.size(), 2u);
  EXPECT_TRUE(t.forgetInterface("eth1"));
  EXPECT_EQ(t.pvds().at(0).routers.size(), 1u);
}

TEST(PvdTable, AFloodOfRoutersIsBounded) {
  PvdTable t;
  for (int i = 0; i < 200; ++i) {
    auto r = ip("fe80::1");
    r.bytes[14] = static_cast<uint8_t>(i >> 8);
    r.bytes[15] = static_cast<uint8_t>(i);
    t.heard("eth0", r, advert("a.example", 1800, 600), 100);
  }
  EXPECT_EQ(t.routers(), PvdTable::kMaxRouters);
}

TEST(PvdTable, InfiniteLifetimesNeverEnd) {
  PvdTable t;
  t.heard("eth0", ip("fe80::a"), advert("a.example", 0, ra::kInfinite), 100);
  EXPECT_EQ(t.nextExpiry(), kForever);
  EXPECT_FALSE(t.expire(1'000'000'000));
  EXPECT_EQ(t.pvds().at(0).prefixes.at(0).expires, kForever);
}

std::vector<std::string> names(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::string n = e->d_name; n != "." && n != "..") out.push_back(n);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Publisher, WritesOneReadableFilePerPvdAndRemovesThoseThatEnded) {
  char tmpl[] = "/tmp/mif-publish-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = std::string(tmpl) + "/pvds";
  {
    // Left by a run that was killed: removed when the next one starts.
    mkdir(dir.c_str(), 0755);
    std::ofstream(dir + "/old.example") << "version 1\nid old.example\n";
    std::ofstream(dir + "/.old.example.ABCDEF") << "half";
  }
  Publisher out(dir);
  std::string why;
  ASSERT_TRUE(out.prepare(why)) << why;
  EXPECT_TRUE(names(dir).empty());
  PvdTable t;
  int64_t now = view::bootSeconds();
  t.heard("eth0", ip("fe80::a"), advert("a.example", 1800, 600), now);
  t.heard("eth0", ip("fe80::b"), advert("b.example", 1800, 600, "2001:db8:b::/64"), now);
  ASSERT_TRUE(out.publish(t.pvds(), why)) << why;
  EXPECT_EQ(names(dir), (std::vector<std::string>{"a.example", "b.example"}));
  struct stat st{};
  ASSERT_EQ(stat((dir + "/a.example").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // What a reader gets back is what was published.
  auto read = view::readPublishedPvds(dir);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(view::formatPublishedPvd(read[0]), view::formatPublishedPvd(t.pvds()[0]));
  t.heard("eth0", ip("fe80::a"), advert("a.example", 0, 0), now);
  ASSERT_TRUE(out.publish(t.pvds(), why)) << why;
  EXPECT_EQ(names(dir), std::vector<std::string>{"b.example"});
  out.withdrawAll();
  EXPECT_TRUE(names(dir).empty());
  rmdir(dir.c_str());
  rmdir(tmpl);
}

}  // namespace
}  // namespace mif::discover
