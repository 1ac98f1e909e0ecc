#include "known_fds.h"

#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "datagram_cache.h"

namespace mif::preload::knownfd {
namespace {

// A slot: (stamp << 1) | taken, 0 when nothing is known. `taken`: a connect has bound the
// socket to a device since (takeUnbound answered once).
constexpr uint64_t kTaken = 1;

std::atomic<uint64_t> counter{1};
// The counter's value at the program's last call that changed the kind of fact asked.
std::atomic<uint64_t> lastDevice{0};
std::atomic<uint64_t> lastTimeout{0};
std::atomic<uint64_t> lastBind{0};
std::atomic<uint64_t> slots[dgram::kSlots];

std::once_flag atforkOnce;
std::atomic<bool> atforkSet{false};  // std::call_once alone costs a TLS lookup per call

uint64_t tick() noexcept { return counter.fetch_add(1, std::memory_order_acq_rel) + 1; }

// Both processes now share every socket made so far: neither knows what the other does
// with them.
void everySocketOlder() noexcept {
  const uint64_t now = tick();
  lastDevice.store(now, std::memory_order_release);
  lastTimeout.store(now, std::memory_order_release);
  lastBind.store(now, std::memory_order_release);
}

// The stamp of fd when it is known and newer than `last`; 0 otherwise.
uint64_t newerThan(int fd, const std::atomic<uint64_t>& last, uint64_t* raw) noexcept {
  if (fd < 0 || fd >= dgram::kSlots) return 0;
  const uint64_t v = slots[fd].load(std::memory_order_acquire);
  *raw = v;
  const uint64_t stamp = v >> 1;
  return stamp != 0 && stamp > last.load(std::memory_order_acquire) ? stamp : 0;
}

}  // namespace

void made(int fd) noexcept {
  if (fd < 0 || fd >= dgram::kSlots) return;
  if (!atforkSet.load(std::memory_order_acquire)) {
    std::call_once(atforkOnce, [] {
      ::pthread_atfork(everySocketOlder, nullptr, nullptr);
      atforkSet.store(true, std::memory_order_release);
    });
  }
  slots[fd].store(tick() << 1, std::memory_order_release);
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
      lastDevice.store(tick(), std::memory_order_release);
      break;
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
      lastTimeout.store(tick(), std::memory_order_release);
      break;
    default:
      break;
  }
}

void programBound() noexcept {
  // A bind or listen may bind the socket to a device too (Runtime::bindLocal: the strong
  // host model, or a strict pin of a wildcard listener).
  const uint64_t now = tick();
  lastDevice.store(now, std::memory_order_release);
  lastBind.store(now, std::memory_order_release);
}

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

}  // namespace mif::preload::knownfd
