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

// A slot: (stamp << 4) | flagsUnknown | flagsBusy | nonBlocking | taken, 0 when nothing
// is known. `taken`: a connect has bound the socket to a device since (takeUnbound
// answered once). `nonBlocking`: O_NONBLOCK, from SOCK_NONBLOCK at creation or the
// program's last fcntl(F_SETFL)/ioctl(FIONBIO) on this number. `flagsBusy`: such a call is
// under way (a connect meanwhile asks the kernel). `flagsUnknown`: the flags are asked of
// the kernel until the number is made again (two such calls overlapped, or one set a flag
// other than O_NONBLOCK).
constexpr uint64_t kTaken = 1;
constexpr uint64_t kNonBlocking = 2;
constexpr uint64_t kFlagsBusy = 4;
constexpr uint64_t kFlagsUnknown = 8;
constexpr unsigned kStampShift = 4;

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

uint64_t settingFlags(int fd) noexcept {
  if (fd >= 0 && fd < dgram::kSlots) {
    uint64_t v = slots[fd].load(std::memory_order_acquire);
    while ((v >> kStampShift) != 0) {
      // Another thread's call under way on the same number: which lands last is the
      // kernel's secret.
      const uint64_t next = v | kFlagsBusy | ((v & kFlagsBusy) != 0 ? kFlagsUnknown : 0);
      if (slots[fd].compare_exchange_weak(v, next, std::memory_order_acq_rel)) return next;
    }
  }
  // Not a socket seen made: perhaps a dup of one (no table tracks dups), whose open file
  // it shares.
  older(lastFlags);
  return 0;
}

void flagsSet(int fd, uint64_t token, Flags now) noexcept {
  if (token == 0) return;
  uint64_t v = slots[fd].load(std::memory_order_acquire);
  // Unless the number was closed and made again meanwhile (a new socket, its own flags).
  while ((v >> kStampShift) == (token >> kStampShift)) {
    uint64_t next = v & ~kFlagsBusy;
    if ((v & kFlagsUnknown) == 0) {
      if (now == Flags::Other) next |= kFlagsUnknown;
      if (now == Flags::Blocking) next &= ~kNonBlocking;
      if (now == Flags::NonBlocking) next |= kNonBlocking;
    }
    if (slots[fd].compare_exchange_weak(v, next, std::memory_order_acq_rel)) return;
  }
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

int statusFlags(int fd) noexcept {
  uint64_t v;
  if (newerThan(fd, lastFlags, &v) == 0 || (v & (kFlagsBusy | kFlagsUnknown)) != 0) return -1;
  // What socket(2) gives a new socket's open file (sock_alloc_file): read and write, and
  // O_NONBLOCK from SOCK_NONBLOCK, or as the program's F_SETFL/FIONBIO set it since (F_SETFL
  // sets the settable flags all at once: flagsSet's caller saw no other set);
  // KnownFds.TheFlagsAreWhatTheKernelSays checks it.
  return O_RDWR | ((v & kNonBlocking) != 0 ? O_NONBLOCK : 0);
}

}  // namespace mif::preload::knownfd
