#pragma once
// Per-PvD health (issue 29), per process and shared by its threads: what the program's own
// traffic says of each PvD. The library keeps one per program (preload/src/health.h); `mif
// run --enforce`'s supervisor one per supervised run, fed by the connects it holds. Fed by connect results (a path broken on the way: ENETUNREACH,
// EHOSTUNREACH; a connect timeout) and DNS timeouts; read by the runtime, which moves a
// failed PvD to the end of a decision's list until its back-off has elapsed, and by the
// connect hook, which then fails over to the next PvD.
//
//   usable ──path broken──────────────────────▶ failed (retry at now + back-off)
//   usable ──timeout──▶ degraded ──timeout────▶ failed
//   any    ──success──▶ usable (failures = 0)
//   failed, back-off elapsed: tried again (its place in the list comes back); another
//   failure doubles the back-off (1 s, 2 s, 4 s ... 64 s), a success makes it usable.
//   Active probes (the policy's `probe` key, probe_watch.cpp): a probe that found the PvD
//   down fails it until a probe succeeds (no back-off retry), a poor one degrades it; a
//   probe's success ends what a probe said (and a degradation), not a failure that the
//   program's own connects found, whose back-off runs on.
//
// Threading: any thread, and a signal handler. Each PvD's state is one 64-bit atomic word
// (state, consecutive failures, retry time) changed by compare-and-swap: no lock, no
// allocation; the thread whose CAS made a change gets it back (to trace it once). The
// clock is the caller's (`nowMs`, monotonic milliseconds), so tests inject it.
#include <atomic>
#include <cerrno>
#include <cstdint>

#include "mif/view/path_error.h"

#include "mif/policy/policy.h"

namespace mif::view {

enum class HealthState : uint8_t { Usable = 0, Degraded = 1, Failed = 2 };
const char* healthName(HealthState) noexcept;

enum class HealthEvent : uint8_t {
  Success,     // a connect through the PvD completed (or was refused by the server)
  PathBroken,  // ENETUNREACH, EHOSTUNREACH: a router on the way said no
  Timeout,     // a connect (ETIMEDOUT) or every DNS server of the PvD timed out
  ProbeDown,   // an active probe: nothing answered through the PvD
  ProbePoor,   // an active probe: half or more of its attempts lost
  ProbeOk,     // an active probe: answered
};

struct HealthChange {
  bool changed = false;
  HealthState from = HealthState::Usable;
  HealthState to = HealthState::Usable;
  uint32_t failures = 0;    // consecutive failures after the event
  uint64_t retryInMs = 0;   // failed: until the back-off elapses
  bool untilProbe = false;  // failed or degraded by a probe: until a probe succeeds
};

class HealthTable {
 public:
  // PvD ids at or above this are not tracked (always usable).
  static constexpr unsigned kSlots = 256;
  static constexpr uint32_t kBaseBackoffMs = 1000;
  static constexpr uint32_t kMaxBackoffMs = 64000;
  static constexpr uint32_t kTimeoutsToFail = 2;

  HealthTable() = default;
  // Only for building the runtime (Runtime::failClosedInstance returns one by value).
  HealthTable(HealthTable&& o) noexcept {
    for (unsigned i = 0; i < kSlots; ++i) slots_[i].store(o.slots_[i].load());
    notUsable_.store(o.notUsable_.load());
    changes_.store(o.changes_.load());
  }
  HealthTable& operator=(HealthTable&&) = delete;

  HealthChange report(policy::PvdId pvd, HealthEvent e, uint64_t nowMs) noexcept;
  HealthState state(policy::PvdId pvd) const noexcept;
  uint32_t failures(policy::PvdId pvd) const noexcept;
  // The state was set by an active probe (ProbeDown, ProbePoor): a probe ends it.
  bool byProbe(policy::PvdId pvd) const noexcept;
  // Failed and its back-off not elapsed: tried last, and not failed over to.
  bool avoid(policy::PvdId pvd, uint64_t nowMs) const noexcept;
  // Moves the PvDs to avoid to the end of the decision's list, keeping the order of the
  // rest (a stable partition). Never drops one: when every PvD is failed the order is
  // unchanged. With no PvD failed in the process this is one relaxed load. True when the
  // order changed.
  bool demote(policy::Decision* d, uint64_t nowMs) const noexcept;
  // Fast check for the hot path: nothing is failed or degraded in this process.
  bool allUsable() const noexcept { return notUsable_.load(std::memory_order_relaxed) == 0; }
  // Bumped by every change: a decision remembered under one value (the datagram cache) is
  // taken again under the next. (A back-off elapsing is no change: demoted decisions are
  // not remembered.)
  uint32_t changes() const noexcept { return changes_.load(std::memory_order_relaxed); }
  // Counts a change decided elsewhere (a probe's captive portal verdict, probe_watch.cpp).
  void touch() noexcept { changes_.fetch_add(1, std::memory_order_relaxed); }

  static uint32_t backoffMs(uint32_t failures) noexcept;

 private:
  // Word: bits 0-1 state, 2-9 consecutive failures (saturating at 255), 10 set by a probe,
  // 11-63 retry time in ms (kHeld: until a probe succeeds). Zero is "usable, no failure",
  // the state of every PvD at start.
  static constexpr uint64_t kHeld = (uint64_t{1} << 53) - 1;
  static uint64_t pack(HealthState s, uint32_t failures, uint64_t retryAt, bool probe = false) noexcept {
    return static_cast<uint64_t>(s) | (static_cast<uint64_t>(failures > 255 ? 255 : failures) << 2) |
           (static_cast<uint64_t>(probe) << 10) | ((retryAt > kHeld ? kHeld : retryAt) << 11);
  }
  static HealthState stateOf(uint64_t w) noexcept { return static_cast<HealthState>(w & 3); }
  static uint32_t failuresOf(uint64_t w) noexcept { return static_cast<uint32_t>((w >> 2) & 255); }
  static bool probeOf(uint64_t w) noexcept { return ((w >> 10) & 1) != 0; }
  static uint64_t retryAtOf(uint64_t w) noexcept { return w >> 11; }
  // What an event makes of the word `w` (the same word: no change).
  static uint64_t next(uint64_t w, HealthEvent e, uint64_t nowMs) noexcept;

  std::atomic<uint64_t> slots_[kSlots] = {};
  std::atomic<uint32_t> notUsable_{0};  // PvDs whose state is not Usable
  std::atomic<uint32_t> changes_{0};
};

// Monotonic milliseconds (CLOCK_MONOTONIC_COARSE through the vDSO: no system call).
uint64_t healthNowMs() noexcept;

}  // namespace mif::view
