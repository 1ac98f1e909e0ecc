// Which PvD's reply the --enforce DNS stub gives the program (tools/enforce/dns_stub.h):
// the order of the run's resolver PvDs, as its resolv.conf order would have given it.
#include "enforce/dns_stub.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mif/dns/wire.h"

namespace mif::enforce {
namespace {

const UpstreamState kPending{false, false, false};
const UpstreamState kAnswered{true, true, true};       // NOERROR / NXDOMAIN
const UpstreamState kServFail{true, false, true};      // SERVFAIL, REFUSED...
const UpstreamState kSilent{true, false, false};       // every server timed out

TEST(DnsStubAnswer, TheFirstPvdsAnswerEvenWhenALaterOneCameFirst) {
  EXPECT_EQ(pickAnswer({kPending, kAnswered}), kAnswerWait) << "cellular's answer waits for Wi-Fi's";
  EXPECT_EQ(pickAnswer({kAnswered, kPending}), 0u) << "Wi-Fi's goes at once";
  EXPECT_EQ(pickAnswer({kAnswered, kAnswered}), 0u);
}

TEST(DnsStubAnswer, AFailedPvdPassesToTheNext) {
  EXPECT_EQ(pickAnswer({kServFail, kAnswered}), 1u);
  EXPECT_EQ(pickAnswer({kSilent, kAnswered}), 1u);
  EXPECT_EQ(pickAnswer({kSilent, kPending}), kAnswerWait);
  EXPECT_EQ(pickAnswer({kSilent, kServFail, kAnswered}), 2u);
}

TEST(DnsStubAnswer, NothingConclusiveGivesTheFirstReplyOrNone) {
  EXPECT_EQ(pickAnswer({kSilent, kServFail}), 1u) << "the SERVFAIL there was";
  EXPECT_EQ(pickAnswer({kServFail, kServFail}), 0u);
  EXPECT_EQ(pickAnswer({kSilent, kSilent}), kAnswerNone) << "the program times out, as without mif";
  EXPECT_EQ(pickAnswer({}), kAnswerNone);
}

// What the stub makes of a PvD server's reply (upstreamReply, dns_message.h): the query's
// own bytes turned into a response with `rcode`, the flags given, and A records after it.
std::vector<uint8_t> reply(const std::string& name, uint16_t type, uint16_t id, int rcode,
                           std::vector<std::vector<uint8_t>> aRecords = {}, bool truncated = false) {
  std::vector<uint8_t> m = dns::wire::buildQuery(name, type, id);
  m[2] = static_cast<uint8_t>(0x81 | (truncated ? 0x02 : 0));
  m[3] = static_cast<uint8_t>(0x80 | rcode);
  m[7] = static_cast<uint8_t>(aRecords.size());
  for (const auto& a : aRecords) {
    const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4};
    m.insert(m.end(), rr, rr + sizeof rr);
    m.insert(m.end(), a.begin(), a.end());
  }
  return m;
}

policy::IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  policy::IpAddress ip;
  ip.family = policy::Family::V4;
  ip.bytes[0] = a;
  ip.bytes[1] = b;
  ip.bytes[2] = c;
  ip.bytes[3] = d;
  return ip;
}

constexpr uint64_t kNow = 1'000'000;

TEST(DnsStubReply, AnAnswerIsRememberedForItsPvdWhateverTheCaseOfItsName) {
  DnsMemory memory;
  EXPECT_EQ(upstreamReply(reply("WWW.Example.com", 1, 0x4242, 0, {{192, 0, 2, 7}}), 0x4242,
                          "www.example.com", 1, 1, 1, memory, kNow),
            ReplyUse::Conclusive);
  policy::IpAddress got;
  ASSERT_EQ(memory.answer(1, "www.example.com", policy::Family::V4, kNow, &got), DnsMemory::Known::Address);
  EXPECT_EQ(got, v4(192, 0, 2, 7));
  EXPECT_EQ(memory.answer(0, "www.example.com", policy::Family::V4, kNow, &got), DnsMemory::Known::Unknown)
      << "another PvD's answer is its own";
}

TEST(DnsStubReply, WhatIsNotTheAnswerToTheQueryIsIgnoredAndTeachesNothing) {
  DnsMemory memory;
  const auto good = reply("a.example", 1, 7, 0, {{192, 0, 2, 1}});
  EXPECT_EQ(upstreamReply(good, 8, "a.example", 1, 1, 0, memory, kNow), ReplyUse::Ignore) << "another ID";
  EXPECT_EQ(upstreamReply(good, 7, "b.example", 1, 1, 0, memory, kNow), ReplyUse::Ignore) << "another name";
  EXPECT_EQ(upstreamReply(good, 7, "a.example", 28, 1, 0, memory, kNow), ReplyUse::Ignore) << "another type";
  auto query = good;
  query[2] &= 0x7f;
  EXPECT_EQ(upstreamReply(query, 7, "a.example", 1, 1, 0, memory, kNow), ReplyUse::Ignore) << "a query";
  EXPECT_EQ(upstreamReply(std::vector<uint8_t>(good.begin(), good.begin() + 11), 7, "a.example", 1, 1, 0,
                          memory, kNow),
            ReplyUse::Ignore)
      << "shorter than a header";
  EXPECT_EQ(memory.size(), 0u);
}

TEST(DnsStubReply, ServfailPassesOnAndNxdomainEndsTheSearch) {
  DnsMemory memory;
  EXPECT_EQ(upstreamReply(reply("a.example", 1, 7, 2), 7, "a.example", 1, 1, 0, memory, kNow),
            ReplyUse::Inconclusive);
  EXPECT_EQ(upstreamReply(reply("a.example", 1, 7, 5), 7, "a.example", 1, 1, 0, memory, kNow),
            ReplyUse::Inconclusive);
  EXPECT_EQ(memory.size(), 0u) << "the stub records the PvD's failure once it is done";
  EXPECT_EQ(upstreamReply(reply("a.example", 1, 7, 3), 7, "a.example", 1, 1, 0, memory, kNow),
            ReplyUse::Conclusive);
  policy::IpAddress got;
  EXPECT_EQ(memory.answer(0, "a.example", policy::Family::V4, kNow, &got), DnsMemory::Known::NoAddress);
}

TEST(DnsStubReply, ATruncatedAnswerGoesToTheProgramButOnlyItsAddressesAreRemembered) {
  DnsMemory memory;
  policy::IpAddress got;
  EXPECT_EQ(upstreamReply(reply("a.example", 1, 7, 0, {}, true), 7, "a.example", 1, 1, 0, memory, kNow),
            ReplyUse::Conclusive)
      << "the program retries over TCP itself";
  EXPECT_EQ(memory.answer(0, "a.example", policy::Family::V4, kNow, &got), DnsMemory::Known::Unknown)
      << "an empty truncated answer says nothing";
  EXPECT_EQ(upstreamReply(reply("a.example", 1, 7, 0, {{192, 0, 2, 9}}, true), 7, "a.example", 1, 1, 0,
                          memory, kNow),
            ReplyUse::Conclusive);
  EXPECT_EQ(memory.answer(0, "a.example", policy::Family::V4, kNow, &got), DnsMemory::Known::Address);
}

TEST(DnsStubQuery, OnlyAQueryWithAQuestionIsForwarded) {
  std::string name;
  uint16_t type = 0, cls = 0;
  const auto q = dns::wire::buildQuery("Host.Example.", 28, 9);
  ASSERT_TRUE(programQuery(q, &name, &type, &cls));
  EXPECT_EQ(name, "Host.Example");
  EXPECT_EQ(type, 28);
  EXPECT_EQ(cls, 1);
  auto answer = q;
  answer[2] |= 0x80;
  EXPECT_FALSE(programQuery(answer, &name, &type, &cls)) << "a response sent to the stub";
  auto noQuestion = q;
  noQuestion[5] = 0;
  EXPECT_FALSE(programQuery(noQuestion, &name, &type, &cls));
  EXPECT_FALSE(programQuery(std::vector<uint8_t>(q.begin(), q.begin() + 11), &name, &type, &cls));
}

}  // namespace
}  // namespace mif::enforce
