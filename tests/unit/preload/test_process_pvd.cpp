// The process default (mif_process_set_pvd inside `mif run`, process_pvd.h): what it does
// to the policy's decisions, and the datagram cache's key.
#include <gtest/gtest.h>

#include "process_pvd.h"

namespace mif::preload {
namespace {

view::Snapshot snapshot() {
  view::Snapshot s;
  s.generation = 7;
  s.pvds.resize(3);
  for (int i = 0; i < 3; ++i) {
    s.pvds[i].id = static_cast<policy::PvdId>(i);
    s.pvds[i].ifname = "if" + std::to_string(i);
    s.pvds[i].ifindex = i + 2;
    s.pvds[i].state.present = true;
    s.pvds[i].state.v4 = i != 2;  // PvD 2 is down
  }
  return s;
}

policy::Decision decision(policy::Step step, bool strict, policy::PvdId pvd) {
  policy::Decision d;
  d.step = step;
  d.strict = strict;
  d.pvds[0] = pvd;
  d.count = 1;
  d.rule = step == policy::Step::Rule || step == policy::Step::Locked ? 0 : -1;
  return d;
}

class ProcessPvd : public ::testing::Test {
 protected:
  void TearDown() override { process::set(-1); }
};

TEST_F(ProcessPvd, NoDefaultChangesNothing) {
  const view::Snapshot s = snapshot();
  policy::Decision d = decision(policy::Step::Rule, false, 0);
  process::apply(&d, s);
  EXPECT_EQ(d.step, policy::Step::Rule);
  EXPECT_EQ(d.pvds[0], 0u);
  EXPECT_EQ(d.rule, 0);
}

TEST_F(ProcessPvd, ReplacesANonStrictDecisionAndNothingMatched) {
  const view::Snapshot s = snapshot();
  process::set(1);
  EXPECT_EQ(process::get(), 1);
  for (policy::Step step : {policy::Step::Rule, policy::Step::DnsTag, policy::Step::Pin,
                            policy::Step::Default, policy::Step::None}) {
    policy::Decision d = decision(step, false, 0);
    if (step == policy::Step::None) d.count = 0;
    process::apply(&d, s);
    EXPECT_EQ(d.step, policy::Step::Pin);
    ASSERT_EQ(d.count, 1u);
    EXPECT_EQ(d.pvds[0], 1u);
    EXPECT_FALSE(d.strict);  // a default: no fallback is forbidden
    EXPECT_EQ(d.rule, -1);
  }
}

TEST_F(ProcessPvd, StrictAndLockedDecisionsWin) {
  const view::Snapshot s = snapshot();
  process::set(1);
  policy::Decision strict = decision(policy::Step::StrictPin, true, 0);
  process::apply(&strict, s);
  EXPECT_EQ(strict.step, policy::Step::StrictPin);
  EXPECT_EQ(strict.pvds[0], 0u);
  policy::Decision strictRule = decision(policy::Step::Rule, true, 0);
  process::apply(&strictRule, s);
  EXPECT_EQ(strictRule.pvds[0], 0u);
  policy::Decision locked = decision(policy::Step::Locked, false, 0);
  process::apply(&locked, s);
  EXPECT_EQ(locked.step, policy::Step::Locked);
  EXPECT_EQ(locked.pvds[0], 0u);
}

TEST_F(ProcessPvd, AnUnusableDefaultLeavesItToTheKernel) {
  const view::Snapshot s = snapshot();
  for (int32_t id : {2, 9}) {  // down; beyond the view
    process::set(id);
    policy::Decision d = decision(policy::Step::Default, false, 0);
    process::apply(&d, s);
    EXPECT_EQ(d.step, policy::Step::Pin);
    EXPECT_EQ(d.count, 0u);
    EXPECT_FALSE(d.blocked());
  }
}

TEST_F(ProcessPvd, CacheKeyMovesWithEveryChange) {
  const uint64_t before = process::cacheKey(7);
  EXPECT_NE(before, 0u);
  process::set(1);
  const uint64_t after = process::cacheKey(7);
  EXPECT_NE(after, before);
  EXPECT_NE(process::cacheKey(8), after);
  process::set(1);  // the same PvD again still invalidates (cheap, and never stale)
  EXPECT_NE(process::cacheKey(7), after);
}

}  // namespace
}  // namespace mif::preload
