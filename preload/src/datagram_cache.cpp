#include "datagram_cache.h"

#include <atomic>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace mif::preload::dgram {
namespace {

static_assert(std::is_trivially_copyable_v<Entry> && std::is_standard_layout_v<Entry>);
constexpr size_t kWords = (sizeof(Entry) + 7) / 8;
// The words pinnedHit() reads: the key and pinnedIfindex, at the entry's start.
constexpr size_t kPinnedWords = (offsetof(Entry, pinnedIfindex) + sizeof(int32_t) + 7) / 8;
static_assert(kPinnedWords <= kWords);

struct Slot {
  std::atomic<uint32_t> seq{0};  // odd while written
  std::atomic<uint64_t> words[kWords];
};
// Zero-filled static storage: only the pages of descriptors that send are touched.
Slot slots[kSlots];

}  // namespace

namespace {

// One consistent read of the first `n` words of fd's entry; false when a writer is inside
// the slot (a miss: the caller decides in full).
bool readWords(int fd, size_t n, uint64_t* copy) noexcept {
  if (fd < 0 || fd >= kSlots) return false;
  Slot& s = slots[fd];
  const uint32_t before = s.seq.load(std::memory_order_acquire);
  if (before & 1) return false;
  for (size_t i = 0; i < n; ++i) copy[i] = s.words[i].load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  return s.seq.load(std::memory_order_relaxed) == before;
}

}  // namespace

bool lookup(int fd, uint64_t generation, const policy::IpAddress& addr, uint16_t port,
            int16_t dscp, int32_t taggedPvd, Entry* out) noexcept {
  uint64_t copy[kWords];
  if (!readWords(fd, kWords, copy)) return false;
  std::memcpy(static_cast<void*>(out), copy, sizeof(Entry));
  return out->generation != 0 && out->generation == generation && out->port == port &&
         out->dscp == dscp && out->taggedPvd == taggedPvd && out->addr.family == addr.family &&
         out->addr.bytes == addr.bytes;
}

bool pinnedHit(int fd, uint64_t generation, const policy::IpAddress& addr, uint16_t port,
               int32_t taggedPvd, int* ifindex) noexcept {
  uint64_t copy[kPinnedWords];
  if (!readWords(fd, kPinnedWords, copy)) return false;
  const auto* raw = reinterpret_cast<const unsigned char*>(copy);
  const auto field = [raw](size_t offset, auto* out) { std::memcpy(out, raw + offset, sizeof *out); };
  uint64_t gen;
  uint16_t p;
  int16_t dscp;
  int32_t tag, pinned;
  policy::IpAddress a;
  field(offsetof(Entry, generation), &gen);
  field(offsetof(Entry, port), &p);
  field(offsetof(Entry, dscp), &dscp);
  field(offsetof(Entry, taggedPvd), &tag);
  field(offsetof(Entry, pinnedIfindex), &pinned);
  field(offsetof(Entry, addr), &a);
  if (gen == 0 || gen != generation || p != port || dscp != -1 || tag != taggedPvd ||
      pinned <= 0 || a.family != addr.family || a.bytes != addr.bytes)
    return false;
  *ifindex = pinned;
  return true;
}

namespace {

void write(int fd, const Entry* e) noexcept {
  if (fd < 0 || fd >= kSlots) return;
  Slot& s = slots[fd];
  uint32_t seq = s.seq.load(std::memory_order_relaxed);
  if ((seq & 1) || !s.seq.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire))
    return;  // another writer: it wins, this one skips (a miss later, never a wrong hit)
  std::atomic_thread_fence(std::memory_order_release);
  uint64_t copy[kWords] = {};
  if (e != nullptr) std::memcpy(copy, static_cast<const void*>(e), sizeof(Entry));
  for (size_t i = 0; i < kWords; ++i) s.words[i].store(copy[i], std::memory_order_relaxed);
  s.seq.store(seq + 2, std::memory_order_release);
}

}  // namespace

void store(int fd, const Entry& e) noexcept {
  Entry copy = e;
  copy.pinnedIfindex = e.decided && e.error == 0 && e.pktinfo && !e.hasSource &&
                               e.decision.strict && e.dscp == -1 && e.ifindex > 0
                           ? e.ifindex
                           : 0;
  write(fd, &copy);
}

bool occupied(int fd) noexcept {
  return fd >= 0 && fd < kSlots && slots[fd].words[0].load(std::memory_order_relaxed) != 0;
}

void forget(int fd) noexcept {
  if (fd < 0 || fd >= kSlots) return;
  // Cheap when there is nothing to forget: most descriptors never sent a datagram.
  if (slots[fd].words[0].load(std::memory_order_relaxed) == 0 &&
      !(slots[fd].seq.load(std::memory_order_relaxed) & 1))
    return;
  write(fd, nullptr);
}

void forgetRange(unsigned lo, unsigned hi) noexcept {
  for (unsigned fd = lo; fd <= hi && fd < static_cast<unsigned>(kSlots); ++fd)
    forget(static_cast<int>(fd));
}

}  // namespace mif::preload::dgram
