// The program's waits with a non-blocking race pending (wait_race.h). Each loop round steps
// every racing descriptor of the wait (nbrace::advance: settles what completed, starts what
// is due, hands a winner over), then waits in the kernel on the program's own descriptors
// plus the races' fresh sockets until the program's deadline or the next attempt's start,
// whichever is first. The program's call returns once one of its own descriptors is ready
// (a race that ended counts: its number is ready), its timeout has passed, or a signal
// interrupted the wait; what it sees is read by a last zero-timeout poll of its own array
// with the descriptors still racing masked, so it never sees a fresh socket, nor the dead
// socket of a first attempt that failed while another still runs.
#include "wait_race.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "caller_memory.h"
#include "monotonic.h"
#include "nb_race.h"
#include "race_timing.h"
#include "real_libc.h"

namespace mif::preload::nbrace {
namespace {

constexpr unsigned kMaxRacing = 16;  // racing entries handled per wait; more wait plainly

// A pollfd array: on the stack for the usual few descriptors, mmap'd beyond (never
// malloc: a wait may be made from a signal handler).
class Scratch {
 public:
  explicit Scratch(size_t n) noexcept {
    if (n <= kStack) {
      p_ = stack_;
      return;
    }
    bytes_ = n * sizeof(pollfd);
    void* m = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      bytes_ = 0;
      return;
    }
    p_ = static_cast<pollfd*>(m);
  }
  ~Scratch() {
    if (bytes_ != 0) munmap(p_, bytes_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  pollfd* get() const noexcept { return p_; }

 private:
  static constexpr size_t kStack = 64;
  pollfd stack_[kStack];
  pollfd* p_ = nullptr;
  size_t bytes_ = 0;
};

timespec toTimespec(int64_t us) noexcept {
  if (us < 0) us = 0;
  return timespec{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
}

bool isIn(nfds_t i, const nfds_t* list, unsigned n) noexcept {
  for (unsigned k = 0; k < n; ++k)
    if (list[k] == i) return true;
  return false;
}

// When pollRacing's and epollRacing's own waits end, and how (race_timing.h): at the
// earliest Step::wakeUs of the races stepped this round (an attempt's start winning a tie),
// and a wait that ends at a start ends kLeadUs short of it with a 1 ns timer slack, the
// rest spun at the next round's top, so that the timer's and the scheduler's lateness is
// spent before the start, not after it.
class WakeClock {
 public:
  // The round's clock, spun to the start the last wait ended short of.
  int64_t top() noexcept {
    int64_t now = monotonicUs();
    if (spinTo_ != 0) {
      if (now < spinTo_) now = spinUntil(spinTo_);
      spinTo_ = 0;
    }
    next_ = INT64_MAX;
    nextIsStart_ = false;
    return now;
  }
  void consider(const Step& s) noexcept {
    if (s.wakeUs < next_ || (s.wakeUs == next_ && !nextIsStart_)) {
      next_ = s.wakeUs;
      nextIsStart_ = s.wakeUs == s.nextStartUs;
    }
  }
  // When the wait ends (INT64_MAX: never); the thread's slack tightened when at a start.
  int64_t waitUntil(int64_t deadline) noexcept {
    toStart_ = nextIsStart_ && next_ <= deadline;
    if (!toStart_) return std::min(deadline, next_);
    timers_.tighten();
    return next_ - kLeadUs;
  }
  // The wait returned r: the program's slack back before the start, and a timeout that
  // ended short of a start spun at the next top().
  void waited(int r) noexcept {
    if (!toStart_) return;
    timers_.relax();
    if (r == 0) spinTo_ = next_;
  }
  // Before a plain wait of the program's.
  void relax() noexcept { timers_.relax(); }

 private:
  TightTimers timers_{false};
  int64_t spinTo_ = 0;  // the start the last wait ended kLeadUs short of
  int64_t next_ = INT64_MAX;
  bool nextIsStart_ = false;
  bool toStart_ = false;
};

}  // namespace

nfds_t buildWait(const pollfd* fds, nfds_t n, const RacingEntry* racing, unsigned nRacing,
                 pollfd* out) {
  for (nfds_t i = 0; i < n; ++i) out[i] = pollfd{fds[i].fd, fds[i].events, 0};
  nfds_t total = n;
  for (unsigned k = 0; k < nRacing; ++k) {
    const RacingEntry& r = racing[k];
    if (!r.ownLive) out[r.index].fd = -1;  // ignored by the kernel, revents 0
    for (unsigned f = 0; f < r.nFresh; ++f) out[total++] = pollfd{r.fresh[f], POLLOUT, 0};
  }
  return total;
}

int reportWait(pollfd* fds, nfds_t n, const pollfd* kernel, const nfds_t* stillRacing,
               unsigned nStill, const nfds_t* failed, unsigned nFailed) {
  int ready = 0;
  for (nfds_t i = 0; i < n; ++i) {
    short rev = isIn(i, stillRacing, nStill) ? 0 : kernel[i].revents;
    if (rev != 0 && isIn(i, failed, nFailed)) rev |= POLLERR;
    fds[i].revents = rev;
    if (rev != 0) ++ready;
  }
  return ready;
}

int pollRacing(pollfd* fds, nfds_t n, int64_t timeoutUs, const sigset_t* mask, bool* handled) {
  *handled = false;
  // Memory the kernel would refuse (EFAULT) or a count it would (EINVAL) is left to it.
  if (n == 0 || n > (1u << 20) || !mifCallerReadable(fds, n * sizeof(pollfd), __builtin_frame_address(0)))
    return 0;
  nfds_t idx[kMaxRacing];
  unsigned m = 0;
  for (nfds_t i = 0; i < n && m < kMaxRacing; ++i)
    if (fds[i].fd >= 0 && (fds[i].events & POLLOUT) != 0 && racing(fds[i].fd)) idx[m++] = i;
  if (m == 0) return 0;
  *handled = true;
  auto realPpoll = real::ppoll.get();
  auto realPoll = real::poll.get();
  if (realPpoll == nullptr || realPoll == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const int64_t deadline = timeoutUs < 0 ? INT64_MAX : monotonicUs() + timeoutUs;
  Step st[kMaxRacing];
  // What the last wait saw of each race's attempts (the next step's poll; nb_race.h).
  Seen seen[kMaxRacing];
  bool haveSeen = false;
  WakeClock clock;
  for (;;) {
    const int64_t now = clock.top();
    bool resolved = false;
    size_t extras = 0;
    for (unsigned k = 0; k < m;) {
      st[k] = advance(fds[idx[k]].fd, now, haveSeen ? &seen[k] : nullptr);
      if (st[k].state == State::Busy) {
        // Another thread (or a signal handler's interrupted caller) is stepping it: this
        // wait treats the number as a plain descriptor.
        idx[k] = idx[--m];
        seen[k] = seen[m];  // the entry moved here is stepped next, with what was seen of it
        continue;
      }
      if (st[k].state == State::Racing) {
        extras += st[k].nFresh;
        clock.consider(st[k]);
      } else {
        resolved = true;
      }
      ++k;
    }
    haveSeen = false;
    if (m == 0) {  // nothing of ours left in this wait: the program's own, for the time left
      clock.relax();
      if (deadline == INT64_MAX) return realPpoll(fds, n, nullptr, mask);
      timespec left = toTimespec(deadline - now);
      return realPpoll(fds, n, &left, mask);
    }
    if (resolved || timeoutUs == 0 || now >= deadline) break;
    Scratch buf(n + extras);
    if (buf.get() == nullptr) {
      errno = ENOMEM;
      return -1;
    }
    RacingEntry re[kMaxRacing];
    for (unsigned k = 0; k < m; ++k)
      re[k] = RacingEntry{idx[k], st[k].state == State::Racing && st[k].ownLive, st[k].nFresh, st[k].fresh};
    const nfds_t total = buildWait(fds, n, re, m, buf.get());
    const int64_t until = clock.waitUntil(deadline);
    // From now: a step above may have made a socket (advance's preparation).
    timespec ts = toTimespec(until - monotonicUs());
    const int r = realPpoll(buf.get(), total, until == INT64_MAX ? nullptr : &ts, mask);
    clock.waited(r);
    if (r < 0) return -1;
    // What the wait saw of each race's attempts: the next step's poll (nb_race.h, Seen).
    nfds_t at = n;
    for (unsigned k = 0; k < m; ++k) {
      seen[k].gen = st[k].gen;
      seen[k].own = re[k].ownLive ? buf.get()[idx[k]].revents : 0;
      for (unsigned f = 0; f < st[k].nFresh; ++f) seen[k].fresh[f] = buf.get()[at++].revents;
    }
    haveSeen = true;
    bool visible = false;
    for (nfds_t i = 0; i < n && !visible; ++i)
      visible = buf.get()[i].revents != 0 && !isIn(i, idx, m);
    if (visible) break;
  }
  // What the program sees.
  const int64_t now = monotonicUs();
  nfds_t still[kMaxRacing], failed[kMaxRacing];
  unsigned nStill = 0, nFailed = 0;
  for (unsigned k = 0; k < m; ++k) {
    if (st[k].state == State::Racing) st[k] = advance(fds[idx[k]].fd, now, haveSeen ? &seen[k] : nullptr);
    if (st[k].state == State::Racing || st[k].state == State::Busy) still[nStill++] = idx[k];
    if (st[k].state == State::Failed) failed[nFailed++] = idx[k];
  }
  Scratch buf(n);
  if (buf.get() == nullptr) {
    errno = ENOMEM;
    return -1;
  }
  buildWait(fds, n, nullptr, 0, buf.get());
  for (unsigned k = 0; k < nStill; ++k) buf.get()[still[k]].fd = -1;
  if (realPoll(buf.get(), n, 0) < 0) return -1;
  return reportWait(fds, n, buf.get(), still, nStill, failed, nFailed);
}

int selectRacing(int nfds, fd_set* r, fd_set* w, fd_set* e, int64_t timeoutUs,
                 const sigset_t* mask, int64_t* remainingUs, bool* handled) {
  *handled = false;
  if (w == nullptr || nfds <= 0 || nfds > FD_SETSIZE) return 0;
  const size_t bytes = (static_cast<size_t>(nfds) + 7) / 8;
  const void* frame = __builtin_frame_address(0);
  if (!mifCallerReadable(w, bytes, frame) || (r != nullptr && !mifCallerReadable(r, bytes, frame)) ||
      (e != nullptr && !mifCallerReadable(e, bytes, frame)))
    return 0;
  bool any = false;
  for (int fd = 0; fd < nfds && !any; ++fd) any = FD_ISSET(fd, w) && racing(fd);
  if (!any) return 0;
  *handled = true;
  Scratch pf(static_cast<size_t>(nfds));
  if (pf.get() == nullptr) {
    errno = ENOMEM;
    return -1;
  }
  nfds_t n = 0;
  for (int fd = 0; fd < nfds; ++fd) {
    short ev = 0;
    if (r != nullptr && FD_ISSET(fd, r)) ev |= POLLIN;
    if (FD_ISSET(fd, w)) ev |= POLLOUT;
    if (e != nullptr && FD_ISSET(fd, e)) ev |= POLLPRI;
    if (ev != 0) pf.get()[n++] = pollfd{fd, ev, 0};
  }
  const int64_t start = monotonicUs();
  bool h = false;
  const int rc = pollRacing(pf.get(), n, timeoutUs, mask, &h);
  if (remainingUs != nullptr && timeoutUs >= 0)
    *remainingUs = std::max<int64_t>(0, timeoutUs - (monotonicUs() - start));
  if (rc < 0) return -1;
  for (nfds_t i = 0; i < n; ++i) {
    if (pf.get()[i].revents & POLLNVAL) {
      errno = EBADF;
      return -1;
    }
  }
  // As the kernel's select: readable includes hang-up and error, writable includes error.
  int ready = 0;
  for (nfds_t i = 0; i < n; ++i) {
    const int fd = pf.get()[i].fd;
    const short ev = pf.get()[i].events, rev = pf.get()[i].revents;
    if (ev & POLLIN) {
      FD_CLR(fd, r);
      if (rev & (POLLIN | POLLHUP | POLLERR)) FD_SET(fd, r), ++ready;
    }
    if (ev & POLLOUT) {
      FD_CLR(fd, w);
      if (rev & (POLLOUT | POLLERR)) FD_SET(fd, w), ++ready;
    }
    if (ev & POLLPRI) {
      FD_CLR(fd, e);
      if (rev & POLLPRI) FD_SET(fd, e), ++ready;
    }
  }
  return ready;
}

int epollRacing(int epfd, epoll_event* events, int maxevents, int64_t timeoutUs,
                const sigset_t* mask, bool* handled) {
  *handled = false;
  EpollRacing list[kMaxRacing];
  unsigned m = racingIn(epfd, list, kMaxRacing);
  if (m == 0 || maxevents <= 0) return 0;
  *handled = true;
  auto realPpoll = real::ppoll.get();
  auto realWait = real::epollWait.get();
  auto realPwait = real::epollPwait.get();
  if (realPpoll == nullptr || realWait == nullptr || realPwait == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const int64_t deadline = timeoutUs < 0 ? INT64_MAX : monotonicUs() + timeoutUs;
  Step st[kMaxRacing];
  WakeClock clock;
  for (;;) {
    int64_t now = clock.top();
    bool resolved = false;
    pollfd pf[1 + kMaxRacing * policy::kMaxListed];
    nfds_t np = 1;
    pf[0] = pollfd{epfd, POLLIN, 0};
    for (unsigned k = 0; k < m;) {
      st[k] = advance(list[k].fd, now);
      if (st[k].state == State::Busy) {  // stepped elsewhere: a plain registration here
        list[k] = list[--m];
        continue;
      }
      if (st[k].state == State::Racing) {
        for (unsigned f = 0; f < st[k].nFresh; ++f) pf[np++] = pollfd{st[k].fresh[f], POLLOUT, 0};
        clock.consider(st[k]);
      } else {
        resolved = true;
      }
      ++k;
    }
    if (m == 0) {
      clock.relax();
      const int64_t left = deadline == INT64_MAX ? -1 : (deadline - now + 999) / 1000;
      return realPwait(epfd, events, maxevents, left > INT_MAX ? INT_MAX : static_cast<int>(left), mask);
    }
    bool look = resolved || timeoutUs == 0 || now >= deadline;
    if (!look) {
      const int64_t until = clock.waitUntil(deadline);
      timespec ts = toTimespec(until - monotonicUs());
      const int r = realPpoll(pf, np, until == INT64_MAX ? nullptr : &ts, mask);
      clock.waited(r);
      if (r < 0) return -1;
      look = pf[0].revents != 0;
      now = monotonicUs();
      if (!look && now < deadline) continue;
      // The races moved, or the deadline passed: step them before the program looks.
      for (unsigned k = 0; k < m; ++k)
        if (st[k].state == State::Racing) st[k] = advance(list[k].fd, now);
    }
    // The program's own events, without those of its descriptors still racing (their first
    // socket's readiness says nothing the program should see yet).
    const int r = realWait(epfd, events, maxevents, 0);
    if (r < 0) return -1;
    int kept = 0;
    for (int i = 0; i < r; ++i) {
      bool drop = false;
      for (unsigned k = 0; k < m && !drop; ++k)
        drop = st[k].state == State::Racing && events[i].data.u64 == list[k].data;
      if (!drop) events[kept++] = events[i];
    }
    now = monotonicUs();
    if (kept > 0 || timeoutUs == 0 || now >= deadline) return kept;
    // Races that ended and showed nothing: no longer part of this wait.
    unsigned still = 0;
    for (unsigned k = 0; k < m; ++k) {
      if (st[k].state != State::Racing) continue;
      list[still] = list[k];
      st[still++] = st[k];
    }
    m = still;
    if (m == 0) {
      clock.relax();
      const int64_t left = deadline == INT64_MAX ? -1 : (deadline - now + 999) / 1000;
      return realPwait(epfd, events, maxevents, left > INT_MAX ? INT_MAX : static_cast<int>(left), mask);
    }
  }
}

}  // namespace mif::preload::nbrace
