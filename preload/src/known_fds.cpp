#include "known_fds.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "datagram_cache.h"

namespace mif::preload::knownfd {
namespace {

// A slot: (stamp << 2) | nonBlocking | taken, 0 when nothing is known. `taken`: a connect
// has bound the socket to a device since (takeUnbound answered once). `nonBlocking`: made
// with SOCK_NONBLOCK.
constexpr uint64_t kTaken = 1;
constexpr uint64_t kNonBlocking = 2;
constexpr unsigned kStampShift = 2;

std::atomic<uint64_t> counter{1};
// The counter's value at the program's last call that changed the kind of fact asked.
std::atomic<uint64_t> lastDevice{0};
std::atomic<uint64_t> lastTimeout{0};
std::atomic<uint64_t> lastBind{0};
std::atomic<uint64_t> lastFlags{0};
std::atomic<uint64_t> slots[dgram::kSlots];

std::once_flag atforkOnce;
std::atomic<bool> atforkSet{false};  // std::call_once alone costs a TLS lookup per call

uint64_t tick() noexcept { return counter.fetch_add(1, std::memory_order_acq_rel) + 1; }

// Every socket made so far is older than the call being recorded in `last`: `last` is
// raised to the counter (a socket made later gets a larger stamp: made() adds one first).
// Never lowered, so two threads recording at once cannot leave the older value; no store
// at all when nothing was made since the last call of the kind (a loop of fcntl calls).
void older(std::atomic<uint64_t>& last) noexcept {
  const uint64_t now = counter.load(std::memory_order_acquire);
  uint64_t seen = last.load(std::memory_order_acquire);
  while (seen < now && !last.compare_exchange_weak(seen, now, std::memory_order_acq_rel)) {
  }
}

// Both processes now share every socket made so far: neither knows what the other does
// with them.
void everySocketOlder() noexcept {
  older(lastDevice);
  older(lastTimeout);
  older(lastBind);
  older(lastFlags);
}

// The stamp of fd when it is known and newer than `last`; 0 otherwise.
uint64_t newerThan(int fd, const std::atomic<uint64_t>& last, uint64_t* raw) noexcept {
  if (fd < 0 || fd >= dgram::kSlots) return 0;
  const uint64_t v = slots[fd].load(std::memory_order_acquire);
  *raw = v;
  const uint64_t stamp = v >> kStampShift;
  return stamp != 0 && stamp > last.load(std::memory_order_acquire) ? stamp : 0;
}

}  // namespace

void made(int fd, bool nonBlocking) noexcept {
  if (fd < 0 || fd >= dgram::kSlots) return;
  if (!atforkSet.load(std::memory_order_acquire)) {
    std::call_once(atforkOnce, [] {
      ::pthread_atfork(everySocketOlder, nullptr, nullptr);
      atforkSet.store(true, std::memory_order_release);
    });
  }
  slots[fd].store((tick() << kStampShift) | (nonBlocking ? kNonBlocking : 0), std::memory_order_release);
}

void forget(int fd) noexcept {
  if (fd >= 0 && fd < dgram::kSlots) slots[fd].store(0, std::memory_order_release);
}

void forgetRange(unsigned lo, unsigned hi) noexcept {
  for (unsigned fd = lo; fd <= hi && fd < static_cast<unsigned>(dgram::kSlots); ++fd)
    slots[fd].store(0, std::memory_order_release);
}

void programSetOption(int level, int name) noexcept {
  if (level != SOL_SOCKET) return;
  switch (name) {
    case SO_BINDTODEVICE:
    case SO_BINDTOIFINDEX:
      older(lastDevice);
      break;
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
      older(lastTimeout);
      break;
    default:
      break;
  }
}

void programBound() noexcept {
  // A bind or listen may bind the socket to a device too (Runtime::bindLocal: the strong
  // host model, or a strict pin of a wildcard listener).
  older(lastDevice);
  older(lastBind);
}

void programSetFlags() noexcept { older(lastFlags); }

bool takeUnbound(int fd) noexcept {
  uint64_t v;
  if (newerThan(fd, lastDevice, &v) == 0 || (v & kTaken) != 0) return false;
  // One answer per socket: of two threads connecting it at once, one asks the kernel.
  return slots[fd].compare_exchange_strong(v, v | kTaken, std::memory_order_acq_rel);
}

bool defaultSendTimeout(int fd) noexcept {
  uint64_t v;
  return newerThan(fd, lastTimeout, &v) != 0;
}

bool notBound(int fd) noexcept {
  uint64_t v;
  return newerThan(fd, lastBind, &v) != 0;
}

int statusFlags(int fd) noexcept {
  uint64_t v;
  if (newerThan(fd, lastFlags, &v) == 0) return -1;
  // What socket(2) gives a new socket's open file (sock_alloc_file): read and write, and
  // O_NONBLOCK from SOCK_NONBLOCK; KnownFds.TheFlagsAreWhatTheKernelSays checks it.
  return O_RDWR | ((v & kNonBlocking) != 0 ? O_NONBLOCK : 0);
}

}  // namespace mif::preload::knownfd
