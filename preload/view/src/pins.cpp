#include "mif/view/pins.h"

#include <pthread.h>

namespace mif::view::detail {
namespace {

struct alignas(64) Record {
  std::atomic<bool> owned{false};
  std::atomic<const void*> slots[kPinsPerThread];
};

Record gRecords[kPinRecords];
std::atomic<uint32_t> gOverflow{0};
std::atomic<uint64_t> gOverflowSeen{0};

// initial-exec: the library is preloaded; reading it is one load, no __tls_get_addr.
thread_local Record* tlsRecord __attribute__((tls_model("initial-exec"))) = nullptr;

pthread_once_t gKeyOnce = PTHREAD_ONCE_INIT;
pthread_key_t gKey;
bool gKeyOk = false;

// Thread exit: its pins are gone (every pin is scoped), so its record is free again.
void releaseRecord(void* r) {
  auto* rec = static_cast<Record*>(r);
  for (auto& s : rec->slots) s.store(nullptr, std::memory_order_relaxed);
  rec->owned.store(false, std::memory_order_release);
  if (tlsRecord == rec) tlsRecord = nullptr;
}

void makeKey() { gKeyOk = pthread_key_create(&gKey, releaseRecord) == 0; }

Record* myRecord() noexcept {
  if (tlsRecord != nullptr) return tlsRecord;
  pthread_once(&gKeyOnce, makeKey);
  if (!gKeyOk) return nullptr;  // could never be given back: use the overflow path
  for (Record& r : gRecords) {
    bool expected = false;
    if (!r.owned.load(std::memory_order_relaxed) &&
        r.owned.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      if (pthread_setspecific(gKey, &r) != 0) {
        r.owned.store(false, std::memory_order_release);
        return nullptr;
      }
      tlsRecord = &r;
      return &r;
    }
  }
  return nullptr;
}

}  // namespace

std::atomic<const void*>* freeSlot() noexcept {
  Record* r = myRecord();
  if (r == nullptr) return nullptr;
  // Only this thread (and a signal handler running on it, which finishes before the code
  // it interrupted resumes) writes these slots.
  for (auto& s : r->slots)
    if (s.load(std::memory_order_relaxed) == nullptr) return &s;
  return nullptr;
}

void overflowEnter() noexcept {
  gOverflow.fetch_add(1, std::memory_order_seq_cst);
  gOverflowSeen.fetch_add(1, std::memory_order_relaxed);
}

void unpin(PinHandle* h) noexcept {
  if (h->slot != nullptr) {
    h->slot->store(nullptr, std::memory_order_release);
    h->slot = nullptr;
  } else if (h->overflow) {
    gOverflow.fetch_sub(1, std::memory_order_release);
    h->overflow = false;
  }
}

bool isPinned(const void* p) noexcept {
  if (gOverflow.load(std::memory_order_seq_cst) != 0) return true;
  for (const Record& r : gRecords)
    for (const auto& s : r.slots)
      if (s.load(std::memory_order_seq_cst) == p) return true;
  return false;
}

void pinsAfterForkChild() noexcept {
  for (Record& r : gRecords) {
    if (&r == tlsRecord) continue;  // the forking thread's pins are still on its stack
    for (auto& s : r.slots) s.store(nullptr, std::memory_order_relaxed);
    r.owned.store(false, std::memory_order_relaxed);
  }
  // Overflow pins of threads that no longer exist can never be released; the forking
  // thread's own cannot be told apart, so the counter is left as it is (a child pinning
  // through overflow during fork is the documented unbounded case).
}

uint64_t overflowPinsSeen() noexcept { return gOverflowSeen.load(std::memory_order_relaxed); }

int pinsHeld() noexcept {
  int n = 0;
  for (const Record& r : gRecords)
    for (const auto& s : r.slots) n += s.load(std::memory_order_relaxed) != nullptr;
  return n;
}

}  // namespace mif::view::detail
