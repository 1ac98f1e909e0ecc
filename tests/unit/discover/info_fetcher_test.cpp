// When `mif discover` fetches the PvD Additional Information and what it keeps of it
// (tools/discover/info_fetcher.h), with a fake fetch run inline: only PvDs with the H
// flag, again on a new sequence number and at expiry, retried with back-off after a
// failure or a refused document, dropped when it no longer covers the announced prefixes.
#include "discover/info_fetcher.h"

#include <gtest/gtest.h>

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
  bool ok = true;
  std::vector<std::string> logs;
  InfoFetcher fetcher{[this](const FetchRequest& r) {
                        asked.push_back(r);
                        return FetchResult{ok, body, ok ? "" : "connection refused"};
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
  // Nothing more until it expires.
  EXPECT_EQ(h.fetcher.nextDueMs(), (1000 + 3600) * 1000);
  h.fetcher.track(pvds, 2000'000);
  EXPECT_EQ(h.asked.size(), 1u);
  // At expiry: dropped and fetched again.
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

}  // namespace
}  // namespace mif::discover
