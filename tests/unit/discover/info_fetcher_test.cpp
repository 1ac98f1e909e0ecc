// When `mif discover` fetches the PvD Additional Information and what it keeps of it
// (tools/discover/info_fetcher.h), with a fake fetch run inline: only PvDs with the H
// flag, again on a new sequence number and at expiry, retried with back-off after a
// failure or a refused document, dropped when it no longer covers the announced prefixes.
#include "discover/info_fetcher.h"

#include <gtest/gtest.h>

#include "discover/pvd_table.h"

namespace mif::discover {
namespace {

policy::Prefix pfx(const char* s) { return *policy::Prefix::parse(s).prefix; }

constexpr int64_t kUnix = 1796623200;  // 2026-12-07T06:00:00Z

view::PublishedPvd pvd(const char* id, bool h, uint16_t seq = 1, const char* prefix = "2001:db8:b1::/64") {
  view::PublishedPvd p;
  p.id = id;
  p.http = h;
  p.sequence = seq;
  view::PublishedPvd::Prefix x;
  x.prefix = pfx(prefix);
  p.prefixes.push_back(x);
  return p;
}

std::string doc(const char* id, const char* expires = "2026-12-07T07:00:00Z") {
  return std::string(R"({"identifier":")") + id + R"(","expires":")" + expires +
         R"(","prefixes":["2001:db8:b0::/44"],"name":"B"})";
}

struct Harness {
  std::vector<FetchRequest> asked;
  std::string body;
  bool ok = true, abandon = false;
  std::vector<std::string> logs;
  InfoFetcher fetcher{[this](const FetchRequest& r) {
                        asked.push_back(r);
                        return FetchResult{ok, body, ok ? "" : abandon ? "HTTP status 404" : "connection refused",
                                           !ok && abandon};
                      },
                      [this](const std::string& l) { logs.push_back(l); }, false};
};

TEST(InfoFetcher, OnlyPvdsWithTheHFlagAreFetchedAndTheInformationKept) {
  Harness h;
  h.body = doc("b.example");
  std::vector<view::PublishedPvd> pvds = {pvd("a.example", false), pvd("b.example", true)};
  EXPECT_FALSE(h.fetcher.track(pvds, 1000'000));  // delay 0: at most 1 ms later
  h.fetcher.track(pvds, 1000'001);
  ASSERT_EQ(h.asked.size(), 1u);
  EXPECT_EQ(h.asked[0].id, "b.example");
  EXPECT_TRUE(h.fetcher.collect(pvds, 1000'001, kUnix));
  h.fetcher.decorate(pvds);
  EXPECT_FALSE(pvds[0].info);
  ASSERT_TRUE(pvds[1].info);
  EXPECT_EQ(pvds[1].info->name, "B");
  EXPECT_EQ(pvds[1].info->expires, 1000 + 3600);
  EXPECT_EQ(pvds[1].info->fetched, 1000);
  // Nothing more until the second half of its validity (RFC 8801 4.1, below).
  EXPECT_GE(h.fetcher.nextDueMs(), 1000'001 + (4600'000 - 1000'001) / 2);
  EXPECT_LE(h.fetcher.nextDueMs(), 4600'000);
  h.fetcher.track(pvds, 2000'000);
  EXPECT_EQ(h.asked.size(), 1u);
  // At expiry (no update was asked for: track was not called in between): dropped and
  // fetched again.
  EXPECT_TRUE(h.fetcher.track(pvds, 4600'000));
  EXPECT_EQ(h.asked.size(), 2u);
  EXPECT_NE(h.logs.back().find("expired"), std::string::npos);
}

TEST(InfoFetcher, FailuresAndRefusedDocumentsAreRetriedWithBackOff) {
  Harness h;
  h.ok = false;
  std::vector<view::PublishedPvd> pvds = {pvd("b.example", true)};
  h.fetcher.track(pvds, 0);
  h.fetcher.track(pvds, 1);
  ASSERT_EQ(h.asked.size(), 1u);
  EXPECT_FALSE(h.fetcher.collect(pvds, 1, kUnix));
  EXPECT_NE(h.logs.back().find("not used: connection refused (again in 2 s)"), std::string::npos)
      << h.logs.back();
  EXPECT_EQ(h.fetcher.nextDueMs(), 2001);
  h.fetcher.track(pvds, 2000);
  EXPECT_EQ(h.asked.size(), 1u);
  // A document for another PvD: refused, and the next wait is twice as long.
  h.ok = true;
  h.body = doc("a.example");
  h.fetcher.track(pvds, 2001);
  ASSERT_EQ(h.asked.size(), 2u);
  h.fetcher.collect(pvds, 2001, kUnix);
  EXPECT_NE(h.logs.back().find("refused: \"identifier\" a.example is not the PvD ID b.example "
                               "(again in 4 s)"),
            std::string::npos)
      << h.logs.back();
  h.fetcher.decorate(pvds);
  EXPECT_FALSE(pvds[0].info);
  // An expired one likewise.
  h.body = doc("b.example", "2026-12-07T05:00:00Z");
  h.fetcher.track(pvds, 6001);
  h.fetcher.collect(pvds, 6001, kUnix);
  EXPECT_NE(h.logs.back().find("refused: expired at 2026-12-07T05:00:00Z"), std::string::npos)
      << h.logs.back();
  EXPECT_EQ(h.fetcher.nextDueMs(), 6001 + 8000);
}

TEST(InfoFetcher, ANewSequenceNumberOrAPrefixNotCoveredDropsTheInformation) {
  Harness h;
  h.body = doc("b.example");
  std::vector<view::PublishedPvd> pvds = {pvd("b.example", true)};
  h.fetcher.track(pvds, 0);
  h.fetcher.track(pvds, 1);
  ASSERT_TRUE(h.fetcher.collect(pvds, 1, kUnix));
  // A fetch for sequence 1 finishing after sequence 2 was heard is not kept.
  pvds = {pvd("b.example", true, 2)};
  EXPECT_TRUE(h.fetcher.track(pvds, 10));
  h.fetcher.track(pvds, 11);
  ASSERT_EQ(h.asked.size(), 2u);
  EXPECT_EQ(h.asked[1].sequence, 2);
  ASSERT_TRUE(h.fetcher.collect(pvds, 11, kUnix));
  // The router now announces a prefix the document does not cover.
  pvds = {pvd("b.example", true, 2, "2001:db8:c::/64")};
  EXPECT_TRUE(h.fetcher.track(pvds, 20));
  EXPECT_NE(h.logs[h.logs.size() - 1].find("2001:db8:c::/64 is not covered"), std::string::npos);
  h.fetcher.collect(pvds, 20, kUnix);
  h.fetcher.decorate(pvds);
  EXPECT_FALSE(pvds[0].info);
  // The H flag gone: forgotten, nothing more fetched.
  pvds = {pvd("b.example", false, 2)};
  h.fetcher.track(pvds, 100'000);
  EXPECT_EQ(h.fetcher.nextDueMs(), INT64_MAX);
}

// RFC 8801 4.1: "In case the new value is greater than the value that was observed when
// the PvD Additional Information object was retrieved (using serial number arithmetic
// comparisons [RFC1982])": only a greater sequence number means the information changed;
// a smaller one (an older advertisement, another router of the PvD not yet updated)
// neither drops nor fetches it.
TEST(InfoFetcher, Rfc8801Section4_1_OnlyAGreaterSequenceNumberMeansTheInformationChanged) {
  EXPECT_TRUE(serialGreater(1, 0));
  EXPECT_FALSE(serialGreater(0, 1));
  EXPECT_FALSE(serialGreater(7, 7));
  EXPECT_TRUE(serialGreater(0, 65535));  // wraps around
  EXPECT_TRUE(serialGreater(0x7fff, 0));
  EXPECT_FALSE(serialGreater(0x8000, 0));  // undefined by RFC 1982: not greater
  Harness h;
  h.body = doc("b.example");
  std::vector<view::PublishedPvd> pvds = {pvd("b.example", true, 5)};
  h.fetcher.track(pvds, 0);
  h.fetcher.track(pvds, 1);
  ASSERT_TRUE(h.fetcher.collect(pvds, 1, kUnix));
  for (uint16_t older : {4, 5, 0, 32774}) {
    pvds = {pvd("b.example", true, older)};
    EXPECT_FALSE(h.fetcher.track(pvds, 10)) << older;
    h.fetcher.track(pvds, 20);
    h.fetcher.decorate(pvds);
    EXPECT_TRUE(pvds[0].info) << older;
  }
  EXPECT_EQ(h.asked.size(), 1u);
  pvds = {pvd("b.example", true, 6)};
  EXPECT_TRUE(h.fetcher.track(pvds, 30));
  h.fetcher.track(pvds, 31);
  ASSERT_EQ(h.asked.size(), 2u);
  EXPECT_EQ(h.asked[1].sequence, 6);
  ASSERT_TRUE(h.fetcher.collect(pvds, 31, kUnix));
  // Around the circle, each step ahead by less than half of it: 30000, 60000, then 0.
  int64_t t = 40;
  for (uint16_t next : {30000, 60000, 0}) {
    pvds = {pvd("b.example", true, next)};
    EXPECT_TRUE(h.fetcher.track(pvds, t)) << next;
    h.fetcher.track(pvds, t + 1);
    EXPECT_TRUE(h.fetcher.collect(pvds, t + 1, kUnix)) << next;
    t += 10;
  }
  EXPECT_EQ(h.asked.size(), 5u);
}

// RFC 8801 4.1: "it MUST delay the query by a random time between zero and 2**(Delay * 2)
// milliseconds": delay 5, at most 1024 ms; delay 0, at most 1 ms.
TEST(InfoFetcher, Rfc8801Section4_1_TheQueryWaitsBetweenZeroAnd2ToThe2TimesDelayMilliseconds) {
  bool later = false;
  for (int i = 0; i < 20; ++i) {
    Harness h;
    h.body = doc("b.example");
    std::vector<view::PublishedPvd> pvds = {pvd("b.example", true)};
    pvds[0].delay = 5;
    h.fetcher.track(pvds, 10'000);
    if (h.asked.empty()) {
      EXPECT_LE(h.fetcher.nextDueMs(), 10'000 + 1024);
      later |= h.fetcher.nextDueMs() > 10'001;
      h.fetcher.track(pvds, 10'000 + 1024);
    }
    EXPECT_EQ(h.asked.size(), 1u);
  }
  EXPECT_TRUE(later) << "20 waits of 0-1024 ms all at most 1 ms";
}

// RFC 8801 4.1: "When a host last retrieved an object at time A including a validity time
// B, and is configured to keep the object up to date, it MUST perform the update at a
// uniformly random time in the interval [(B-A)/2,B]" (from A): the information is kept
// meanwhile, replaced by the update, and kept until it expires when the update fails.
TEST(InfoFetcher, Rfc8801Section4_1_TheInformationIsUpdatedInTheSecondHalfOfItsValidity) {
  Harness h;
  h.body = doc("b.example");  // 07:00, 3600 s after kUnix
  std::vector<view::PublishedPvd> pvds = {pvd("b.example", true)};
  h.fetcher.track(pvds, 0);
  h.fetcher.track(pvds, 1);
  ASSERT_TRUE(h.fetcher.collect(pvds, 1, kUnix));  // A = 1 ms, B = 3600 s
  const int64_t due = h.fetcher.nextDueMs();
  EXPECT_GE(due, 1 + (3600'000 - 1) / 2);
  EXPECT_LE(due, 3600'000);
  h.fetcher.track(pvds, due - 1);
  EXPECT_EQ(h.asked.size(), 1u);
  // The update fails: the information stays until it expires, retried meanwhile.
  h.ok = false;
  EXPECT_FALSE(h.fetcher.track(pvds, due));
  ASSERT_EQ(h.asked.size(), 2u);
  EXPECT_FALSE(h.fetcher.collect(pvds, due, kUnix + due / 1000));
  EXPECT_NE(h.logs.back().find("the one kept expires at 2026-12-07T07:00:00Z"), std::string::npos)
      << h.logs.back();
  h.fetcher.decorate(pvds);
  ASSERT_TRUE(pvds[0].info);
  EXPECT_EQ(h.fetcher.nextDueMs(), std::min<int64_t>(due + 2000, 3600'000));
  // The next attempt gets a newer document: it replaces the one kept.
  h.ok = true;
  h.body = doc("b.example", "2026-12-07T08:00:00Z");
  h.fetcher.track(pvds, due + 2000);
  ASSERT_EQ(h.asked.size(), 3u);
  EXPECT_TRUE(h.fetcher.collect(pvds, due + 2000, kUnix + (due + 2000) / 1000));
  h.fetcher.decorate(pvds);
  ASSERT_TRUE(pvds[0].info);
  EXPECT_EQ(pvds[0].info->expiresUtc, "2026-12-07T08:00:00Z");
}

// RFC 8801 4.1: "If the HTTP status of the answer is greater than or equal to 400 the host
// MUST abandon and consider that there is no additional PvD information": not asked again
// (no back-off retries) until the sequence number grows.
TEST(InfoFetcher, Rfc8801Section4_1_AnHttpStatusOf400OrMoreMeansThereIsNone) {
  Harness h;
  h.ok = false;
  h.abandon = true;
  std::vector<view::PublishedPvd> pvds = {pvd("b.example", true)};
  h.fetcher.track(pvds, 0);
  h.fetcher.track(pvds, 1);
  ASSERT_EQ(h.asked.size(), 1u);
  EXPECT_FALSE(h.fetcher.collect(pvds, 1, kUnix));
  EXPECT_NE(h.logs.back().find("HTTP status 404 (not asked again until its sequence number changes)"),
            std::string::npos)
      << h.logs.back();
  EXPECT_EQ(h.fetcher.nextDueMs(), INT64_MAX);
  h.fetcher.track(pvds, 3600'000);
  EXPECT_EQ(h.asked.size(), 1u);
  h.ok = true;
  h.body = doc("b.example");
  pvds = {pvd("b.example", true, 2)};
  h.fetcher.track(pvds, 3600'000);
  h.fetcher.track(pvds, 3600'001);
  EXPECT_EQ(h.asked.size(), 2u);
}

// RFC 8801 4.4: "Hosts MUST verify that all prefixes in all the RA PIOs are covered by a
// prefix from the PvD Additional Information": the advertisement's own PIO as well as the
// one nested in its PvD option (3.4: both are the PvD's). A document that covers only the
// nested prefix is refused.
TEST(InfoFetcher, Rfc8801Section4_4_EveryPrefixOfTheAdvertisementMustBeCovered) {
  view::ra::Advertisement a;
  a.header.routerLifetime = 1800;
  view::ra::PvdOption p;
  p.id = "b.example";
  p.sequence = 1;
  p.http = true;
  view::ra::PrefixInfo nested;
  nested.prefix = pfx("2001:db8:b1::/64");
  nested.onLink = nested.autonomous = true;
  nested.validLifetime = nested.preferredLifetime = 600;
  p.options.prefixes.push_back(nested);
  a.pvd = p;
  view::ra::PrefixInfo outer = nested;
  outer.prefix = pfx("2001:db8:c::/64");
  a.options.prefixes.push_back(outer);
  PvdTable table;
  table.heard("eth0", *policy::IpAddress::parse("fe80::b"), a, 0);
  Harness h;
  h.body = doc("b.example");  // covers 2001:db8:b0::/44 only
  h.fetcher.track(table.pvds(), 0);
  h.fetcher.track(table.pvds(), 1);
  ASSERT_EQ(h.asked.size(), 1u);
  EXPECT_FALSE(h.fetcher.collect(table.pvds(), 1, kUnix));
  EXPECT_NE(h.logs.back().find("2001:db8:c::/64 is not covered"), std::string::npos) << h.logs.back();
  // A document covering both is kept.
  h.body = R"({"identifier":"b.example","expires":"2026-12-07T07:00:00Z",)"
           R"("prefixes":["2001:db8:b0::/44","2001:db8:c::/48"]})";
  h.fetcher.track(table.pvds(), 2001);
  ASSERT_EQ(h.asked.size(), 2u);
  EXPECT_TRUE(h.fetcher.collect(table.pvds(), 2001, kUnix));
}

}  // namespace
}  // namespace mif::discover
