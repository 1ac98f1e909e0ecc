// The address -> PvD tag table (tags.h). A fixed array of seqlock-protected slots: readers
// copy a slot and accept it only if its sequence number was even and unchanged, so the
// connect path never waits, never allocates and is safe in a signal handler. Every field
// is an atomic word (relaxed), which keeps the seqlock free of data races in C++ terms.
//
// Slots are never emptied once used (an expired or dropped slot keeps its key with an
// expiry in the past), so a probe sequence never has holes and a lookup may stop at the
// first never-used slot.
#include "mif/dns/tags.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

namespace mif::dns {
namespace {

constexpr size_t kNameWords = kTagNameMax / 8;
static_assert((kTagCapacity & (kTagCapacity - 1)) == 0, "capacity must be a power of two");

struct Slot {
  std::atomic<uint32_t> seq{0};
  // meta: bit 0 used; bits 8..15 family; bits 16..31 pvd; bits 32..47 name length.
  std::atomic<uint64_t> meta{0};
  std::atomic<uint64_t> key[2] = {0, 0};
  std::atomic<int64_t> expiry{0};  // CLOCK_MONOTONIC_COARSE, ns
  std::atomic<uint64_t> name[kNameWords] = {};
};

// Zero-initialised static storage: only the pages a process actually touches become
// resident (a process that resolves a handful of names pays a few KiB).
Slot gSlots[kTagCapacity];
std::mutex gWriters;
// Lets drop/clear skip the scan (and leave the table's pages untouched) when nothing was
// ever recorded.
std::atomic<bool> gAnyRecorded{false};

// The name a reader returns: a per-thread copy validated by the seqlock. initial-exec TLS
// so that the first access from a thread cannot allocate (the library is preloaded, so
// its TLS is in the static block).
__attribute__((tls_model("initial-exec"))) thread_local char tlsName[kTagNameMax];

int64_t nowNs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void keyOf(const policy::IpAddress& a, uint64_t out[2]) noexcept {
  std::memcpy(&out[0], a.bytes.data(), 8);
  std::memcpy(&out[1], a.bytes.data() + 8, 8);
  if (a.family == policy::Family::V4) {
    out[0] &= 0xffffffffULL;  // only bytes[0..3] are an IPv4 address
    out[1] = 0;
  }
}

size_t hashOf(const uint64_t k[2], policy::Family f) noexcept {
  uint64_t h = k[0] * 0x9e3779b97f4a7c15ULL ^ (k[1] + uint64_t(f)) * 0xc2b2ae3d27d4eb4fULL;
  h ^= h >> 29;
  return size_t(h) & (kTagCapacity - 1);
}

uint64_t familyBits(policy::Family f) noexcept { return uint64_t(uint8_t(f)) << 8; }

}  // namespace

namespace {

enum class Read : uint8_t { Empty, Other, Hit, Expired, Busy };

// One consistent read of a slot, or Busy when a writer was inside it (odd or changed
// sequence number).
Read readSlot(const Slot& s, const uint64_t k[2], uint64_t fam, int64_t now, uint64_t* metaOut,
              uint64_t (&words)[kNameWords]) noexcept {
  uint32_t seq1 = s.seq.load(std::memory_order_acquire);
  if (seq1 & 1) return Read::Busy;
  uint64_t meta = s.meta.load(std::memory_order_relaxed);
  uint64_t k0 = s.key[0].load(std::memory_order_relaxed);
  uint64_t k1 = s.key[1].load(std::memory_order_relaxed);
  int64_t expiry = s.expiry.load(std::memory_order_relaxed);
  Read r = !(meta & 1)                                            ? Read::Empty
           : (k0 != k[0] || k1 != k[1] || (meta & 0xff00) != fam) ? Read::Other
           : expiry <= now                                        ? Read::Expired
                                                                  : Read::Hit;
  if (r == Read::Hit) {
    size_t len = std::min<size_t>((meta >> 32) & 0xffff, kTagNameMax - 1);
    for (size_t w = 0; w < (len + 8) / 8 && w < kNameWords; ++w)
      words[w] = s.name[w].load(std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  if (s.seq.load(std::memory_order_relaxed) != seq1) return Read::Busy;
  *metaOut = meta;
  return r;
}

}  // namespace

bool lookupTag(const policy::IpAddress& addrIn, Tag* out) noexcept {
  // A process that never resolved through mif (or only addresses given as literals): no
  // clock read, no probe of the table's (cold) memory.
  if (!gAnyRecorded.load(std::memory_order_relaxed)) return false;
  policy::IpAddress addr = addrIn.unmapped();
  uint64_t k[2];
  keyOf(addr, k);
  const uint64_t fam = familyBits(addr.family);
  const int64_t now = nowNs();
  size_t h = hashOf(k, addr.family);
  for (size_t i = 0; i < kTagProbe; ++i) {
    const Slot& s = gSlots[(h + i) & (kTagCapacity - 1)];
    uint64_t meta = 0;
    uint64_t words[kNameWords];
    Read r = Read::Busy;
    // A few retries while a writer is inside the slot, never an unbounded spin: the caller
    // may be a signal handler that interrupted that very writer (then the tag is missed).
    for (int attempt = 0; attempt < 8 && r == Read::Busy; ++attempt)
      r = readSlot(s, k, fam, now, &meta, words);
    if (r == Read::Empty) return false;  // never used: end of the probe chain
    if (r == Read::Expired) return false;
    if (r != Read::Hit) continue;
    size_t len = std::min<size_t>((meta >> 32) & 0xffff, kTagNameMax - 1);
    std::memcpy(tlsName, words, len);
    tlsName[len] = '\0';
    if (out) {
      out->pvd = int((meta >> 16) & 0xffff);
      out->name = tlsName;
    }
    return true;
  }
  return false;
}

namespace {

void writeSlot(Slot& s, const uint64_t k[2], uint64_t meta, int64_t expiry,
               std::string_view name) noexcept {
  uint32_t seq = s.seq.load(std::memory_order_relaxed);
  s.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.meta.store(meta, std::memory_order_relaxed);
  s.key[0].store(k[0], std::memory_order_relaxed);
  s.key[1].store(k[1], std::memory_order_relaxed);
  s.expiry.store(expiry, std::memory_order_relaxed);
  char buf[kTagNameMax] = {};
  std::memcpy(buf, name.data(), name.size());
  for (size_t w = 0; w < (name.size() + 8) / 8 && w < kNameWords; ++w) {
    uint64_t v;
    std::memcpy(&v, buf + w * 8, 8);
    s.name[w].store(v, std::memory_order_relaxed);
  }
  s.seq.store(seq + 2, std::memory_order_release);
}

void expireSlot(Slot& s) noexcept {
  uint32_t seq = s.seq.load(std::memory_order_relaxed);
  s.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.expiry.store(0, std::memory_order_relaxed);
  s.seq.store(seq + 2, std::memory_order_release);
}

}  // namespace

void recordTag(const policy::IpAddress& addrIn, int pvd, std::string_view name,
               uint32_t ttlSeconds) noexcept {
  if (ttlSeconds == 0 || pvd < 0 || pvd > 0xffff) return;
  policy::IpAddress addr = addrIn.unmapped();
  if (name.size() > kTagNameMax - 1) name = name.substr(0, kTagNameMax - 1);
  uint64_t k[2];
  keyOf(addr, k);
  const uint64_t meta =
      1 | familyBits(addr.family) | (uint64_t(pvd) << 16) | (uint64_t(name.size()) << 32);
  const int64_t now = nowNs();
  const int64_t expiry = now + int64_t(ttlSeconds) * 1000000000;
  size_t h = hashOf(k, addr.family);
  std::lock_guard lock(gWriters);
  Slot* victim = nullptr;
  for (size_t i = 0; i < kTagProbe; ++i) {
    Slot& s = gSlots[(h + i) & (kTagCapacity - 1)];
    uint64_t m = s.meta.load(std::memory_order_relaxed);
    if (!(m & 1)) {  // never used: the key is nowhere further along
      if (!victim || victim->expiry.load(std::memory_order_relaxed) > now) victim = &s;
      break;
    }
    if (s.key[0].load(std::memory_order_relaxed) == k[0] &&
        s.key[1].load(std::memory_order_relaxed) == k[1] &&
        (m & 0xff00) == familyBits(addr.family)) {
      victim = &s;  // same address: the newest answer wins
      break;
    }
    int64_t e = s.expiry.load(std::memory_order_relaxed);
    if (!victim || e < victim->expiry.load(std::memory_order_relaxed)) victim = &s;
  }
  writeSlot(*victim, k, meta, expiry, name);
  gAnyRecorded.store(true, std::memory_order_relaxed);
}

void dropTagsForPvd(int pvd) noexcept {
  if (!gAnyRecorded.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(gWriters);
  for (Slot& s : gSlots) {
    uint64_t m = s.meta.load(std::memory_order_relaxed);
    if ((m & 1) && int((m >> 16) & 0xffff) == pvd && s.expiry.load(std::memory_order_relaxed) != 0)
      expireSlot(s);
  }
}

void clearTags() noexcept {
  if (!gAnyRecorded.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(gWriters);
  for (Slot& s : gSlots)
    if (s.meta.load(std::memory_order_relaxed) & 1) expireSlot(s);
}

}  // namespace mif::dns
