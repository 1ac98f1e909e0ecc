// Happy Eyeballs across PvDs (RFC 8305 section 5, issue 30): a blocking TCP connect whose
// decision lists several PvDs is raced across them.
//
// The program's own socket is the first attempt, pinned to the first PvD by connectLike.
// Its blocking connect runs in the kernel as without mif, with SO_SNDTIMEO set to just
// under the connection attempt delay (armRace): a connect that completes within it returns
// as usual, and one that does not returns EINPROGRESS while the kernel goes on connecting;
// race() waits on it for the rest of the delay (ppoll, to the microsecond).
// race() then starts the next PvD's attempt on a fresh non-blocking socket (the program's
// options carried, pinned to that PvD: Runtime::freshSocketFor), and another after each
// further delay, or at once when an attempt fails on the path; it polls every live attempt
// and the first to connect wins. A fresh winner gets the program's file status flags back
// and takes the program's descriptor number (dup3, close-on-exec kept: adoptSocket); the
// losers are closed, and one that ran a whole attempt delay without completing degrades its
// PvD. When every attempt fails the program gets the first PvD's error on its own socket,
// as without mif.
#include "connect_race.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "guard.h"
#include "hook.h"
#include "known_fds.h"
#include "mif/sys/calls.h"
#include "monotonic.h"
#include "path_error.h"
#include "race_timing.h"

namespace mif::preload {
namespace {

// Whether the program's own blocking connect, interrupted by a signal, would have been
// restarted by the kernel instead of failing with EINTR: only when every handler the
// process installed has SA_RESTART (the signal that interrupted is not known). With its
// own SO_SNDTIMEO set a connect is never restarted (signal(7)). Only on the EINTR path.
bool signalsRestart() noexcept {
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa;
    if (sigaction(sig, nullptr, &sa) != 0) continue;  // glibc's internal signals
    if ((sa.sa_flags & SA_SIGINFO) == 0 && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
      continue;
    if ((sa.sa_flags & SA_RESTART) == 0) return false;
  }
  return true;
}

struct Attempt {
  int fd = -1;
  Outcome o;
  int64_t startUs = 0;
  bool live = false;
};

// The next attempt's socket made ahead of its start (Race::run); closed if never started.
class Prepared {
 public:
  explicit Prepared(real::CloseFn close) noexcept : close_(close) {}
  ~Prepared() {
    if (fd < 0) return;
    const int saved = errno;  // the race's outcome for the program
    close_(fd);
    errno = saved;
  }
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;
  int take() noexcept {
    const int f = fd;
    fd = -1;
    return f;
  }

  unsigned index = 0;  // the decision's PvD it was made for (0: none made)
  int fd = -1;

 private:
  real::CloseFn close_;
};

int32_t msSince(int64_t startUs, int64_t now) noexcept {
  return static_cast<int32_t>((now - startUs) / 1000);
}

class Race {
 public:
  Race(Runtime* rt, real::ConnectFn realConnect, int fd, const sockaddr* addr, socklen_t len,
       const RacePrep& p, const ErrnoKeeper& keep) noexcept
      : rt_(rt), connect_(realConnect), close_(real::close.get()), fd_(fd), addr_(addr),
        len_(len), p_(p), keep_(keep) {}

  // `firstBroken`: the first attempt's error says its path is broken (pathBrokenOn, read
  // by the hook before disarming: the error queue it may need is emptied then).
  int run(Outcome& first, int firstErr, bool firstBroken) {
    // Tightened for each wait that ends at an attempt's start, put back when it returns.
    TightTimers timers(false);
    first.ownName(name_);
    Attempt& a0 = a_[0];
    a0.fd = fd_;
    a0.o = first;
    a0.o.attempt = 1;
    a0.startUs = p_.startUs;
    n_ = 1;
    const policy::Decision& d = first.decision;
    int64_t now = monotonicUs();
    bool interrupted = false;
    int64_t nextStartUs = now;
    if (firstErr == EINPROGRESS) {
      // The kernel's timeout (armed a tick short, armRace) ended: the rest of the delay is
      // waited for below, to the microsecond.
      a0.live = true;
      nextStartUs = p_.startUs + p_.delayUs;
    } else if (firstErr == EINTR) {
      a0.live = true;
      interrupted = true;
      nextStartUs = p_.startUs + p_.delayUs;
    } else {
      settle(a0, firstErr, now, firstBroken);  // failed on the path within the delay: next now
    }
    const int64_t deadline = p_.programTimeoutUs != 0 ? p_.startUs + p_.programTimeoutUs : INT64_MAX;
    unsigned next = 1;  // the decision's next PvD to start
    bool stop = false;  // a server answered (a refusal): no further attempt starts
    Prepared prep(close_);
    for (;;) {
      if (interrupted) {
        interrupted = false;
        bool restart;
        {
          ReentryGuard guard;
          restart = p_.programTimeoutUs == 0 && signalsRestart();
        }
        if (!restart) return giveUp(EINTR);
      }
      now = monotonicUs();
      if (now >= deadline) return giveUp(EINPROGRESS);
      while (!stop && next < d.count && now >= nextStartUs && n_ < policy::kMaxListed) {
        Attempt& t = a_[n_];
        int fresh;
        if (prep.index == next) {
          fresh = prep.take();  // t.o was filled when it was made; -1 if that failed
        } else {
          ReentryGuard guard;
          fresh = rt_->freshSocketFor(fd_, first, next, &t.o, SOCK_NONBLOCK);
        }
        ++next;
        if (fresh < 0) continue;  // failed (health), unusable now, or cannot be pinned
        t.fd = fresh;
        t.o.attempt = static_cast<uint8_t>(n_ + 1);
        t.startUs = now;
        ++n_;
        const int r = connect_(fresh, t.o.destination(addr_), t.o.destinationLength(len_));
        const int err = r == 0 ? 0 : errno;
        if (err == 0) return win(t, now);
        if (err == EINPROGRESS) {
          t.live = true;
          nextStartUs = now + p_.delayUs;
          break;
        }
        if (!settle(t, err, now)) stop = true;
      }
      pollfd pf[policy::kMaxListed];
      unsigned which[policy::kMaxListed];
      unsigned np = 0;
      for (unsigned i = 0; i < n_; ++i) {
        if (!a_[i].live) continue;
        pf[np] = pollfd{a_[i].fd, POLLOUT, 0};
        which[np++] = i;
      }
      const bool more = !stop && next < d.count && n_ < policy::kMaxListed;
      if (np == 0) {
        if (more) {
          nextStartUs = now;
          continue;
        }
        errno = firstError_;  // every attempt failed: the first PvD's error, its socket
        return -1;
      }
      // The next attempt's socket is made, its options carried and pinned while the first
      // attempt's last milliseconds run (the kernel's timeout ends kEarlyUs before the
      // delay, armRace), so that at the delay only its connect is left to start.
      if (more && prep.index == 0 && nextStartUs > now && nextStartUs - now <= 2 * kEarlyUs) {
        prep.index = next;
        ReentryGuard guard;
        prep.fd = rt_->freshSocketFor(fd_, first, next, &a_[n_].o, SOCK_NONBLOCK);
        now = monotonicUs();  // the wait below ends at the start, not the making's length late
      }
      // A wait that ends at the next start ends kLeadUs before it, with a 1 ns timer slack,
      // and the rest is spun (race_timing.h): the timer's and the scheduler's lateness is
      // spent before the start, not after it.
      const bool toStart = more && nextStartUs < deadline;
      const int64_t until = toStart ? nextStartUs - kLeadUs : deadline;
      if (toStart) timers.tighten();
      // ppoll: a timeout to the microsecond (poll's milliseconds would start the next
      // attempt up to 1 ms late).
      timespec left{};
      if (until != INT64_MAX && until > now) {
        left.tv_sec = static_cast<time_t>((until - now) / 1000000);
        left.tv_nsec = static_cast<long>((until - now) % 1000000) * 1000;
      }
      const int r = real::ppoll.get()(pf, np, until == INT64_MAX ? nullptr : &left, nullptr);
      if (toStart) timers.relax();  // the program's slack back before the start
      if (r < 0) {
        interrupted = true;  // EINTR (ENOMEM ends the call the same way)
        continue;
      }
      if (r == 0) {
        if (toStart) spinUntil(nextStartUs);
        continue;
      }
      now = monotonicUs();
      for (unsigned k = 0; k < np; ++k) {
        if (pf[k].revents == 0) continue;
        Attempt& t = a_[which[k]];
        int err = 0;
        socklen_t sl = sizeof err;
        if (getsockopt(t.fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0) err = errno;
        if (err == 0 && (pf[k].revents & POLLOUT) == 0) err = ECONNABORTED;
        if (err == 0) return win(t, now);
        if (settle(t, err, now)) {
          nextStartUs = now;
        } else {
          stop = true;
        }
      }
    }
  }

 private:
  // An attempt failed with `err`: traced, health fed, a fresh socket closed (the program's
  // own keeps its state, as after its own failed connect). True when the error says the
  // path is broken (`known`: already read, 0 or 1; -1: read it now, before the close).
  bool settle(Attempt& t, int err, int64_t now, int known = -1) noexcept {
    t.live = false;
    t.o.ms = msSince(t.startUs, now);
    if (&t == &a_[0]) firstError_ = err;
    bool broken;
    if (known >= 0) {
      broken = known != 0;
    } else {
      ReentryGuard guard;
      broken = pathBrokenOn(t.fd, err);
    }
    rt_->finish(t.o, err);
    rt_->connectResult(t.o, err, broken);
    if (t.fd != fd_) {
      ReentryGuard guard;
      close_(t.fd);
    }
    return broken;
  }

  // Closes every live attempt but `keep` (traced with ECANCELED and `note`); those that ran
  // a whole attempt delay lost the race when `lost`.
  void closeOthers(const Attempt& keep, int64_t now, bool lost) noexcept {
    for (unsigned i = 0; i < n_; ++i) {
      Attempt& t = a_[i];
      if (&t == &keep || !t.live) continue;
      t.live = false;
      t.o.ms = msSince(t.startUs, now);
      t.o.note = lost ? "lost the race" : "abandoned: the program's connect ended";
      rt_->finish(t.o, ECANCELED);
      if (lost && now - t.startUs >= p_.delayUs) rt_->raceLost(t.o);
      if (t.fd != fd_) {
        ReentryGuard guard;
        close_(t.fd);
      }
    }
  }

  // A fresh attempt's socket becomes the program's descriptor: the program's file status
  // flags (blocking), then dup3 onto its number.
  bool handOver(Attempt& t) noexcept {
    if (t.fd == fd_) return true;
    ReentryGuard guard;
    sys::fcntl(t.fd, F_SETFL, p_.flags);
    const bool ok = Runtime::adoptSocket(t.fd, fd_);  // closes t.fd either way
    t.fd = fd_;
    return ok;
  }

  int win(Attempt& t, int64_t now) noexcept {
    closeOthers(t, now, true);
    t.live = false;
    t.o.ms = msSince(t.startUs, now);
    if (!handOver(t)) {
      const int err = errno;
      rt_->finish(t.o, err);
      errno = err;
      return -1;
    }
    rt_->finish(t.o, 0);
    rt_->connectResult(t.o, 0);
    keep_.restore();
    return 0;
  }

  // The program's call ends before any attempt connected (a signal, its own SO_SNDTIMEO):
  // the latest attempt started keeps connecting on its descriptor, as its own socket would.
  int giveUp(int err) noexcept {
    const int64_t now = monotonicUs();
    Attempt* keep = nullptr;
    for (unsigned i = n_; i-- > 0;) {
      if (a_[i].live) {
        keep = &a_[i];
        break;
      }
    }
    if (keep == nullptr) {
      errno = firstError_ != 0 ? firstError_ : err;
      return -1;
    }
    closeOthers(*keep, now, false);
    keep->o.ms = msSince(keep->startUs, now);
    if (!handOver(*keep)) err = errno;
    rt_->finish(keep->o, err);
    errno = err;
    return -1;
  }

  Runtime* rt_;
  real::ConnectFn connect_;
  real::CloseFn close_;
  int fd_;
  const sockaddr* addr_;
  socklen_t len_;
  const RacePrep& p_;
  const ErrnoKeeper& keep_;
  Attempt a_[policy::kMaxListed];
  char name_[256];  // the trace's name, and the tag's name an attempt re-resolves
  unsigned n_ = 0;
  int firstError_ = 0;
};

}  // namespace

bool raceContinues(int err, bool broken) noexcept {
  return err == EINPROGRESS || err == EINTR || broken;
}

bool armRace(const Runtime* rt, int fd, const Outcome& o, RacePrep* p) noexcept {
  // Blocking or not: known for a socket made through the socket() hook whose flags no
  // fcntl(F_SETFL) or ioctl(FIONBIO) of the program's may have changed since (known_fds.h);
  // asked otherwise.
  int fl = o.knownFresh ? knownfd::statusFlags(fd) : -1;
  p->flagsKnown = fl >= 0;
  if (fl < 0) fl = sys::fcntl(fd, F_GETFL, 0);
  if (fl < 0) return false;
  // A local port of the program's own (bind before connect) would be lost on a fresh
  // socket. connectLike's source bind fails (EINVAL) on a socket the program bound; without
  // a source to bind, getsockname says (port 0 until connect picks one).
  if (o.hasSource) {
    if (!o.sourceBound) return false;
  } else if (!(o.knownFresh && knownfd::notBound(fd))) {
    sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) return false;
    if (ss.ss_family == AF_INET && reinterpret_cast<sockaddr_in*>(&ss)->sin_port != 0) return false;
    if (ss.ss_family == AF_INET6 && reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port != 0) return false;
  }
  if ((fl & O_NONBLOCK) != 0) {
    p->nonBlocking = true;  // raced in the program's waits (nb_race.h)
    p->flags = fl;
    // The attempt delay runs from before the first attempt's connect, as the blocking
    // race's: taken after it, the next start came that connect's own length late (its SYN
    // sent inside the call: 20-40 us).
    p->startUs = monotonicUs();
    return false;
  }
  // The program's timeout: none on a socket it never set one on (known_fds.h).
  timeval tv{};
  socklen_t tl = sizeof tv;
  if (!(o.knownFresh && knownfd::defaultSendTimeout(fd)) &&
      sys::getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl) != 0) {
    return false;
  }
  const int64_t programUs = static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
  const int64_t delayUs = static_cast<int64_t>(rt->attemptDelayMs()) * 1000;
  // The program's own timeout ends its connect before a second attempt would start.
  if (programUs != 0 && programUs <= delayUs) return false;
  // The kernel keeps a socket's timeout in scheduler ticks (rounded up) and wakes on a
  // tick: a connect armed with the whole delay returns up to a tick late (252 ms for 250 at
  // HZ 250, more under load). Armed 10 ms short (a tick at HZ 100, the coarsest), it
  // returns before the delay ends, and race() waits for the rest with ppoll.
  const int64_t armUs = delayUs > 2 * kEarlyUs ? delayUs - kEarlyUs : delayUs;
  const timeval delay{static_cast<time_t>(armUs / 1000000), static_cast<suseconds_t>(armUs % 1000000)};
  if (sys::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &delay, sizeof delay) != 0) return false;
  p->armed = true;
  // An ICMP error on the way is told from the server's RST by the error queue, which IPv6
  // fills only with IPV6_RECVERR (path_error.h). IPv4 (a mapped address too) needs nothing.
  p->recvErr = o.endpoint.socketFamily == AF_INET6 &&
               o.endpoint.addr.family == policy::Family::V6 && armRecvErr(fd, AF_INET6);
  p->flags = fl;
  p->programTimeout = tv;
  p->programTimeoutUs = programUs;
  p->delayUs = delayUs;
  p->startUs = monotonicUs();
  return true;
}

bool nonBlockingAfterAll(int fd, RacePrep* p) noexcept {
  const int fl = sys::fcntl(fd, F_GETFL, 0);
  if (fl >= 0 && (fl & O_NONBLOCK) == 0) return false;  // blocking, as the hooks knew
  p->armed = false;
  p->flagsKnown = false;
  if (fl < 0) return true;  // closed meanwhile: the kernel's answer stands, no race
  // Changed where no hook could see (a raw fcntl): no socket made so far is trusted for it.
  knownfd::programSetFlags();
  p->nonBlocking = true;
  p->flags = fl;
  return true;
}

void disarmRace(int fd, const RacePrep& p) noexcept {
  sys::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &p.programTimeout, sizeof p.programTimeout);
  if (p.recvErr) disarmRecvErr(fd);
}

int race(Runtime* rt, real::ConnectFn realConnect, int fd, const sockaddr* addr, socklen_t len,
         Outcome& first, int firstErr, bool firstBroken, const RacePrep& p,
         const ErrnoKeeper& keep) {
  // Stream sockets only: a datagram connect sends nothing, and one that failed is the
  // program's to see (datagrams follow health instead).
  int type = 0;
  {
    ReentryGuard guard;
    socklen_t tl = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) type = -1;
  }
  if (type != SOCK_STREAM) {
    rt->finish(first, firstErr);
    rt->connectResult(first, firstErr, firstBroken);
    errno = firstErr;
    return -1;
  }
  Race r(rt, realConnect, fd, addr, len, p, keep);
  return r.run(first, firstErr, firstBroken);
}

}  // namespace mif::preload
