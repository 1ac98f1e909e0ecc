// Per-PvD health (preload/src/health.h): the state machine and its back-off, with the
// clock injected as plain milliseconds.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "health.h"

namespace mif::preload {
namespace {

using policy::Decision;

Decision decisionOf(std::initializer_list<policy::PvdId> ids) {
  Decision d;
  for (policy::PvdId id : ids) d.pvds[d.count++] = id;
  d.step = policy::Step::Pin;
  return d;
}

TEST(Health, EveryPvdStartsUsable) {
  HealthTable h;
  EXPECT_TRUE(h.allUsable());
  EXPECT_EQ(h.state(0), HealthState::Usable);
  EXPECT_FALSE(h.avoid(0, 0));
  // A success on a PvD that never failed changes nothing (and writes nothing).
  EXPECT_FALSE(h.report(0, HealthEvent::Success, 10).changed);
}

TEST(Health, APathBrokenFailsAtOnceAndTheBackOffDoublesUpTo64s) {
  HealthTable h;
  uint64_t now = 1000;
  HealthChange c = h.report(3, HealthEvent::PathBroken, now);
  EXPECT_TRUE(c.changed);
  EXPECT_EQ(c.from, HealthState::Usable);
  EXPECT_EQ(c.to, HealthState::Failed);
  EXPECT_EQ(c.failures, 1u);
  EXPECT_EQ(c.retryInMs, 1000u);
  EXPECT_FALSE(h.allUsable());
  EXPECT_TRUE(h.avoid(3, now + 999));
  EXPECT_FALSE(h.avoid(3, now + 1000));  // back-off elapsed: tried again
  uint32_t expected = 2000;
  for (uint32_t n = 2; n <= 10; ++n) {
    now += 100000;  // each failure comes after the previous back-off
    c = h.report(3, HealthEvent::PathBroken, now);
    EXPECT_EQ(c.failures, n);
    EXPECT_EQ(c.retryInMs, expected) << n;
    expected = expected * 2 > 64000 ? 64000 : expected * 2;
  }
  EXPECT_EQ(HealthTable::backoffMs(1000), 64000u);
}

TEST(Health, FailuresDuringTheBackOffDoNotLengthenIt) {
  HealthTable h;
  ASSERT_TRUE(h.report(1, HealthEvent::PathBroken, 0).changed);
  // Connects already under way when the PvD failed report the same outage.
  EXPECT_FALSE(h.report(1, HealthEvent::PathBroken, 10).changed);
  EXPECT_FALSE(h.report(1, HealthEvent::Timeout, 20).changed);
  EXPECT_EQ(h.failures(1), 1u);
  EXPECT_FALSE(h.avoid(1, 1000));
  // The retry after the back-off fails again: 2 s.
  HealthChange c = h.report(1, HealthEvent::PathBroken, 1000);
  EXPECT_TRUE(c.changed);
  EXPECT_EQ(c.from, HealthState::Failed);
  EXPECT_EQ(c.retryInMs, 2000u);
}

TEST(Health, OneTimeoutDegradesTwoFail) {
  HealthTable h;
  HealthChange c = h.report(2, HealthEvent::Timeout, 0);
  EXPECT_EQ(c.to, HealthState::Degraded);
  EXPECT_FALSE(h.avoid(2, 0));  // degraded is still tried first
  EXPECT_FALSE(h.allUsable());
  c = h.report(2, HealthEvent::Timeout, 5);
  EXPECT_EQ(c.from, HealthState::Degraded);
  EXPECT_EQ(c.to, HealthState::Failed);
  EXPECT_EQ(c.retryInMs, 2000u);  // the second consecutive failure
  EXPECT_TRUE(h.avoid(2, 1999));
}

TEST(Health, ASuccessMakesItUsableAgain) {
  HealthTable h;
  h.report(4, HealthEvent::Timeout, 0);
  HealthChange c = h.report(4, HealthEvent::Success, 1);
  EXPECT_EQ(c.from, HealthState::Degraded);
  EXPECT_EQ(c.to, HealthState::Usable);
  EXPECT_TRUE(h.allUsable());
  h.report(4, HealthEvent::PathBroken, 2);
  c = h.report(4, HealthEvent::Success, 3000);
  EXPECT_TRUE(c.changed);
  EXPECT_EQ(c.to, HealthState::Usable);
  EXPECT_EQ(h.failures(4), 0u);
  // The count starts over: the next failure backs off 1 s again.
  EXPECT_EQ(h.report(4, HealthEvent::PathBroken, 4000).retryInMs, 1000u);
}

// Active probes (the policy's `probe`, probe_watch.h): a probe that found nothing fails the
// PvD until a probe succeeds, whatever the time; the program's own failures meanwhile
// change nothing.
TEST(Health, AProbeDownFailsUntilAProbeSucceeds) {
  HealthTable h;
  HealthChange c = h.report(5, HealthEvent::ProbeDown, 100);
  EXPECT_TRUE(c.changed);
  EXPECT_EQ(c.from, HealthState::Usable);
  EXPECT_EQ(c.to, HealthState::Failed);
  EXPECT_TRUE(c.untilProbe);
  EXPECT_EQ(c.retryInMs, 0u);
  EXPECT_TRUE(h.byProbe(5));
  EXPECT_TRUE(h.avoid(5, 100));
  EXPECT_TRUE(h.avoid(5, 100 + 3600 * 1000));  // no back-off retry: only a probe ends it
  // The next rounds say the same: no change, nothing to trace.
  EXPECT_FALSE(h.report(5, HealthEvent::ProbeDown, 2000).changed);
  EXPECT_FALSE(h.report(5, HealthEvent::PathBroken, 2100).changed);
  EXPECT_FALSE(h.report(5, HealthEvent::Timeout, 2200).changed);
  c = h.report(5, HealthEvent::ProbeOk, 3000);
  EXPECT_TRUE(c.changed);
  EXPECT_EQ(c.from, HealthState::Failed);
  EXPECT_EQ(c.to, HealthState::Usable);
  EXPECT_FALSE(h.avoid(5, 3000));
  EXPECT_TRUE(h.allUsable());
  EXPECT_EQ(h.failures(5), 0u);
  EXPECT_FALSE(h.report(5, HealthEvent::ProbeOk, 4000).changed);  // usable stays, writes nothing
}

TEST(Health, AProbeOkDoesNotEndAFailureTheProgramFound) {
  HealthTable h;
  ASSERT_TRUE(h.report(6, HealthEvent::PathBroken, 0).changed);
  // The probe's target answered, the program's destination did not: the back-off runs on.
  EXPECT_FALSE(h.report(6, HealthEvent::ProbeOk, 10).changed);
  EXPECT_TRUE(h.avoid(6, 10));
  EXPECT_FALSE(h.byProbe(6));
  // A probe that finds it down holds it failed past the back-off.
  HealthChange c = h.report(6, HealthEvent::ProbeDown, 20);
  EXPECT_TRUE(c.changed);
  EXPECT_TRUE(c.untilProbe);
  EXPECT_EQ(c.failures, 2u);
  EXPECT_TRUE(h.avoid(6, 5000));
  // A connect that gets through (every other PvD failed too) makes it usable at once.
  c = h.report(6, HealthEvent::Success, 6000);
  EXPECT_EQ(c.to, HealthState::Usable);
  EXPECT_FALSE(h.byProbe(6));
}

TEST(Health, APoorProbeDegradesAndAnOkProbeEndsADegradation) {
  HealthTable h;
  HealthChange c = h.report(7, HealthEvent::ProbePoor, 0);
  EXPECT_TRUE(c.changed);
  EXPECT_EQ(c.to, HealthState::Degraded);
  EXPECT_FALSE(h.avoid(7, 0));  // still tried in its place
  EXPECT_FALSE(h.report(7, HealthEvent::ProbePoor, 1000).changed);
  c = h.report(7, HealthEvent::ProbeOk, 2000);
  EXPECT_EQ(c.to, HealthState::Usable);
  // A degradation by the program's timeouts ends with an ok probe too.
  h.report(7, HealthEvent::Timeout, 3000);
  EXPECT_EQ(h.report(7, HealthEvent::ProbeOk, 3100).to, HealthState::Usable);
  // Poor after down: degraded, tried in its place again.
  h.report(7, HealthEvent::ProbeDown, 4000);
  c = h.report(7, HealthEvent::ProbePoor, 5000);
  EXPECT_EQ(c.from, HealthState::Failed);
  EXPECT_EQ(c.to, HealthState::Degraded);
  EXPECT_FALSE(h.avoid(7, 5000));
  // A poor probe leaves a back-off of the program's own alone.
  h.report(8, HealthEvent::PathBroken, 0);
  EXPECT_FALSE(h.report(8, HealthEvent::ProbePoor, 10).changed);
}

TEST(Health, DemoteMovesFailedPvdsToTheEndUntilTheirBackOffElapses) {
  HealthTable h;
  Decision d = decisionOf({0, 1, 2});
  h.demote(&d, 0);
  EXPECT_EQ((std::vector<policy::PvdId>{d.pvds[0], d.pvds[1], d.pvds[2]}),
            (std::vector<policy::PvdId>{0, 1, 2}));
  h.report(0, HealthEvent::PathBroken, 0);
  d = decisionOf({0, 1, 2});
  h.demote(&d, 500);
  EXPECT_EQ((std::vector<policy::PvdId>{d.pvds[0], d.pvds[1], d.pvds[2]}),
            (std::vector<policy::PvdId>{1, 2, 0}));
  EXPECT_EQ(d.count, 3);  // never dropped
  d = decisionOf({0, 1, 2});
  h.demote(&d, 1000);  // retried after the back-off
  EXPECT_EQ(d.pvds[0], 0);
  // Every PvD failed: the order stands.
  h.report(1, HealthEvent::PathBroken, 0);
  h.report(2, HealthEvent::PathBroken, 0);
  d = decisionOf({2, 0, 1});
  h.demote(&d, 10);
  EXPECT_EQ((std::vector<policy::PvdId>{d.pvds[0], d.pvds[1], d.pvds[2]}),
            (std::vector<policy::PvdId>{2, 0, 1}));
}

TEST(Health, DemoteSaysWhetherItMovedAnythingAndChangesCountEveryChange) {
  HealthTable h;
  Decision d = decisionOf({0, 1});
  EXPECT_FALSE(h.demote(&d, 0));
  const uint32_t before = h.changes();
  h.report(0, HealthEvent::PathBroken, 0);
  EXPECT_EQ(h.changes(), before + 1);
  EXPECT_TRUE(h.demote(&d, 10));
  d = decisionOf({1, 0});  // already last
  EXPECT_FALSE(h.demote(&d, 10));
  h.report(0, HealthEvent::PathBroken, 20);  // during the back-off: no change
  EXPECT_EQ(h.changes(), before + 1);
  h.report(0, HealthEvent::Success, 2000);
  EXPECT_EQ(h.changes(), before + 2);
}

TEST(Health, UntrackedIdsAreAlwaysUsable) {
  HealthTable h;
  EXPECT_FALSE(h.report(HealthTable::kSlots, HealthEvent::PathBroken, 0).changed);
  EXPECT_FALSE(h.avoid(HealthTable::kSlots, 0));
  EXPECT_TRUE(h.allUsable());
}

TEST(Health, ConcurrentReportsKeepTheCountConsistent) {
  HealthTable h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&h, t] {
      for (uint64_t i = 0; i < 10000; ++i) {
        const policy::PvdId pvd = static_cast<policy::PvdId>(i % 4);
        h.report(pvd, (i + t) % 3 == 0 ? HealthEvent::Success : HealthEvent::Timeout, i);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (policy::PvdId p = 0; p < 4; ++p) h.report(p, HealthEvent::Success, 1u << 30);
  EXPECT_TRUE(h.allUsable());
}

}  // namespace
}  // namespace mif::preload
