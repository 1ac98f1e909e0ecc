#include "mif/view/health.h"

#include <time.h>

#include "mif/view/decision_order.h"

namespace mif::view {

const char* healthName(HealthState s) noexcept {
  switch (s) {
    case HealthState::Usable: return "usable";
    case HealthState::Degraded: return "degraded";
    case HealthState::Failed: return "failed";
  }
  return "?";
}

uint32_t HealthTable::backoffMs(uint32_t failures) noexcept {
  const uint32_t shift = failures <= 1 ? 0 : (failures - 1 > 16 ? 16 : failures - 1);
  const uint64_t ms = static_cast<uint64_t>(kBaseBackoffMs) << shift;
  return ms > kMaxBackoffMs ? kMaxBackoffMs : static_cast<uint32_t>(ms);
}

uint64_t HealthTable::next(uint64_t w, HealthEvent e, uint64_t nowMs) noexcept {
  const HealthState from = stateOf(w);
  switch (e) {
    case HealthEvent::Success:
      return 0;
    case HealthEvent::ProbeOk:
      // Ends what a probe said, and a degradation (the probe's target answered); a failure
      // the program's own connects found keeps its back-off: the probe's target is not
      // their destination (as a DNS answer, failover.cpp).
      return from == HealthState::Failed && !probeOf(w) ? w : 0;
    case HealthEvent::ProbeDown:
      if (from == HealthState::Failed && probeOf(w)) return w;
      return pack(HealthState::Failed, failuresOf(w) + 1, kHeld, true);
    case HealthEvent::ProbePoor:
      if (from == HealthState::Failed && !probeOf(w)) return w;  // its back-off runs on
      if (from == HealthState::Degraded && probeOf(w)) return w;
      return pack(HealthState::Degraded, failuresOf(w), 0, true);
    case HealthEvent::PathBroken:
    case HealthEvent::Timeout:
      break;
  }
  // Connects that were already under way when the PvD failed report the same outage:
  // they do not lengthen its back-off (nor end a probe's hold).
  if (from == HealthState::Failed && nowMs < retryAtOf(w)) return w;
  const uint32_t failures = failuresOf(w) + 1;
  const bool fail = e == HealthEvent::PathBroken || from == HealthState::Failed ||
                    failures >= kTimeoutsToFail;
  return fail ? pack(HealthState::Failed, failures, nowMs + backoffMs(failures))
              : pack(HealthState::Degraded, failures, 0);
}

HealthChange HealthTable::report(policy::PvdId pvd, HealthEvent e, uint64_t nowMs) noexcept {
  HealthChange c;
  if (pvd >= kSlots) return c;
  std::atomic<uint64_t>& slot = slots_[pvd];
  uint64_t w = slot.load(std::memory_order_relaxed);
  // The common case on the hot path: a success on a PvD that never failed writes nothing.
  if ((e == HealthEvent::Success || e == HealthEvent::ProbeOk) && w == 0) return c;
  for (;;) {
    const uint64_t n = next(w, e, nowMs);
    if (n == w) return c;
    if (slot.compare_exchange_weak(w, n, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      const HealthState from = stateOf(w), to = stateOf(n);
      const bool success = e == HealthEvent::Success || e == HealthEvent::ProbeOk;
      c.changed = from != to || !success;
      c.from = from;
      c.to = to;
      c.failures = failuresOf(n);
      c.untilProbe = probeOf(n);
      c.retryInMs = !c.untilProbe && retryAtOf(n) > nowMs ? retryAtOf(n) - nowMs : 0;
      changes_.fetch_add(1, std::memory_order_relaxed);
      if (from == HealthState::Usable && to != HealthState::Usable) {
        notUsable_.fetch_add(1, std::memory_order_relaxed);
      } else if (from != HealthState::Usable && to == HealthState::Usable) {
        notUsable_.fetch_sub(1, std::memory_order_relaxed);
      }
      return c;
    }
  }
}

bool HealthTable::byProbe(policy::PvdId pvd) const noexcept {
  return pvd < kSlots && probeOf(slots_[pvd].load(std::memory_order_relaxed));
}

HealthState HealthTable::state(policy::PvdId pvd) const noexcept {
  return pvd < kSlots ? stateOf(slots_[pvd].load(std::memory_order_relaxed)) : HealthState::Usable;
}

uint32_t HealthTable::failures(policy::PvdId pvd) const noexcept {
  return pvd < kSlots ? failuresOf(slots_[pvd].load(std::memory_order_relaxed)) : 0;
}

bool HealthTable::avoid(policy::PvdId pvd, uint64_t nowMs) const noexcept {
  if (pvd >= kSlots) return false;
  const uint64_t w = slots_[pvd].load(std::memory_order_relaxed);
  return stateOf(w) == HealthState::Failed && nowMs < retryAtOf(w);
}

bool HealthTable::demote(policy::Decision* d, uint64_t nowMs) const noexcept {
  if (allUsable()) return false;
  return moveToEnd(d, [&](policy::PvdId id) { return avoid(id, nowMs); });
}

uint64_t healthNowMs() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace mif::view
