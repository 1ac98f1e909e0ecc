// The poll family (poll, ppoll, select, pselect and glibc's fortified __poll_chk and
// __ppoll_chk), getsockopt, and epoll: where a non-blocking connect's race across PvDs
// runs (nb_race.h, wait_race.h). With no race pending in the process each is one relaxed
// load before the real call.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <climits>

#include "guard.h"
#include "hook.h"
#include "monotonic.h"
#include "nb_race.h"
#include "real_libc.h"
#include "wait_race.h"

using namespace mif::preload;

namespace {

int64_t usOfMs(int ms) noexcept { return ms < 0 ? -1 : static_cast<int64_t>(ms) * 1000; }
int64_t usOfTs(const timespec* ts) noexcept {
  if (ts == nullptr) return -1;
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000) return -2;  // EINVAL: the kernel's
  return static_cast<int64_t>(ts->tv_sec) * 1000000 + (ts->tv_nsec + 999) / 1000;
}
int64_t usOfTv(const timeval* tv) noexcept {
  if (tv == nullptr) return -1;
  if (tv->tv_sec < 0 || tv->tv_usec < 0) return -2;
  return static_cast<int64_t>(tv->tv_sec) * 1000000 + tv->tv_usec;
}

bool idle() noexcept { return !nbrace::pending() || ReentryGuard::active(); }

}  // namespace

extern "C" {

MIF_EXPORT int poll(pollfd* fds, nfds_t n, int timeout) {
  auto realPoll = real::poll.get(reinterpret_cast<const void*>(&poll));
  if (!idle()) {
    bool handled;
    const int r = nbrace::pollRacing(fds, n, usOfMs(timeout), nullptr, &handled);
    if (handled) return r;
  }
  return realPoll(fds, n, timeout);
}

MIF_EXPORT int ppoll(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask) {
  auto realPpoll = real::ppoll.get(reinterpret_cast<const void*>(&ppoll));
  if (!idle()) {
    const int64_t us = usOfTs(ts);
    if (us != -2) {
      bool handled;
      const int r = nbrace::pollRacing(fds, n, us, mask, &handled);
      if (handled) return r;
    }
  }
  return realPpoll(fds, n, ts, mask);
}

// glibc's _FORTIFY_SOURCE forms: the size check is glibc's own (it aborts), the wait ours.
MIF_EXPORT int __poll_chk(pollfd* fds, nfds_t n, int timeout, size_t fdslen) {
  using ChkFn = int (*)(pollfd*, nfds_t, int, size_t);
  static real::Symbol<ChkFn> realChk{"__poll_chk"};
  if (fdslen / sizeof(pollfd) < n || idle()) {
    return realChk.get(reinterpret_cast<const void*>(&__poll_chk))(fds, n, timeout, fdslen);
  }
  return poll(fds, n, timeout);
}

MIF_EXPORT int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask,
                           size_t fdslen) {
  using ChkFn = int (*)(pollfd*, nfds_t, const timespec*, const sigset_t*, size_t);
  static real::Symbol<ChkFn> realChk{"__ppoll_chk"};
  if (fdslen / sizeof(pollfd) < n || idle()) {
    return realChk.get(reinterpret_cast<const void*>(&__ppoll_chk))(fds, n, ts, mask, fdslen);
  }
  return ppoll(fds, n, ts, mask);
}

MIF_EXPORT int select(int nfds, fd_set* r, fd_set* w, fd_set* e, timeval* tv) {
  auto realSelect = real::select.get(reinterpret_cast<const void*>(&select));
  if (!idle()) {
    const int64_t us = usOfTv(tv);
    if (us != -2) {
      bool handled;
      int64_t left = 0;
      const int rc = nbrace::selectRacing(nfds, r, w, e, us, nullptr, &left, &handled);
      if (handled) {
        if (tv != nullptr) {  // Linux writes the time left back, as here
          tv->tv_sec = static_cast<time_t>(left / 1000000);
          tv->tv_usec = static_cast<suseconds_t>(left % 1000000);
        }
        return rc;
      }
    }
  }
  return realSelect(nfds, r, w, e, tv);
}

MIF_EXPORT int pselect(int nfds, fd_set* r, fd_set* w, fd_set* e, const timespec* ts,
                       const sigset_t* mask) {
  auto realPselect = real::pselect.get(reinterpret_cast<const void*>(&pselect));
  if (!idle()) {
    const int64_t us = usOfTs(ts);
    if (us != -2) {
      bool handled;
      const int rc = nbrace::selectRacing(nfds, r, w, e, us, mask, nullptr, &handled);
      if (handled) return rc;
    }
  }
  return realPselect(nfds, r, w, e, ts, mask);
}

// SO_ERROR on a racing descriptor settles the race as far as it has gone, without waiting:
// a winner is handed over first; while attempts run, 0 (as the program's own connecting
// socket); once every attempt failed, the first PvD's error.
MIF_EXPORT int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
  auto realGetsockopt = real::getsockopt.get(reinterpret_cast<const void*>(&getsockopt));
  if (idle() || level != SOL_SOCKET || name != SO_ERROR || !nbrace::racing(fd)) {
    return realGetsockopt(fd, level, name, value, len);
  }
  const nbrace::Step st = nbrace::settleNow(fd, monotonicUs());
  const int rc = realGetsockopt(fd, level, name, value, len);
  if (rc == 0 && st.state == nbrace::State::Failed && *len >= sizeof(int)) {
    *static_cast<int*>(value) = st.error;
  }
  return rc;
}

MIF_EXPORT int epoll_ctl(int epfd, int op, int fd, epoll_event* ev) noexcept {
  auto realCtl = real::epollCtl.get(reinterpret_cast<const void*>(&epoll_ctl));
  if (!idle() && nbrace::racing(fd)) {
    const int answer = nbrace::noteEpoll(fd, epfd, op, ev);
    if (answer == 0) return 0;
    if (answer < -1) {
      errno = -answer;
      return -1;
    }
  }
  return realCtl(epfd, op, fd, ev);
}

MIF_EXPORT int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout) {
  auto realWait = real::epollWait.get(reinterpret_cast<const void*>(&epoll_wait));
  if (!idle()) {
    bool handled;
    const int r = nbrace::epollRacing(epfd, events, maxevents, usOfMs(timeout), nullptr, &handled);
    if (handled) return r;
  }
  return realWait(epfd, events, maxevents, timeout);
}

MIF_EXPORT int epoll_pwait(int epfd, epoll_event* events, int maxevents, int timeout,
                           const sigset_t* mask) {
  auto realPwait = real::epollPwait.get(reinterpret_cast<const void*>(&epoll_pwait));
  if (!idle()) {
    bool handled;
    const int r = nbrace::epollRacing(epfd, events, maxevents, usOfMs(timeout), mask, &handled);
    if (handled) return r;
  }
  return realPwait(epfd, events, maxevents, timeout, mask);
}

MIF_EXPORT int epoll_pwait2(int epfd, epoll_event* events, int maxevents, const timespec* ts,
                            const sigset_t* mask) {
  auto realPwait2 = real::epollPwait2.get(reinterpret_cast<const void*>(&epoll_pwait2));
  if (!idle()) {
    const int64_t us = usOfTs(ts);
    if (us != -2) {
      bool handled;
      const int r = nbrace::epollRacing(epfd, events, maxevents, us, mask, &handled);
      if (handled) return r;
    }
  }
  return realPwait2(epfd, events, maxevents, ts, mask);
}

}  // extern "C"
