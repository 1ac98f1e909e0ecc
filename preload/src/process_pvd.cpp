#include "process_pvd.h"

#include <atomic>

namespace mif::preload::process {
namespace {

std::atomic<int32_t> gPvd{-1};
std::atomic<uint64_t> gEpoch{0};  // bumped by every set()

}  // namespace

void set(int32_t pvd) noexcept {
  gPvd.store(pvd, std::memory_order_relaxed);
  gEpoch.fetch_add(1, std::memory_order_release);
}

int32_t get() noexcept { return gPvd.load(std::memory_order_relaxed); }

void apply(policy::Decision* d, const view::Snapshot& snap) noexcept {
  const int32_t id = gPvd.load(std::memory_order_relaxed);
  if (id < 0 || d->strict || d->step == policy::Step::Locked) return;
  d->pvds[0] = static_cast<policy::PvdId>(id);
  const size_t i = static_cast<size_t>(id);
  d->count = i < snap.pvds.size() && snap.pvds[i].state.present &&
                     snap.pvds[i].state.anyUsable() && !snap.pvds[i].ifname.empty()
                 ? 1
                 : 0;
  d->step = policy::Step::Pin;
  d->rule = -1;
}

uint64_t cacheKey(uint64_t generation) noexcept {
  // The view's generation in the low 40 bits (a refresh a millisecond for 34 years), the
  // default's epoch above them. Never 0 (an empty slot) once the view has a generation.
  return generation + (gEpoch.load(std::memory_order_acquire) << 40);
}

}  // namespace mif::preload::process
