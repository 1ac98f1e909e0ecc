// The per-PvD resolver engine against real servers on the test namespace's loopback.
#include <gtest/gtest.h>

#include <thread>

#include "fixture.h"
#include "mif/dns/resolver.h"
#include "mif/dns/tags.h"

using mif::dns::Resolver;
using mif::dns::Status;
using mif::policy::IpAddress;
using mif::policy::PvdId;
using mifdns::FakeDns;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// Short enough for tests, long enough that a loaded machine's scheduling delay is not
// taken for a lost packet (a retransmission would change the query counts asserted).
mif::dns::ResolverOptions fastOptions(int timeoutMs = 1000) {
  mif::dns::ResolverOptions o;
  o.timeoutMs = timeoutMs;
  o.tries = 2;
  return o;
}

std::vector<PvdId> order(std::initializer_list<PvdId> l) { return l; }

}  // namespace

TEST(Resolver, AnswersFromThePvdsServerAndCachesIt) {
  MIFDNS_REQUIRE_NETNS();
  mifdns::Dnsmasq dm("127.0.0.53",
                     {"local=/example.test/",
                      "host-record=www.example.test,192.0.2.10,2001:db8:2::10", "local-ttl=60"});
  ASSERT_TRUE(dm.ok());
  auto snap = mifdns::makeSnapshot({{{"127.0.0.53"}, {"example.test"}, true}}, 1);
  Resolver r(fastOptions());
  auto o = order({0});
  auto a = r.lookup(snap, o, "www.example.test", true, true, "test");
  ASSERT_EQ(a.status, Status::Ok) << a.why;
  ASSERT_EQ(a.addresses.size(), 2u);
  EXPECT_EQ(a.addresses[0], ip("192.0.2.10"));  // A first, as nss_dns hands them over
  EXPECT_EQ(a.addresses[1], ip("2001:db8:2::10"));
  EXPECT_FALSE(a.cacheHit);
  EXPECT_EQ(a.pvd, 0);
  int before = dm.queries("www.example.test");
  auto b = r.lookup(snap, o, "www", true, true, "test");  // search list, then cache
  EXPECT_EQ(b.status, Status::Ok);
  EXPECT_TRUE(b.cacheHit);
  EXPECT_EQ(b.qname, "www.example.test");
  EXPECT_EQ(dm.queries("www.example.test"), before);
  // Tagged with the PvD and the name, for the connect path.
  mif::dns::Tag tag;
  ASSERT_TRUE(mif::dns::lookupTag(ip("2001:db8:2::10"), &tag));
  EXPECT_EQ(tag.pvd, 0);
  EXPECT_STREQ(tag.name, "www.example.test");
}

TEST(Resolver, CachesArePerPvd) {
  MIFDNS_REQUIRE_NETNS();
  FakeDns a("127.0.0.61"), b("127.0.0.62");
  a.set("host.test", {FakeDns::Mode::Answer, {ip("10.1.1.1")}, 300, 0});
  b.set("host.test", {FakeDns::Mode::Answer, {ip("10.2.2.2")}, 300, 0});
  auto snap = mifdns::makeSnapshot({{{"127.0.0.61"}, {}, true}, {{"127.0.0.62"}, {}, true}}, 1);
  Resolver r(fastOptions());
  auto o0 = order({0}), o1 = order({1});
  auto x = r.lookup(snap, o0, "host.test", true, false, "test");
  auto y = r.lookup(snap, o1, "host.test", true, false, "test");
  ASSERT_EQ(x.status, Status::Ok);
  ASSERT_EQ(y.status, Status::Ok);
  EXPECT_EQ(x.addresses.at(0), ip("10.1.1.1"));
  EXPECT_EQ(y.addresses.at(0), ip("10.2.2.2"));
  EXPECT_FALSE(y.cacheHit);  // PvD 0's answer is never served for PvD 1
  EXPECT_EQ(b.queries("host.test"), 1);
  EXPECT_TRUE(r.lookup(snap, o1, "host.test", true, false, "test").cacheHit);
}

TEST(Resolver, NxdomainNeverFallsThroughToTheNextPvd) {
  MIFDNS_REQUIRE_NETNS();
  FakeDns corp("127.0.0.61"), wifi("127.0.0.62");
  wifi.set("secret.corp.test", {FakeDns::Mode::Answer, {ip("203.0.113.66")}, 60, 0});
  auto snap = mifdns::makeSnapshot({{{"127.0.0.61"}, {}, true}, {{"127.0.0.62"}, {}, true}}, 1);
  Resolver r(fastOptions());
  auto o = order({0, 1});
  auto a = r.lookup(snap, o, "secret.corp.test", true, true, "test");
  EXPECT_EQ(a.status, Status::NotFound);
  EXPECT_FALSE(a.exhausted);
  EXPECT_EQ(wifi.queries("secret.corp.test"), 0);  // the private name never left for Wi-Fi
}

TEST(Resolver, ServfailAndSilenceAndNoServersFallThrough) {
  MIFDNS_REQUIRE_NETNS();
  FakeDns broken("127.0.0.61"), silent("127.0.0.62"), good("127.0.0.63");
  broken.set("h.test", {FakeDns::Mode::ServFail, {}, 60, 0});
  silent.set("h.test", {FakeDns::Mode::Drop, {}, 60, 0});
  good.set("h.test", {FakeDns::Mode::Answer, {ip("192.0.2.7")}, 60, 0});
  auto snap = mifdns::makeSnapshot({{{"127.0.0.61"}, {}, true},
                                    {{"127.0.0.62"}, {}, true},
                                    {{}, {}, true},
                                    {{"127.0.0.63"}, {}, true}},
                                   1);
  Resolver r(fastOptions());
  auto o = order({0, 1, 2, 3});
  auto a = r.lookup(snap, o, "h.test", true, false, "test");
  ASSERT_EQ(a.status, Status::Ok) << a.why;
  EXPECT_EQ(a.pvd, 3);
  EXPECT_GE(broken.queries("h.test"), 1);
  EXPECT_GE(silent.queries("h.test"), 1);
  // Strict callers see `exhausted` when nothing answers at all.
  auto only = order({0, 2});
  auto b = r.lookup(snap, only, "h.test", true, false, "test");
  EXPECT_TRUE(b.exhausted);
  EXPECT_EQ(b.status, Status::TryAgain);
}

TEST(Resolver, NegativeAnswersAreCachedForTheSoaMinimum) {
  MIFDNS_REQUIRE_NETNS();
  FakeDns s("127.0.0.61");
  s.set("gone.test", {FakeDns::Mode::NxDomain, {}, 60, 2});   // SOA minimum 2 s
  s.set("nosoa.test", {FakeDns::Mode::NxDomain, {}, 60, 0});  // no SOA: not cached
  auto snap = mifdns::makeSnapshot({{{"127.0.0.61"}, {}, true}}, 1);
  Resolver r(fastOptions());
  auto o = order({0});
  EXPECT_EQ(r.lookup(snap, o, "gone.test", true, false, "test").status, Status::NotFound);
  auto again = r.lookup(snap, o, "gone.test", true, false, "test");
  EXPECT_EQ(again.status, Status::NotFound);
  EXPECT_TRUE(again.cacheHit);
  EXPECT_EQ(s.queries("gone.test"), 1);
  r.lookup(snap, o, "nosoa.test", true, false, "test");
  r.lookup(snap, o, "nosoa.test", true, false, "test");
  EXPECT_EQ(s.queries("nosoa.test"), 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_FALSE(r.lookup(snap, o, "gone.test", true, false, "test").cacheHit);
  EXPECT_EQ(s.queries("gone.test"), 2);
}

TEST(Resolver, PositiveTtlIsHonoured) {
  MIFDNS_REQUIRE_NETNS();
  FakeDns s("127.0.0.61");
  s.set("short.test", {FakeDns::Mode::Answer, {ip("192.0.2.77")}, 1, 0});
  auto snap = mifdns::makeSnapshot({{{"127.0.0.61"}, {}, true}}, 1);
  Resolver r(fastOptions());
  auto o = order({0});
  EXPECT_EQ(r.lookup(snap, o, "short.test", true, false, "test").status, Status::Ok);
  EXPECT_TRUE(r.lookup(snap, o, "short.test", true, false, "test").cacheHit);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(r.lookup(snap, o, "short.test", true, false, "test").cacheHit);
  EXPECT_EQ(s.queries("short.test"), 2);
}

TEST(Resolver, APvdGoingDownDropsItsAnswersAndTags) {
  MIFDNS_REQUIRE_NETNS();
  FakeDns s("127.0.0.61");
  s.set("n1only.test", {FakeDns::Mode::Answer, {ip("192.0.2.99")}, 300, 0});
  auto up = mifdns::makeSnapshot({{{"127.0.0.61"}, {}, true}}, 10);
  Resolver r(fastOptions());
  auto o = order({0});
  ASSERT_EQ(r.lookup(up, o, "n1only.test", true, false, "test").status, Status::Ok);
  EXPECT_EQ(r.cachedEntries(0), 1u);
  EXPECT_TRUE(mif::dns::lookupTag(ip("192.0.2.99"), nullptr));
  auto down = mifdns::makeSnapshot({{{"127.0.0.61"}, {}, false}}, 11);
  auto none = order({});
  r.lookup(down, none, "other.test", true, false, "test");  // any resolution syncs the view
  EXPECT_EQ(r.cachedEntries(0), 0u);
  EXPECT_FALSE(mif::dns::lookupTag(ip("192.0.2.99"), nullptr));
  // Back up: asked again, not served from before.
  auto back = mifdns::makeSnapshot({{{"127.0.0.61"}, {}, true}}, 12);
  EXPECT_FALSE(r.lookup(back, o, "n1only.test", true, false, "test").cacheHit);
  EXPECT_EQ(s.queries("n1only.test"), 2);
}

TEST(Resolver, ConcurrentLookupsFromManyThreads) {
  MIFDNS_REQUIRE_NETNS();
  FakeDns s("127.0.0.61");
  for (int i = 0; i < 32; ++i)
    s.set("t" + std::to_string(i) + ".test", {FakeDns::Mode::Answer, {ip("192.0.2.1")}, 300, 0});
  auto snap = mifdns::makeSnapshot({{{"127.0.0.61"}, {}, true}}, 1);
  Resolver r(fastOptions());
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int t = 0; t < 32; ++t)
    ts.emplace_back([&, t] {
      auto o = order({0});
      for (int k = 0; k < 20; ++k)
        if (r.lookup(snap, o, "t" + std::to_string((t + k) % 32) + ".test", true, false, "test")
                .status == Status::Ok)
          ++ok;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 32 * 20);
}
