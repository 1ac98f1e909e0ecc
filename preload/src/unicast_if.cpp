#include "unicast_if.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <mutex>

#include "datagram_cache.h"

namespace mif::preload::ucif {
namespace {

// A descriptor's state. kNone: mif has set nothing (the option not yet looked at). A
// positive value: mif pinned the socket with the option, (ifindex << 1) | (IPv6 level).
// The rest are terminal until the number names another socket: the socket goes per
// datagram for good.
constexpr int32_t kNone = 0;
constexpr int32_t kSetting = -1;   // one thread is looking at / setting the option
constexpr int32_t kPerPacket = -2; // mif reset its pin, or the program set its own
constexpr int32_t kInherited = -3; // set by the parent before fork(): the parent's to reset

struct alignas(64) Slot {
  std::atomic<int32_t> state{kNone};
  std::atomic<uint32_t> inFlight{0};
};
Slot slots[dgram::kSlots];

std::once_flag atforkOnce;

void onForkChild() {
  for (Slot& s : slots) {
    const int32_t v = s.state.load(std::memory_order_relaxed);
    if (v > 0 || v == kSetting) s.state.store(kInherited, std::memory_order_relaxed);
    s.inFlight.store(0, std::memory_order_relaxed);
  }
}

bool level(int socketFamily, policy::Family dstFamily, int* lvl, int* name) noexcept {
  if (socketFamily == AF_INET && dstFamily == policy::Family::V4) {
    *lvl = IPPROTO_IP;
    *name = IP_UNICAST_IF;
    return true;
  }
  if (socketFamily == AF_INET6 && dstFamily == policy::Family::V6) {
    *lvl = IPPROTO_IPV6;
    *name = IPV6_UNICAST_IF;
    return true;
  }
  return false;  // an IPv4-mapped destination on an IPv6 socket: per datagram
}

}  // namespace

bool enter(int fd, int socketFamily, policy::Family dstFamily, int ifindex) noexcept {
  if (fd < 0 || fd >= dgram::kSlots || ifindex <= 0 || ifindex > (INT32_MAX >> 1)) return false;
  int lvl = 0, name = 0;
  if (!level(socketFamily, dstFamily, &lvl, &name)) return false;
  const int32_t want = static_cast<int32_t>(ifindex << 1) | (lvl == IPPROTO_IPV6 ? 1 : 0);
  Slot& s = slots[fd];
  // Announce the send first, then look: leave() marks the state first, then waits for the
  // count (both sequentially consistent), so one of the two always sees the other.
  s.inFlight.fetch_add(1, std::memory_order_seq_cst);
  int32_t v = s.state.load(std::memory_order_seq_cst);
  if (v == want) return true;
  s.inFlight.fetch_sub(1, std::memory_order_release);
  if (v != kNone) return false;  // pinned elsewhere, per packet, or being set: per datagram
  if (!s.state.compare_exchange_strong(v, kSetting, std::memory_order_acq_rel)) return false;
  std::call_once(atforkOnce, [] { ::pthread_atfork(nullptr, nullptr, onForkChild); });
  // The program's own value is left alone (and the socket pinned per datagram from now on).
  uint32_t current = 0;
  socklen_t len = sizeof current;
  const int saved = errno;
  bool ok = ::getsockopt(fd, lvl, name, &current, &len) == 0 && current == 0;
  if (ok) {
    const uint32_t index = htonl(static_cast<uint32_t>(ifindex));  // both levels: network order
    ok = ::setsockopt(fd, lvl, name, &index, sizeof index) == 0;
  }
  errno = saved;
  if (!ok) {
    s.state.store(kPerPacket, std::memory_order_release);
    return false;
  }
  s.state.store(want, std::memory_order_seq_cst);
  // This datagram goes per packet still (the next one takes the pinned mode): simpler than
  // re-announcing, and the control message is right whatever the option says.
  return false;
}

void sent(int fd) noexcept { slots[fd].inFlight.fetch_sub(1, std::memory_order_release); }

bool held(int fd) noexcept {
  if (fd < 0 || fd >= dgram::kSlots) return false;
  const int32_t v = slots[fd].state.load(std::memory_order_relaxed);
  return v > 0 || v == kSetting;
}

void leave(int fd) noexcept {
  if (fd < 0 || fd >= dgram::kSlots) return;
  Slot& s = slots[fd];
  int32_t v = s.state.load(std::memory_order_seq_cst);
  for (;;) {
    if (v == kSetting) {  // another thread is setting it: let it finish, then take it back
      sched_yield();
      v = s.state.load(std::memory_order_seq_cst);
      continue;
    }
    if (v <= 0) return;
    if (s.state.compare_exchange_weak(v, kPerPacket, std::memory_order_seq_cst)) break;
  }
  // Sends that saw the pin are under way: the option must stay until they are in the
  // kernel. Each is one sendto/sendmsg system call.
  while (s.inFlight.load(std::memory_order_seq_cst) != 0) sched_yield();
  const int lvl = (v & 1) ? IPPROTO_IPV6 : IPPROTO_IP;
  const int name = (v & 1) ? IPV6_UNICAST_IF : IP_UNICAST_IF;
  const uint32_t zero = 0;
  const int saved = errno;
  (void)::setsockopt(fd, lvl, name, &zero, sizeof zero);
  errno = saved;
}

void forget(int fd) noexcept {
  if (fd < 0 || fd >= dgram::kSlots) return;
  Slot& s = slots[fd];
  if (s.state.load(std::memory_order_relaxed) != kNone)
    s.state.store(kNone, std::memory_order_release);
}

void forgetRange(unsigned lo, unsigned hi) noexcept {
  for (unsigned fd = lo; fd <= hi && fd < static_cast<unsigned>(dgram::kSlots); ++fd)
    forget(static_cast<int>(fd));
}

}  // namespace mif::preload::ucif
