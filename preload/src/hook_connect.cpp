// connect(2) and its glibc alias __connect: decide, pin the socket, then the real call.
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>

#include <cstdint>

#include "connect_race.h"
#include "datagram_cache.h"
#include "unicast_if.h"
#include "guard.h"
#include "known_fds.h"
#include "mif/sys/calls.h"
#include "monotonic.h"
#include "nb_race.h"
#include "path_error.h"
#include "hook.h"
#include "real_libc.h"
#include "runtime.h"

namespace mif::preload {
namespace {

int32_t elapsedMs(int64_t start) noexcept {
  return start < 0 ? -1 : static_cast<int32_t>((monotonicUs() - start) / 1000);
}

// A blocking connect that failed on the decision's first PvD with a path-broken error
// (Runtime::mayFailOver): each next PvD of the list is tried on a fresh socket pinned to
// it, which takes the program's descriptor number once connected (docs/architecture.md,
// "Failover"). The program sees the first success, or, when every PvD failed, the first
// error on its own untouched socket, as without failover. A connect interrupted by a
// signal (EINTR) or ended by SO_SNDTIMEO (EINPROGRESS) keeps going on the fresh socket,
// which the program gets with that error, as it would have with its own.
// Not noexcept: connect is a cancellation point.
int failOver(Runtime* rt, real::ConnectFn realConnect, int fd, const sockaddr* addr,
             socklen_t len, Outcome& first, int firstErr, int64_t start, const ErrnoKeeper& keep) {
  char name[256];
  first.ownName(name);
  first.attempt = 1;
  first.ms = elapsedMs(start);
  rt->finish(first, firstErr);
  rt->connectResult(first, firstErr, true);  // mayFailOver: its path is broken
  for (unsigned i = 1; i < first.decision.count; ++i) {
    Outcome next;
    int fresh;
    {
      ReentryGuard guard;
      fresh = rt->freshSocketFor(fd, first, i, &next);
    }
    if (fresh < 0) continue;
    next.attempt = static_cast<uint8_t>(i + 1);
    const int64_t t0 = rt->traceSink().enabled() ? monotonicUs() : -1;
    const int r = realConnect(fresh, next.destination(addr), next.destinationLength(len));
    const int err = r < 0 ? errno : 0;
    next.ms = elapsedMs(t0);
    const bool keepIt = r == 0 || err == EINTR || err == EINPROGRESS;
    bool adopted = false;
    bool broken = false;
    {
      ReentryGuard guard;
      if (!keepIt) broken = pathBrokenOn(fresh, err);  // before the close
      if (keepIt) {
        adopted = Runtime::adoptSocket(fresh, fd);
      } else {
        real::close.get()(fresh);
      }
    }
    rt->finish(next, err);
    rt->connectResult(next, err, broken);
    if (adopted) {
      if (err == 0) {
        keep.restore();
        return 0;
      }
      errno = err;
      return -1;
    }
    if (keepIt || !broken) break;
  }
  errno = firstErr;
  return -1;
}

// A socket made with SOCK_NONBLOCK by what the hooks saw (race.flagsKnown) whose connect
// returned EINPROGRESS: non-blocking still, unless the program set a send timeout, which
// ends a blocking connect with EINPROGRESS too and may have come with a raw fcntl no hook
// saw (known_fds.h); then F_GETFL says. A blocking one returns as is, not raced. errno kept.
bool blockingAfterAll(int fd, const RacePrep& race) noexcept {
  if (!race.flagsKnown || knownfd::defaultSendTimeout(fd)) return false;
  const int saved = errno;
  ReentryGuard guard;
  const int fl = sys::fcntl(fd, F_GETFL, 0);
  const bool blocking = fl >= 0 && (fl & O_NONBLOCK) == 0;
  if (blocking) knownfd::programSetFlags();  // changed where no hook could see
  errno = saved;
  return blocking;
}

int connectVia(real::ConnectFn realConnect, int fd, const sockaddr* addr, socklen_t len) {
  if (realConnect == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  // A repeated connect on a non-blocking descriptor still racing (nb_race.h): what the
  // program's own connecting socket would answer, once the race has been stepped.
  if (nbrace::pending() && !ReentryGuard::active() && nbrace::racing(fd)) {
    const nbrace::Step st = nbrace::settleNow(fd, monotonicUs());
    if (st.state == nbrace::State::Racing || st.state == nbrace::State::Busy) {
      errno = EALREADY;
      return -1;
    }
    if (st.state == nbrace::State::Failed) {
      errno = st.error;
      return -1;
    }
    return realConnect(fd, addr, len);
  }
  if (!ReentryGuard::active()) {
    dgram::forget(fd);  // a connected socket: decided at connect
    if (ucif::held(fd)) ucif::leave(fd);  // the connect's own pin, not the datagrams'
  }
  Endpoint dst;
  // An address the kernel would refuse (unreadable: EFAULT; oversized: EINVAL) is left to
  // it, with the socket untouched.
  if (ReentryGuard::active() || !fromCallerSockaddr(addr, len, &dst, MIF_LIVE_FRAME())) {
    return realConnect(fd, addr, len);
  }
  Runtime* rt = Runtime::get();
  if (rt == nullptr) return realConnect(fd, addr, len);
  ErrnoKeeper keep;
  Outcome o;
  {
    ReentryGuard guard;
    o = rt->connectLike(Call::Connect, fd, dst);
  }
  if (o.error != 0) {
    rt->finish(o, o.error);
    errno = o.error;
    return -1;
  }
  // Several PvDs: a blocking connect is raced across them (connect_race.cpp).
  RacePrep race;
  if (rt->mayRace(o)) {
    ReentryGuard guard;
    armRace(rt, fd, o, &race);
  }
  // Timed only when the trace may show failover attempts.
  const int64_t start = o.decision.count > 1 && rt->traceSink().enabled() ? monotonicUs() : -1;
  keep.restore();
  // Outside the guard and outside any noexcept frame: connect is a cancellation point.
  const int rc = realConnect(fd, o.destination(addr), o.destinationLength(len));
  if (race.armed) {
    const int err = rc < 0 ? errno : 0;
    bool broken = false;
    {
      ReentryGuard guard;
      if (rc < 0) broken = pathBrokenOn(fd, err);  // before disarming: it empties the queue
      disarmRace(fd, race);
    }
    bool nonBlocking = false;
    if (rc < 0 && raceContinues(err, broken) && race.flagsKnown) {
      // Blocking by what the hooks saw; a raw fcntl may have made it non-blocking, whose
      // connect returns at once: a race here would hold the program's call (known_fds.h).
      ReentryGuard guard;
      nonBlocking = nonBlockingAfterAll(fd, &race);
    }
    if (rc < 0 && raceContinues(err, broken) && !nonBlocking) {
      return ::mif::preload::race(rt, realConnect, fd, addr, len, o, err, broken, race, keep);
    }
    errno = err;
  }
  // EINPROGRESS as without mif; the race runs in the program's waits (nb_race.h).
  if (race.nonBlocking && rc < 0 && errno == EINPROGRESS && !blockingAfterAll(fd, race)) {
    {
      ReentryGuard guard;
      nbrace::begin(rt, fd, o, o.destination(addr), o.destinationLength(len), race.flags,
                    race.startUs);
    }
    rt->finish(o, EINPROGRESS);
    errno = EINPROGRESS;
    return rc;
  }
  if (o.decided) {
    const int err = rc < 0 ? errno : 0;
    bool broken = false;
    if (rc < 0) {
      bool again;
      {
        ReentryGuard guard;
        broken = o.error == 0 && o.ifname[0] != '\0' && o.redirectLen == 0 && pathBrokenOn(fd, err);
        again = broken && rt->mayFailOver(o, fd, err);
      }
      if (again) return failOver(rt, realConnect, fd, addr, len, o, err, start, keep);
      errno = err;  // mayFailOver's own calls (its probe bind: EADDRINUSE) must not show
    }
    const int saved = errno;
    rt->finish(o, err);
    rt->connectResult(o, err, broken);
    errno = saved;
  }
  return rc;
}

}  // namespace
}  // namespace mif::preload

using namespace mif::preload;

extern "C" {

MIF_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
  return connectVia(real::connect.get(reinterpret_cast<const void*>(&connect)), fd, addr, len);
}

// Exported by glibc (GLIBC_2.2.5) and used by a few programs and libraries directly.
MIF_EXPORT int __connect(int fd, const sockaddr* addr, socklen_t len) {
  return connectVia(real::connect.get(reinterpret_cast<const void*>(&connect)), fd, addr, len);
}

}  // extern "C"
