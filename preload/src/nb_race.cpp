// The non-blocking race's table and its steps (nb_race.h): what the waits, getsockopt,
// connect and the close family call. Nothing here waits: every step is a zero-timeout
// poll of the live attempts, SO_ERROR of those that completed, and the non-blocking
// connects of the attempts that are due.
//
// Longer than the ~400 lines a file in preload/ should be: the slot's claim and release,
// the race's step (settle, start, hand over, the epoll registrations out and back) and the
// table's maintenance (close, close_range, fork, epoll_ctl) all work on the one private
// Slot layout and its state word; split, that layout and its locking rule would have to be
// shared by several files.
#include "nb_race.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "guard.h"
#include "health.h"
#include "mif/sys/calls.h"
#include "monotonic.h"
#include "path_error.h"
#include "race_timing.h"
#include "real_libc.h"

namespace mif::preload::nbrace {
namespace detail {
std::atomic<uint32_t> pendingCount{0};
}
namespace {

enum : uint32_t { kFree = 0, kIdle = 1, kBusy = 2, kFailed = 3 };

static_assert(std::is_trivially_copyable_v<Outcome>);

struct Attempt {
  int fd;
  bool live;
  int64_t startUs;
  // An Outcome, kept as bytes so that the table stays zero-filled static storage (no
  // constructor touches its pages at load).
  alignas(Outcome) unsigned char o[sizeof(Outcome)];
  Outcome& out() noexcept { return *reinterpret_cast<Outcome*>(o); }
};

struct Reg {
  int epfd;
  bool removed;  // taken out of the instance while the program's own socket is dead
  epoll_event ev;
};

struct Slot {
  std::atomic<uint32_t> state;
  // Owned by the thread that moved `state` to kBusy (or wrote it in begin()).
  Runtime* rt;
  int flags;
  int64_t delayUs;
  int64_t nextStartUs;
  unsigned next;  // the decision's index of the next PvD to start
  unsigned n;     // attempts started, the program's own first
  bool stop;      // a server answered (a refusal): nothing more starts
  int firstError;
  socklen_t len;
  sockaddr_storage addr;
  char name[256];
  Attempt a[policy::kMaxListed];
  Reg regs[kMaxRegs];
  unsigned nRegs;
  // Epoll instances whose registrations of the number were looked up (epollRegOf): a
  // registration made before the connect is learnt at the first wait on its instance.
  int looked[kMaxRegs];
  unsigned nLooked;
  // The next attempt's socket, made, given the program's options and pinned kEarlyUs
  // before its start (advance), so that at the start only its connect is left: for the
  // decision's PvD prepIndex, its Outcome in a[n]; prepFd -1 when the making failed (that
  // PvD is skipped at the start, as one whose socket cannot be made then). Closed when the
  // race ends without starting it.
  bool prepared;
  unsigned prepIndex;
  int prepFd;
  // Steps made, across races (never reset: a Seen of an earlier race on the number never
  // matches a later one).
  uint32_t gen;
};

Slot slots[kSlots];
// One bit per slot not Free: what a wait on an epoll instance and close_range scan.
std::atomic<uint64_t> inUse[kSlots / 64];

bool inRange(int fd) noexcept { return fd >= 0 && fd < kSlots; }

// Claims a slot that holds a race. With `wait` false a Busy slot is left alone (*was =
// kBusy); with `wait` true the caller yields until the stepping thread is done (a few
// non-blocking system calls).
// The wait is bounded: a step interrupted by a signal whose handler closes the same number
// (or a thread that died inside a step) must not hang the caller; after about a second the
// slot is left as it is and the caller goes on without it.
Slot* claim(int fd, bool wait, uint32_t* was) noexcept {
  Slot& s = slots[fd];
  for (unsigned spins = 0;; ++spins) {
    uint32_t st = s.state.load(std::memory_order_acquire);
    *was = st;
    if (st == kFree) return nullptr;
    if (st == kBusy) {
      if (!wait || spins > 100000) return nullptr;
      sched_yield();
      continue;
    }
    if (s.state.compare_exchange_weak(st, kBusy, std::memory_order_acquire)) return &s;
  }
}

void release(int fd, Slot& s, uint32_t to) noexcept {
  if (to == kFree) {
    inUse[fd / 64].fetch_and(~(uint64_t{1} << (fd % 64)), std::memory_order_relaxed);
    s.state.store(kFree, std::memory_order_release);
    detail::pendingCount.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  s.state.store(to, std::memory_order_release);
}

// The file status flags fcntl(F_SETFL) changes (Linux's SETFL_MASK).
constexpr int kSetFlMask = O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK;

int32_t msSince(int64_t startUs, int64_t now) noexcept {
  return static_cast<int32_t>((now - startUs) / 1000);
}

void closeFd(int fd) noexcept {
  if (auto c = real::close.get()) c(fd);
}

void dropPrepared(Slot& s) noexcept {
  if (!s.prepared) return;
  s.prepared = false;
  if (s.prepFd >= 0) closeFd(s.prepFd);
  s.prepFd = -1;
}

// The program's registrations of the number, out of (own socket dead) or back into their
// epoll instances.
void epollOut(int fd, Slot& s) noexcept {
  auto ctl = real::epollCtl.get();
  if (ctl == nullptr) return;
  for (unsigned i = 0; i < s.nRegs; ++i) {
    if (s.regs[i].removed) continue;
    if (ctl(s.regs[i].epfd, EPOLL_CTL_DEL, fd, nullptr) == 0) s.regs[i].removed = true;
  }
}
void epollBack(int fd, Slot& s, bool all) noexcept {
  auto ctl = real::epollCtl.get();
  if (ctl == nullptr) return;
  for (unsigned i = 0; i < s.nRegs; ++i) {
    Reg& r = s.regs[i];
    if (!all && !r.removed) continue;
    epoll_event ev = r.ev;
    // After a hand-over the old socket is gone from every instance (dup3 dropped its last
    // reference); if the program holds it under another number too it stays registered
    // under this one, and the new socket takes its registration's place.
    if (ctl(r.epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST) {
      ev = r.ev;
      ctl(r.epfd, EPOLL_CTL_MOD, fd, &ev);
    }
    r.removed = false;
  }
}

// An attempt failed with `err`: traced, health fed, a fresh socket closed (the program's
// own keeps its state, as after its own failed connect). True when the error says the path
// is broken (read before the close).
bool settleAttempt(int fd, Slot& s, unsigned i, int err, int64_t now) noexcept {
  Attempt& t = s.a[i];
  const bool broken = pathBrokenOn(t.fd, err);
  t.live = false;
  Outcome& o = t.out();
  o.ms = msSince(t.startUs, now);
  if (i == 0) {
    s.firstError = err;
    epollOut(fd, s);  // a dead socket's level-triggered readiness would wake every wait
  }
  s.rt->finish(o, err);  // the first attempt too: the trace says why the next one started
  s.rt->connectResult(o, err, broken);
  if (i != 0) closeFd(t.fd);
  return broken;
}

void closeOthers(Slot& s, unsigned keep, int64_t now, const char* note, bool lost) noexcept {
  for (unsigned i = 0; i < s.n; ++i) {
    Attempt& t = s.a[i];
    if (i == keep || !t.live) continue;
    t.live = false;
    Outcome& o = t.out();
    o.ms = msSince(t.startUs, now);
    o.note = note;
    s.rt->finish(o, ECANCELED);
    if (lost && now - t.startUs >= s.delayUs) s.rt->raceLost(o);
    if (i != 0) closeFd(t.fd);
  }
}

// Attempt `i` connected: the others are closed, a fresh winner takes the program's number.
// True when the number now holds a connected socket.
bool win(int fd, Slot& s, unsigned i, int64_t now) noexcept {
  closeOthers(s, i, now, "lost the race", true);
  dropPrepared(s);  // made for an attempt that now never starts
  Attempt& t = s.a[i];
  t.live = false;
  Outcome& o = t.out();
  o.ms = msSince(t.startUs, now);
  bool ok = true;
  if (i != 0) {
    // The program's file status flags: a fresh socket has O_NONBLOCK alone of those F_SETFL
    // sets (freshSocketFor's SOCK_NONBLOCK), which is all a program's non-blocking socket
    // has but for O_ASYNC, O_APPEND and the like; only those need the call.
    if ((s.flags & kSetFlMask) != O_NONBLOCK) sys::fcntl(t.fd, F_SETFL, s.flags);
    ok = Runtime::adoptSocket(t.fd, fd);  // closes t.fd either way
    if (ok) epollBack(fd, s, true);
  }
  if (s.n > 1) s.rt->finish(o, ok ? 0 : errno);
  if (ok) s.rt->connectResult(o, 0);
  return ok;
}

}  // namespace

bool racing(int fd) noexcept {
  // The bitmap, not the slot: a poll of many descriptors touches one cache line, not a page
  // of the table per descriptor.
  return inRange(fd) &&
         (inUse[fd / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (fd % 64))) != 0;
}

bool begin(Runtime* rt, int fd, const Outcome& first, const sockaddr* addr, socklen_t len,
           int flags, int64_t startUs) noexcept {
  if (!inRange(fd) || len > sizeof(sockaddr_storage)) return false;
  Slot& s = slots[fd];
  uint32_t st = kFree;
  if (!s.state.compare_exchange_strong(st, kBusy, std::memory_order_acquire)) return false;
  detail::pendingCount.fetch_add(1, std::memory_order_relaxed);
  inUse[fd / 64].fetch_or(uint64_t{1} << (fd % 64), std::memory_order_relaxed);
  s.rt = rt;
  s.flags = flags;
  s.delayUs = static_cast<int64_t>(rt->attemptDelayMs()) * 1000;
  s.nextStartUs = startUs + s.delayUs;
  s.next = 1;
  s.n = 1;
  s.stop = false;
  s.firstError = 0;
  s.len = len;
  std::memcpy(&s.addr, addr, len);
  s.nRegs = 0;
  s.nLooked = 0;
  s.prepared = false;
  s.prepFd = -1;
  ++s.gen;
  Attempt& a0 = s.a[0];
  a0.fd = fd;
  a0.live = true;
  a0.startUs = startUs;
  std::memcpy(a0.o, &first, sizeof(Outcome));
  Outcome& o = a0.out();
  o.attempt = 1;
  // The name the trace shows may live in the resolver's tags, which a later lookup can
  // replace: the slot keeps its own copy.
  const size_t nl = o.name != nullptr ? strnlen(o.name, sizeof s.name - 1) : 0;
  if (nl != 0) std::memcpy(s.name, o.name, nl);
  s.name[nl] = '\0';
  o.name = s.name;
  s.state.store(kIdle, std::memory_order_release);
  return true;
}

Step advance(int fd, int64_t now, const Seen* seen) noexcept {
  Step st;
  if (!inRange(fd)) return st;
  uint32_t was;
  Slot* sp = claim(fd, false, &was);
  if (sp == nullptr) {
    st.state = was == kBusy ? State::Busy : State::NotRacing;
    return st;
  }
  Slot& s = *sp;
  if (was == kFailed) {
    st.state = State::Failed;
    st.error = s.firstError;
    release(fd, s, kFailed);
    return st;
  }
  // poll and connect below are cancellation points: a thread cancelled inside a step would
  // leave the slot busy for good. A step never waits, so cancellation is held off until
  // the caller's own wait.
  struct NoCancel {
    int old = 0;
    NoCancel() noexcept { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old); }
    ~NoCancel() { pthread_setcancelstate(old, nullptr); }
  } noCancel;
  ReentryGuard guard;
  const int savedErrno = errno;
  auto realPoll = real::poll.get();
  auto realGetsockopt = real::getsockopt.get();
  auto realConnect = real::connect.get();
  // 1. The attempts that completed: as the caller's wait saw them when no other step came
  // between (the live attempts are then those of the step it waited on, in its order: the
  // program's own first, then Step::fresh), otherwise a zero-timeout poll.
  const bool known = seen != nullptr && seen->gen == s.gen;
  ++s.gen;
  pollfd pf[policy::kMaxListed];
  unsigned which[policy::kMaxListed];
  unsigned np = 0;
  int ready = 0;
  for (unsigned i = 0; i < s.n; ++i) {
    if (!s.a[i].live) continue;
    short rev = 0;
    if (known) {
      rev = i == 0 ? seen->own : seen->fresh[np - (s.a[0].live ? 1 : 0)];
      rev &= POLLOUT | POLLERR | POLLHUP | POLLNVAL;  // what a poll for POLLOUT reports
      if (rev != 0) ++ready;
    }
    pf[np] = pollfd{s.a[i].fd, POLLOUT, rev};
    which[np++] = i;
  }
  if (np != 0 && !known && realPoll != nullptr) ready = realPoll(pf, np, 0);
  if (ready > 0) {
    for (unsigned k = 0; k < np; ++k) {
      if (pf[k].revents == 0) continue;
      const unsigned i = which[k];
      int err = 0;
      socklen_t sl = sizeof err;
      if (realGetsockopt(s.a[i].fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0) err = errno;
      if (err == 0 && (pf[k].revents & POLLOUT) == 0) err = ECONNABORTED;
      if (err == 0) {
        const bool ok = win(fd, s, i, now);
        release(fd, s, kFree);
        st.state = ok ? State::Connected : State::NotRacing;
        errno = savedErrno;
        return st;
      }
      if (settleAttempt(fd, s, i, err, now)) {
        s.nextStartUs = now;
      } else {
        s.stop = true;
      }
    }
  }
  // 2. The attempts that are due.
  for (;;) {
    while (!s.stop && s.next < s.a[0].out().decision.count && now >= s.nextStartUs &&
           s.n < policy::kMaxListed) {
      Attempt& t = s.a[s.n];
      Outcome next;
      int fresh;
      if (s.prepared && s.prepIndex == s.next) {
        fresh = s.prepFd;  // made ahead (below): only its connect is left
        s.prepared = false;
        s.prepFd = -1;
        if (fresh >= 0) std::memcpy(&next, t.o, sizeof(Outcome));
      } else {
        dropPrepared(s);  // (never: made for the decision's next PvD, which starts first)
        fresh = s.rt->freshSocketFor(fd, s.a[0].out(), s.next, &next, SOCK_NONBLOCK);
      }
      ++s.next;
      if (fresh < 0) continue;  // failed (health), unusable now, or cannot be pinned
      next.attempt = static_cast<uint8_t>(s.n + 1);
      next.name = s.name;
      std::memcpy(t.o, &next, sizeof(Outcome));
      t.fd = fresh;
      t.startUs = now;
      t.live = true;
      const unsigned i = s.n++;
      const Outcome& to = t.out();  // this PvD's own answer when the address was another's
      const int r = realConnect != nullptr
                        ? realConnect(fresh, to.destination(reinterpret_cast<const sockaddr*>(&s.addr)),
                                      to.destinationLength(s.len))
                        : -1;
      const int err = r == 0 ? 0 : errno;
      if (err == 0) {
        const bool ok = win(fd, s, i, now);
        release(fd, s, kFree);
        st.state = ok ? State::Connected : State::NotRacing;
        errno = savedErrno;
        return st;
      }
      if (err == EINPROGRESS) {
        s.nextStartUs = now + s.delayUs;
        break;
      }
      if (!settleAttempt(fd, s, i, err, now)) s.stop = true;
    }
    bool live = false;
    for (unsigned i = 0; i < s.n; ++i) live = live || s.a[i].live;
    const bool more = !s.stop && s.next < s.a[0].out().decision.count && s.n < policy::kMaxListed;
    if (live) break;
    if (more) {
      s.nextStartUs = now;  // nothing running: the next starts at once
      continue;
    }
    // 3. Every attempt failed: the program gets the first PvD's error on its own socket.
    dropPrepared(s);
    epollBack(fd, s, false);
    st.state = State::Failed;
    st.error = s.firstError;
    release(fd, s, kFailed);
    errno = savedErrno;
    return st;
  }
  st.state = State::Racing;
  st.ownLive = s.a[0].live;
  for (unsigned i = 1; i < s.n; ++i)
    if (s.a[i].live) st.fresh[st.nFresh++] = s.a[i].fd;
  const bool more = !s.stop && s.next < s.a[0].out().decision.count && s.n < policy::kMaxListed;
  if (!more) {
    dropPrepared(s);  // a refusal stopped the race: nothing more starts
  } else if (!s.prepared && s.nextStartUs - now <= kEarlyUs) {
    // 4. The next attempt starts within kEarlyUs: its socket is made now, so that at its
    // start only the connect is left (a fresh socket, ~30 option pairs carried, the pin:
    // 0.1-0.3 ms that would otherwise come after the start). The caller's wait reads the
    // clock again before waiting for the rest.
    Outcome next;
    s.prepared = true;
    s.prepIndex = s.next;
    s.prepFd = s.rt->freshSocketFor(fd, s.a[0].out(), s.next, &next, SOCK_NONBLOCK);
    if (s.prepFd >= 0) std::memcpy(s.a[s.n].o, &next, sizeof(Outcome));
  }
  st.nextStartUs = more ? s.nextStartUs : INT64_MAX;
  st.wakeUs = !more ? INT64_MAX : s.prepared ? s.nextStartUs : s.nextStartUs - kEarlyUs;
  st.gen = s.gen;
  release(fd, s, kIdle);
  errno = savedErrno;
  return st;
}

Step settleNow(int fd, int64_t nowUs) noexcept {
  Step st = advance(fd, nowUs);
  if (st.state != State::Failed) return st;
  uint32_t was;
  if (Slot* s = claim(fd, true, &was)) {
    if (was == kFailed) {
      release(fd, *s, kFree);  // the program has its error now
    } else {
      release(fd, *s, was);
    }
  }
  return st;
}

void end(int fd) noexcept {
  if (!inRange(fd)) return;
  uint32_t was;
  Slot* sp = claim(fd, true, &was);
  if (sp == nullptr) return;
  Slot& s = *sp;
  if (was != kFailed) {
    ReentryGuard guard;
    const int savedErrno = errno;
    const int64_t now = monotonicUs();
    for (unsigned i = 1; i < s.n; ++i) {
      Attempt& t = s.a[i];
      if (!t.live) continue;
      t.live = false;
      Outcome& o = t.out();
      o.ms = msSince(t.startUs, now);
      o.note = "abandoned: the program closed its descriptor";
      s.rt->finish(o, ECANCELED);
      closeFd(t.fd);
    }
    dropPrepared(s);
    errno = savedErrno;
  }
  release(fd, s, kFree);
}

void endRange(unsigned lo, unsigned hi) noexcept {
  for (unsigned w = lo / 64; w < kSlots / 64 && w <= hi / 64; ++w) {
    uint64_t bits = inUse[w].load(std::memory_order_relaxed);
    while (bits != 0) {
      const unsigned fd = w * 64 + static_cast<unsigned>(__builtin_ctzll(bits));
      bits &= bits - 1;
      if (fd >= lo && fd <= hi) end(static_cast<int>(fd));
    }
  }
}

void forgetAfterFork() noexcept {
  if (!pending()) return;
  for (int fd = 0; fd < kSlots; ++fd) {
    if (!racing(fd)) continue;
    Slot& s = slots[fd];
    const uint32_t st = s.state.load(std::memory_order_relaxed);
    if (st == kFree) continue;
    // The child has one thread: a slot Busy in the parent at fork time is no one's here.
    // Its table may be mid-step; the fresh descriptors noted as live are the child's
    // copies either way.
    if (st != kFailed) {
      for (unsigned i = 1; i < s.n && i < policy::kMaxListed; ++i)
        if (s.a[i].live) closeFd(s.a[i].fd);
      if (s.prepared && s.prepFd >= 0) closeFd(s.prepFd);
    }
    s.state.store(kFree, std::memory_order_relaxed);
  }
  for (auto& w : inUse) w.store(0, std::memory_order_relaxed);
  detail::pendingCount.store(0, std::memory_order_relaxed);
}

int noteEpoll(int fd, int epfd, int op, const epoll_event* ev) noexcept {
  if (!inRange(fd)) return -1;
  uint32_t was;
  Slot* sp = claim(fd, true, &was);
  if (sp == nullptr) return -1;
  Slot& s = *sp;
  unsigned i = 0;
  while (i < s.nRegs && s.regs[i].epfd != epfd) ++i;
  const bool removed = i < s.nRegs && s.regs[i].removed;
  int answer = -1;
  if (op == EPOLL_CTL_DEL) {
    if (i < s.nRegs) s.regs[i] = s.regs[--s.nRegs];
    if (removed) answer = 0;  // taken out by us while the first attempt is dead
  } else if (op == EPOLL_CTL_ADD && removed) {
    answer = -EEXIST;  // registered, as far as the program knows
  } else if ((op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && ev != nullptr) {
    if (i == s.nRegs && s.nRegs < kMaxRegs) ++s.nRegs;
    if (i < s.nRegs) {
      s.regs[i].epfd = epfd;
      std::memcpy(&s.regs[i].ev, ev, sizeof(epoll_event));
      s.regs[i].removed = removed;
      if (removed) answer = 0;  // kept for when the number is added back
    }
  }
  release(fd, s, was);
  return answer;
}

namespace {

// The registration of `fd` in epoll instance `epfd`, as the kernel shows it in
// /proc/self/fdinfo/EPFD ("tfd: FD events: HEX data: HEX ..."), for a registration the
// program made before its connect (the epoll_ctl hook saw no race then). No allocation:
// raw reads into a stack buffer, lines carried across reads.
bool epollRegOf(int epfd, int fd, epoll_event* out) noexcept {
  char path[40] = "/proc/self/fdinfo/";
  char digits[12];
  int nd = 0;
  for (unsigned v = static_cast<unsigned>(epfd); nd == 0 || v != 0; v /= 10) digits[nd++] = static_cast<char>('0' + v % 10);
  size_t at = std::strlen(path);
  while (nd > 0) path[at++] = digits[--nd];
  path[at] = '\0';
  const int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) return false;
  char buf[4096];
  size_t have = 0;
  bool found = false;
  for (;;) {
    const ssize_t r = read(f, buf + have, sizeof buf - 1 - have);
    if (r <= 0) break;
    have += static_cast<size_t>(r);
    buf[have] = '\0';
    char* line = buf;
    for (char* nl; !found && (nl = std::strchr(line, '\n')) != nullptr; line = nl + 1) {
      *nl = '\0';
      const char* t = std::strstr(line, "tfd:");
      const char* e = std::strstr(line, "events:");
      const char* d = std::strstr(line, "data:");
      if (t == nullptr || e == nullptr || d == nullptr || std::strtol(t + 4, nullptr, 10) != fd) continue;
      out->events = static_cast<uint32_t>(std::strtoul(e + 7, nullptr, 16));
      out->data.u64 = std::strtoull(d + 5, nullptr, 16);
      found = true;
    }
    if (found) break;
    have = static_cast<size_t>(buf + have - line);  // an unfinished line moves to the front
    std::memmove(buf, line, have);
    if (have == sizeof buf - 1) have = 0;  // a line longer than the buffer: not ours
  }
  closeFd(f);
  return found;
}

}  // namespace

unsigned racingIn(int epfd, EpollRacing* out, unsigned max) noexcept {
  unsigned n = 0;
  for (unsigned w = 0; w < kSlots / 64 && n < max; ++w) {
    uint64_t bits = inUse[w].load(std::memory_order_relaxed);
    while (bits != 0 && n < max) {
      const int fd = static_cast<int>(w * 64 + static_cast<unsigned>(__builtin_ctzll(bits)));
      bits &= bits - 1;
      uint32_t was;
      Slot* s = claim(fd, false, &was);
      if (s == nullptr) continue;
      unsigned i = 0;
      while (i < s->nRegs && s->regs[i].epfd != epfd) ++i;
      bool looked = i < s->nRegs;
      for (unsigned k = 0; k < s->nLooked && !looked; ++k) looked = s->looked[k] == epfd;
      if (!looked && s->nRegs < kMaxRegs && s->nLooked < kMaxRegs) {
        // The first wait on this instance since the race began: the program may have
        // registered the number before its connect.
        s->looked[s->nLooked++] = epfd;
        epoll_event ev{};
        ReentryGuard guard;
        const int savedErrno = errno;
        if (epollRegOf(epfd, fd, &ev)) {
          s->regs[i] = Reg{epfd, false, ev};
          ++s->nRegs;
        }
        errno = savedErrno;
      }
      if (i < s->nRegs) out[n++] = EpollRacing{fd, s->regs[i].ev.data.u64};
      release(fd, *s, was);
    }
  }
  return n;
}

}  // namespace mif::preload::nbrace
