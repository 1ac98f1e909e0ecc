#pragma once
// Hazard pointers for the live view's snapshots (docs/architecture.md, "Snapshot
// lifetime"). A reader pins the snapshot it reads by publishing its address in a hazard
// slot of its own thread; the writer frees a replaced snapshot only once no slot names it.
// So a snapshot lives exactly as long as its last reader, however long that reader blocks
// (a DNS lookup, a blocking connect), and nothing depends on time.
//
// Hot path: pin and unpin allocate nothing and take no lock: a pin is a store and a load
// (seq_cst, so that the writer's scan cannot miss it), an unpin a release store. A thread
// takes a record of kPinsPerThread slots from a fixed table of kPinRecords the first time
// it pins (one CAS over the table, one pthread_setspecific so that the record is given
// back when the thread exits); nested pins (a hook called from a signal handler that
// interrupted another hook) use the next slot.
//
// Bound: a snapshot is kept only while a slot names it, so at most
// kPinRecords * kPinsPerThread retired snapshots can be alive, however many readers block
// forever. Beyond the table (more than kPinRecords threads pinning at once, or deeper
// nesting) a reader pins through a shared overflow counter; while it is non-zero nothing
// is freed, so that path alone is unbounded for as long as such a reader blocks. It is
// counted (overflowPinsSeen) and documented.
#include <atomic>
#include <cstdint>

namespace mif::view::detail {

constexpr int kPinRecords = 256;
constexpr int kPinsPerThread = 4;

// One pin: which slot to clear, or the overflow counter.
struct PinHandle {
  std::atomic<const void*>* slot = nullptr;
  bool overflow = false;
};

// Pins what `source` holds now and returns it; `source` may be replaced at any time by a
// writer that then asks isPinned() before freeing the old value.
template <typename T>
const T* pinCurrent(const std::atomic<T*>& source, PinHandle* h) noexcept;

void unpin(PinHandle* h) noexcept;

// True while some reader may still use `p`: a slot names it, or an overflow pin is held.
// For the writer, after it has replaced `p` in the source (seq_cst).
bool isPinned(const void* p) noexcept;

// In a child after fork(): the other threads are gone, and so are their pins.
void pinsAfterForkChild() noexcept;

// For tests and docs: how many pins went through the overflow counter so far.
uint64_t overflowPinsSeen() noexcept;
// For tests: slots currently naming something, over all records.
int pinsHeld() noexcept;

// Implementation details shared with the template.
std::atomic<const void*>* freeSlot() noexcept;
void overflowEnter() noexcept;

template <typename T>
const T* pinCurrent(const std::atomic<T*>& source, PinHandle* h) noexcept {
  h->slot = freeSlot();
  if (h->slot == nullptr) {
    h->overflow = true;
    overflowEnter();  // seq_cst increment, before the load below
    return source.load(std::memory_order_seq_cst);
  }
  h->overflow = false;
  T* p = source.load(std::memory_order_acquire);
  for (;;) {
    h->slot->store(p, std::memory_order_seq_cst);
    T* again = source.load(std::memory_order_seq_cst);
    if (again == p) return p;  // published while still current: the writer will see it
    p = again;
  }
}

}  // namespace mif::view::detail
