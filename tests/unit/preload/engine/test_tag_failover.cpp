// Issue 29 item 2 in the runtime, without LD_PRELOAD and without a network (the same seams
// as test_engine.cpp: a fed view, a scripted resolver, this process in a namespace of its
// own): a connect to an address a PvD's DNS answered is decided with that PvD first and the
// rest of the order after it; an attempt on a later PvD asks that PvD alone for the name and
// connects to its answer, or is skipped when it has none; health never moves the tag's PvD
// from the first place (the program's own connect goes to its address); and a strict list
// never gains a PvD.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine_fixture.h"
#include "mif/dns/tags.h"

namespace {

using mif::dns::Answer;
using mif::dns::RawAnswer;
using mif::dns::Status;
using mif::enginetest::EngineTest;
using mif::enginetest::ip;
using mif::enginetest::pvdsOnLo;
using mif::policy::IpAddress;
using mif::policy::PvdId;
using mif::policy::Step;
using mif::preload::Call;
using mif::preload::Endpoint;
using mif::preload::Outcome;
using mif::preload::Runtime;

// vpn is PvD 0, wifi 1, cell 2; all on `lo`, this namespace's only interface.
const char* kPolicy = R"(
[pvd.vpn]
interface = "tun0"
[pvd.wifi]
interface = "wlan0"
[pvd.cell]
interface = "wwan0"
)";

// Answers each PvD's lookup from `answers` (by PvD id; none: NXDOMAIN), remembering who
// was asked for what.
struct PerPvdResolver : mif::dns::Lookups {
  std::vector<std::vector<IpAddress>> answers = std::vector<std::vector<IpAddress>>(3);
  std::vector<std::pair<std::vector<PvdId>, std::string>> asked;
  Answer lookup(const mif::view::Snapshot&, std::span<const PvdId> order, std::string_view name,
                bool want4, bool, std::string_view) override {
    asked.emplace_back(std::vector<PvdId>(order.begin(), order.end()), std::string(name));
    Answer a;
    a.pvd = order.empty() ? -1 : int(order[0]);
    a.qname = a.owner = std::string(name);
    a.ttl = 60;
    a.status = Status::NotFound;
    if (a.pvd >= 0 && !answers[size_t(a.pvd)].empty()) {
      a.status = Status::Ok;
      for (const IpAddress& x : answers[size_t(a.pvd)])
        if (want4 == (x.family == mif::policy::Family::V4)) a.addresses.push_back(x);
      if (a.addresses.empty()) a.status = Status::NoData;
    }
    return a;
  }
  Answer reverse(const mif::view::Snapshot&, std::span<const PvdId> order, const IpAddress&,
                 std::string_view) override {
    asked.emplace_back(std::vector<PvdId>(order.begin(), order.end()), "PTR");
    Answer a;
    a.pvd = order.empty() ? -1 : int(order[0]);
    a.status = Status::NotFound;
    return a;
  }
  RawAnswer raw(const mif::view::Snapshot&, std::span<const PvdId>, std::string_view, int, int,
                bool, std::string_view) override {
    return RawAnswer{};
  }
};

class TagFailover : public EngineTest {
 protected:
  TagFailover() : EngineTest("tag_failover_tests", kPolicy) {}
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    mif::dns::clearTags();
  }
  void TearDown() override {
    EngineTest::TearDown();
    mif::dns::clearTags();
  }

  Runtime* install(std::vector<std::string> pins, bool strict) {
    return EngineTest::install(std::move(pins), strict, [] { return pvdsOnLo(3); }, &resolver_);
  }

  static Endpoint to(const char* addr, uint16_t port) {
    Endpoint e;
    e.addr = ip(addr);
    e.port = port;
    e.socketFamily = AF_INET;
    return e;
  }
  static std::vector<PvdId> order(const Outcome& o) {
    return std::vector<PvdId>(o.decision.pvds.begin(), o.decision.pvds.begin() + o.decision.count);
  }

  PerPvdResolver resolver_;
};

TEST_F(TagFailover, TheTagsPvdFirstThenTheOrderWithoutTheTag) {
  Runtime* rt = install({"cell", "wifi", "vpn"}, false);
  mif::dns::recordTag(ip("203.0.113.80"), 1, "cdn.example.com", 60);  // wifi's answer
  const Outcome o = rt->connectLike(Call::Connect, tcp(), to("203.0.113.80", 80));
  EXPECT_EQ(o.decision.step, Step::DnsTag);
  EXPECT_FALSE(o.decision.strict);
  EXPECT_EQ(order(o), (std::vector<PvdId>{1, 2, 0}));  // wifi, then the pin's cell, vpn
  EXPECT_EQ(o.taggedPvd, 1);
  EXPECT_EQ(o.answerLen, 0u);  // the program's own connect: its own address
}

TEST_F(TagFailover, AnAttemptOnAnotherPvdConnectsToThatPvdsOwnAnswer) {
  Runtime* rt = install({"wifi", "cell", "vpn"}, false);
  mif::dns::recordTag(ip("203.0.113.80"), 1, "cdn.example.com", 60);
  resolver_.answers[2] = {ip("2001:db8:cc::200"), ip("203.0.113.200")};  // cell's
  const int fd = tcp();
  const Outcome first = rt->connectLike(Call::Connect, fd, to("203.0.113.80", 80));
  ASSERT_EQ(order(first), (std::vector<PvdId>{1, 2, 0}));
  Outcome next;
  const int fresh = rt->freshSocketFor(fd, first, 1, &next);
  ASSERT_GE(fresh, 0);
  fds_.push_back(fresh);
  // cell alone was asked for the tag's name, with the destination's family.
  ASSERT_EQ(resolver_.asked.size(), 1u);
  EXPECT_EQ(resolver_.asked[0].first, (std::vector<PvdId>{2}));
  EXPECT_EQ(resolver_.asked[0].second, "cdn.example.com");
  EXPECT_EQ(next.decision.pvds[0], 2);
  EXPECT_EQ(next.endpoint.addr, ip("203.0.113.200"));
  EXPECT_EQ(next.endpoint.port, 80);
  ASSERT_EQ(next.answerLen, sizeof(sockaddr_in));
  sockaddr_in asked{};
  const auto* sin = reinterpret_cast<const sockaddr_in*>(
      next.destination(reinterpret_cast<const sockaddr*>(&asked)));
  EXPECT_NE(static_cast<const void*>(sin), static_cast<const void*>(&asked));
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
  EXPECT_STREQ(text, "203.0.113.200");
  EXPECT_EQ(ntohs(sin->sin_port), 80);
  // vpn's DNS has no answer for the name: no attempt on vpn (no socket made).
  EXPECT_EQ(rt->freshSocketFor(fd, first, 2, &next), -1);
  EXPECT_EQ(resolver_.asked.back().first, (std::vector<PvdId>{0}));
}

TEST_F(TagFailover, AnAddressWithoutATagIsNeverReResolved) {
  // An address no PvD's DNS gave (a literal, or resolved outside mif): every attempt
  // connects to it, nothing is asked.
  Runtime* rt = install({"cell", "wifi"}, false);
  resolver_.answers[2] = {ip("203.0.113.200")};
  const int fd = tcp();
  const Outcome plain = rt->connectLike(Call::Connect, fd, to("203.0.113.9", 80));
  EXPECT_EQ(plain.decision.step, Step::Pin);
  EXPECT_EQ(plain.taggedPvd, -1);
  Outcome next;
  const int fresh = rt->freshSocketFor(tcp(), plain, 1, &next);
  ASSERT_GE(fresh, 0);
  fds_.push_back(fresh);
  EXPECT_EQ(next.answerLen, 0u);
  EXPECT_EQ(next.endpoint.addr, ip("203.0.113.9"));
  EXPECT_TRUE(resolver_.asked.empty());
}

TEST_F(TagFailover, HealthNeverMovesTheTagsPvdFromTheFirstPlace) {
  Runtime* rt = install({"wifi", "cell"}, false);
  mif::dns::recordTag(ip("203.0.113.80"), 1, "cdn.example.com", 60);
  rt->health().report(1, mif::preload::HealthEvent::PathBroken, mif::preload::healthNowMs());
  // An address without a tag: wifi moved last, as before.
  const Outcome plain = rt->connectLike(Call::Connect, tcp(), to("203.0.113.9", 80));
  EXPECT_EQ(order(plain), (std::vector<PvdId>{2, 1}));
  // wifi's answer: the program's connect goes to wifi's address, so through wifi.
  const Outcome tagged = rt->connectLike(Call::Connect, tcp(), to("203.0.113.80", 80));
  EXPECT_EQ(order(tagged), (std::vector<PvdId>{1, 2}));
}

// A reverse lookup of an address a PvD's DNS gave asks that PvD first, failed or not, as
// its connects go there first; the rest of the order follows by health.
TEST_F(TagFailover, AReverseLookupOfATaggedAddressAsksTheTagsPvdFirst) {
  Runtime* rt = install({"wifi", "cell", "vpn"}, false);
  mif::dns::recordTag(ip("203.0.113.80"), 1, "cdn.example.com", 60);
  rt->health().report(1, mif::preload::HealthEvent::PathBroken, mif::preload::healthNowMs());
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  inet_pton(AF_INET, "203.0.113.80", &sa.sin_addr);
  char host[256];
  getnameinfo(reinterpret_cast<const sockaddr*>(&sa), sizeof sa, host, sizeof host, nullptr, 0,
              NI_NAMEREQD);
  ASSERT_EQ(resolver_.asked.size(), 1u);
  EXPECT_EQ(resolver_.asked[0].first, (std::vector<PvdId>{1, 2, 0}));
  inet_pton(AF_INET, "203.0.113.9", &sa.sin_addr);  // no tag: the failed wifi asked last
  getnameinfo(reinterpret_cast<const sockaddr*>(&sa), sizeof sa, host, sizeof host, nullptr, 0,
              NI_NAMEREQD);
  ASSERT_EQ(resolver_.asked.size(), 2u);
  EXPECT_EQ(resolver_.asked[1].first, (std::vector<PvdId>{2, 0, 1}));
}

TEST_F(TagFailover, AStrictListNeverGainsAPvd) {
  Runtime* rt = install({"wifi"}, true);
  mif::dns::recordTag(ip("203.0.113.80"), 2, "cdn.example.com", 60);  // cell's answer
  const Outcome o = rt->connectLike(Call::Connect, tcp(), to("203.0.113.80", 80));
  EXPECT_EQ(o.decision.step, Step::StrictPin);
  EXPECT_TRUE(o.decision.strict);
  EXPECT_EQ(order(o), (std::vector<PvdId>{1}));
  EXPECT_FALSE(rt->mayRace(o));
  // A strict list of two keeps its two, in its order, whatever the tag.
  Runtime* two = install({"wifi", "vpn"}, true);
  const Outcome p = two->connectLike(Call::Connect, tcp(), to("203.0.113.80", 80));
  EXPECT_EQ(order(p), (std::vector<PvdId>{1, 0}));
  resolver_.answers[0] = {ip("10.8.0.80")};
  Outcome next;
  const int fresh = two->freshSocketFor(tcp(), p, 1, &next);
  ASSERT_GE(fresh, 0);
  fds_.push_back(fresh);
  EXPECT_EQ(next.decision.pvds[0], 0);
  EXPECT_EQ(next.endpoint.addr, ip("10.8.0.80"));  // vpn's own answer, never cell's PvD
}

}  // namespace
