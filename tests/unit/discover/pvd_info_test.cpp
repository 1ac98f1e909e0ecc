// The PvD Additional Information (tools/discover/pvd_info.h, RFC 8801 section 4): a valid
// document gives its fields; each malformed or misleading one is refused with its reason.
#include "discover/pvd_info.h"

#include <gtest/gtest.h>

namespace mif::discover {
namespace {

policy::Prefix pfx(const char* s) { return *policy::Prefix::parse(s).prefix; }

constexpr int64_t kNow = 1796623200;  // 2026-12-07T06:00:00Z
const std::vector<policy::Prefix> kAnnounced = {pfx("2001:db8:b1::/64"), pfx("2001:db8:b2::/64")};

bool parse(const std::string& json, view::PublishedPvd::Info& info, std::string& why,
           const char* id = "b.example") {
  return parsePvdInfo(json, id, kAnnounced, kNow, 1000, info, why);
}

TEST(PvdInfo, AValidDocumentGivesItsFields) {
  view::PublishedPvd::Info info;
  std::string why;
  ASSERT_TRUE(parse(R"({"identifier": "B.Example.", "expires": "2026-12-07T08:00:00+01:00",
      "prefixes": ["2001:db8:b0::/44"], "noInternet": true, "metered": false,
      "name": "Caf\u00e9 B", "dnsZones": ["b.example", "Corp.Example."],
      "x-vendor": {"anything": [1, 2]}})",
                    info, why))
      << why;
  EXPECT_EQ(info.expiresUtc, "2026-12-07T07:00:00Z");
  EXPECT_EQ(info.expires, 1000 + 3600);
  EXPECT_TRUE(info.noInternet);
  EXPECT_EQ(info.metered, std::optional<bool>(false));
  EXPECT_EQ(info.name, "Caf\xc3\xa9 B");
  EXPECT_EQ(info.dnsZones, (std::vector<std::string>{"b.example", "corp.example"}));
  EXPECT_EQ(info.prefixes, std::vector<policy::Prefix>{pfx("2001:db8:b0::/44")});
}

TEST(PvdInfo, ExpiresIsConvertedToBootSeconds) {
  view::PublishedPvd::Info info;
  std::string why;
  ASSERT_TRUE(parse(R"({"identifier":"b.example","expires":"2026-12-07T06:10:00.25Z",
                       "prefixes":["2001:db8:b1::/64","2001:db8:b2::/63"]})",
                    info, why))
      << why;
  EXPECT_EQ(info.expires, 1000 + 600);
  EXPECT_FALSE(info.noInternet);
  EXPECT_FALSE(info.metered);
  EXPECT_TRUE(info.name.empty());
}

TEST(PvdInfo, MalformedOrMisleadingDocumentsAreRefusedWithTheirReason) {
  const std::string ok = R"("expires":"2027-01-01T00:00:00Z","prefixes":["2001:db8:b0::/44"])";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not JSON: "},
      {"{", "not JSON: "},
      {R"({"identifier":"b.example",)" + ok + "} trailing", "not JSON: "},
      {"{\"identifier\":\"b.exa\xff\"," + ok + "}", "not JSON: "},
      {std::string(100, '[') + std::string(100, ']'), "nested more than 16 deep"},
      {"[1]", "not a JSON object"},
      {"{" + ok + "}", "no \"identifier\" string"},
      {R"({"identifier":7,)" + ok + "}", "no \"identifier\" string"},
      {R"({"identifier":"b..example",)" + ok + "}", "\"identifier\" is not a DNS name"},
      {R"({"identifier":"a.example",)" + ok + "}", "\"identifier\" a.example is not the PvD ID b.example"},
      {R"({"identifier":"b.example","prefixes":["2001:db8:b0::/44"]})", "no \"expires\" string"},
      {R"({"identifier":"b.example","expires":"2027-02-29T00:00:00Z","prefixes":[]})",
       "\"expires\" is not an RFC 3339 date-time"},
      {R"({"identifier":"b.example","expires":"2027-01-01 00:00:00Z","prefixes":[]})",
       "\"expires\" is not an RFC 3339 date-time"},
      {R"({"identifier":"b.example","expires":"2027-01-01T00:00:00","prefixes":[]})",
       "\"expires\" is not an RFC 3339 date-time"},
      {R"({"identifier":"b.example","expires":"2026-12-07T06:00:00Z","prefixes":[]})",
       "expired at 2026-12-07T06:00:00Z (now 2026-12-07T06:00:00Z)"},
      {R"({"identifier":"b.example","expires":"2027-01-01T00:00:00Z"})", "no \"prefixes\" array"},
      {R"({"identifier":"b.example","expires":"2027-01-01T00:00:00Z","prefixes":"2001:db8::/32"})",
       "no \"prefixes\" array"},
      {R"({"identifier":"b.example","expires":"2027-01-01T00:00:00Z","prefixes":[5]})",
       "\"prefixes\" holds a non-string"},
      {R"({"identifier":"b.example","expires":"2027-01-01T00:00:00Z","prefixes":["10.0.0.0/8"]})",
       "\"prefixes\": not an IPv6 prefix: \"10.0.0.0/8\""},
      {R"({"identifier":"b.example","expires":"2027-01-01T00:00:00Z","prefixes":["2001:db8:b0::1/44"]})",
       "\"prefixes\": not an IPv6 prefix: \"2001:db8:b0::1/44\""},
      {R"({"identifier":"b.example","expires":"2027-01-01T00:00:00Z","prefixes":["2001:db8:b1::/64"]})",
       "announced prefix 2001:db8:b2::/64 is not covered by the document's prefixes"},
      {R"({"identifier":"b.example",)" + ok + R"(,"noInternet":"yes"})", "\"noInternet\" is not a boolean"},
      {R"({"identifier":"b.example",)" + ok + R"(,"metered":1})", "\"metered\" is not a boolean"},
      {R"({"identifier":"b.example",)" + ok + R"(,"name":["x"]})", "\"name\" is not a string"},
      {R"({"identifier":"b.example",)" + ok + R"(,"name":"a\nb"})", "\"name\" holds a control character"},
      {R"({"identifier":"b.example",)" + ok + R"(,"dnsZones":"b.example"})", "\"dnsZones\" is not an array"},
      {R"({"identifier":"b.example",)" + ok + R"(,"dnsZones":["b example"]})",
       "\"dnsZones\": not a DNS name: \"b example\""},
      {std::string(kMaxPvdInfoBytes + 1, ' '), "document of 65537 bytes (at most 65536)"},
  };
  for (const auto& [json, reason] : cases) {
    view::PublishedPvd::Info info;
    std::string why;
    EXPECT_FALSE(parse(json, info, why)) << json;
    if (reason.ends_with(": "))
      EXPECT_TRUE(why.starts_with(reason)) << json << ": " << why;
    else
      EXPECT_EQ(why, reason) << json;
  }
}

TEST(PvdInfo, Rfc3339DateTimes) {
  int64_t t = 0;
  EXPECT_TRUE(parseRfc3339("1970-01-01T00:00:00Z", t));
  EXPECT_EQ(t, 0);
  EXPECT_TRUE(parseRfc3339("2024-02-29t23:59:60z", t));  // leap day, leap second
  EXPECT_EQ(formatRfc3339(t), "2024-02-29T23:59:59Z");
  EXPECT_TRUE(parseRfc3339("2026-12-07T01:00:00-05:00", t));
  EXPECT_EQ(t, kNow);
  EXPECT_EQ(formatRfc3339(kNow), "2026-12-07T06:00:00Z");
  for (const char* bad : {"2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-07T24:00:00Z",
                          "2026-12-07T06:00:00.Z", "2026-12-07T06:00:00+0100", "2026-12-07",
                          "2026-12-07T06:00:00Zx", "+026-12-07T06:00:00Z"})
    EXPECT_FALSE(parseRfc3339(bad, t)) << bad;
}

}  // namespace
}  // namespace mif::discover
