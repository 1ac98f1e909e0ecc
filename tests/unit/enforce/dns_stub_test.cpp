// Which PvD's reply the --enforce DNS stub gives the program (tools/enforce/dns_stub.h):
// the order of the run's resolver PvDs, as its resolv.conf order would have given it.
#include "enforce/dns_stub.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mif::enforce
