#include "own_fds.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdint>

namespace mif::preload::ownfds {
namespace {

struct Slot {
  std::atomic<int> fd{-1};
  std::atomic<uint64_t> dev{0}, ino{0};
};
Slot slots[kSlots];
// How many slots are claimed: close() of a program with no library descriptors registered
// (the usual case) costs one load.
std::atomic<int> claimed{0};
// One bit per registered number modulo 64 (set before the number is published): a close()
// of a number that is not ours costs a load and a test, not a walk of the table.
std::atomic<uint64_t> filter{0};

uint64_t bitOf(int fd) noexcept { return uint64_t{1} << (static_cast<unsigned>(fd) & 63u); }

// After a number left the table: its bit goes unless another registered number (or one
// being registered, whose number is not known yet) shares it.
void unfilter(int fd) noexcept {
  const uint64_t bit = bitOf(fd);
  for (auto& s : slots) {
    const int other = s.fd.load(std::memory_order_acquire);
    if (other == -2 || (other >= 0 && bitOf(other) == bit)) return;
  }
  filter.fetch_and(~bit, std::memory_order_acq_rel);
}

bool sameFile(const Slot& s, int fd) noexcept {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  return st.st_dev == s.dev.load(std::memory_order_relaxed) &&
         st.st_ino == s.ino.load(std::memory_order_relaxed);
}

}  // namespace

void add(int fd) noexcept {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return;
  for (auto& s : slots) {
    int expected = -1;
    // Claim the slot with a value no lookup matches, fill it, then publish the number.
    if (s.fd.compare_exchange_strong(expected, -2, std::memory_order_acq_rel)) {
      claimed.fetch_add(1, std::memory_order_relaxed);
      s.dev.store(st.st_dev, std::memory_order_relaxed);
      s.ino.store(st.st_ino, std::memory_order_relaxed);
      filter.fetch_or(bitOf(fd), std::memory_order_acq_rel);
      s.fd.store(fd, std::memory_order_release);
      return;
    }
  }
  // Table full: the descriptor is simply unprotected; the view's own identity check
  // still notices if it is taken.
}

void remove(int fd) noexcept {
  if (fd < 0 || claimed.load(std::memory_order_relaxed) == 0) return;
  for (auto& s : slots) {
    int expected = fd;
    if (s.fd.compare_exchange_strong(expected, -1, std::memory_order_acq_rel)) {
      claimed.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  unfilter(fd);
}

bool isOwn(int fd) noexcept {
  if (fd < 0 || (filter.load(std::memory_order_acquire) & bitOf(fd)) == 0) return false;
  for (auto& s : slots) {
    if (s.fd.load(std::memory_order_acquire) != fd) continue;
    if (sameFile(s, fd)) return true;
    remove(fd);
    return false;
  }
  return false;
}

int lowestIn(unsigned lo, unsigned hi) noexcept {
  int best = -1;
  if (claimed.load(std::memory_order_relaxed) == 0) return best;
  for (auto& s : slots) {
    int fd = s.fd.load(std::memory_order_acquire);
    if (fd < 0 || static_cast<unsigned>(fd) < lo || static_cast<unsigned>(fd) > hi) continue;
    if (best != -1 && fd >= best) continue;
    if (sameFile(s, fd)) {
      best = fd;
    } else {
      remove(fd);
    }
  }
  return best;
}

}  // namespace mif::preload::ownfds
