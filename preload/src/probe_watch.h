#pragma once
// Active probes (issue 29 item 1; docs/architecture.md, "Active probes"): what `mif run`'s
// prober found of the PvDs whose policy table has `probe`, read from the file it names in
// MIF_PROBES (mif/view/probe_results.h) and fed to the process's health (health.h) and
// captive portal rule (captive.h).
//
// The program runs no thread and no timer for this: a decision that finds the watch due
// (at most every kCheckMs) stats the file, and reads it only when it changed (the prober
// replaces it after each round). Cost on a hot path: with no PvD probed, one relaxed load
// (`idle()`); with probes, that load and a vDSO clock read between checks.
//
// Threading: any thread, and a signal handler: the thread whose compare-and-swap claimed
// a check reads the file into the watch's own buffer; no lock, no allocation (the system
// calls are stat, open, read, close, made directly: not the program's to see).
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "health.h"
#include "mif/policy/policy.h"
#include "mif/view/probe_results.h"

namespace mif::preload {

class ProbeWatch {
 public:
  static constexpr uint64_t kIdle = UINT64_MAX;
  static constexpr uint64_t kCheckMs = 500;

  ProbeWatch() = default;
  // Only for building the runtime (Runtime::failClosedInstance returns one by value).
  ProbeWatch(ProbeWatch&& o) noexcept : path_(std::move(o.path_)) {
    checkAt_.store(o.checkAt_.load());
    for (unsigned i = 0; i < HealthTable::kSlots; ++i) portal_[i].store(o.portal_[i].load());
  }
  ProbeWatch& operator=(ProbeWatch&&) = delete;

  // Watches `path` from the first decision on (at initialisation, before any other use).
  void start(std::string path) {
    path_ = std::move(path);
    checkAt_.store(0, std::memory_order_relaxed);
  }
  bool idle() const noexcept { return checkAt_.load(std::memory_order_relaxed) == kIdle; }
  // In a child after fork: a look the parent was taking is not the child's to finish.
  void afterFork() noexcept { busy_.clear(std::memory_order_relaxed); }

  // True for the one caller that is to look at the file now (the last look was kCheckMs
  // or more ago); it then calls read().
  bool claim(uint64_t nowMs) noexcept;
  enum class Seen { Unchanged, Changed, Gone };
  // Changed: fn was called for each line of the new results (Changed with no call when
  // the file holds nothing readable). Gone: the file is not there (the run ended, or the
  // prober could not write it).
  Seen read(void (*fn)(void* ctx, const view::ProbeLine& line), void* ctx) noexcept;

  // What the last probe said of the PvD's captive portal.
  view::PortalVerdict portal(policy::PvdId id) const noexcept {
    return id < HealthTable::kSlots ? static_cast<view::PortalVerdict>(portal_[id].load(std::memory_order_relaxed))
                                    : view::PortalVerdict::None;
  }
  // Sets it; true when it changed.
  bool setPortal(policy::PvdId id, view::PortalVerdict v) noexcept {
    return id < HealthTable::kSlots &&
           portal_[id].exchange(static_cast<uint8_t>(v), std::memory_order_relaxed) != static_cast<uint8_t>(v);
  }

 private:
  std::string path_;
  std::atomic<uint64_t> checkAt_{kIdle};  // healthNowMs() of the next look; kIdle: never
  std::atomic<uint8_t> portal_[HealthTable::kSlots] = {};
  std::atomic_flag busy_ = ATOMIC_FLAG_INIT;  // set by claim(), cleared by read()
  // Only by the caller that claimed the look.
  bool existed_ = false;
  uint64_t dev_ = 0, ino_ = 0, size_ = 0;
  int64_t mtimeNs_ = 0;
  char buf_[16384];
};

}  // namespace mif::preload
