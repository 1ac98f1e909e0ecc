#pragma once
// The program's waits with a non-blocking race pending (nb_race.h): the poll family
// (poll, ppoll, select, pselect) and the epoll waits, made with the race's fresh sockets
// added and the timeout cut at the next attempt's start, while the program sees only its
// own descriptors, its own timeout and its own signal mask. hook_wait.cpp and
// hook_epoll.cpp call these only when nbrace::pending(); each answers `handled` false when
// the wait holds no racing descriptor (the hook then makes the real call).
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <cstdint>

namespace mif::preload::nbrace {

// poll/ppoll. timeoutUs < 0: no timeout. Returns what poll returns, errno set on -1.
int pollRacing(pollfd* fds, nfds_t n, int64_t timeoutUs, const sigset_t* mask, bool* handled);

// select/pselect, through pollRacing. `remainingUs` (may be null) receives the time left,
// as Linux's select writes it back into the program's timeval.
int selectRacing(int nfds, fd_set* r, fd_set* w, fd_set* e, int64_t timeoutUs,
                 const sigset_t* mask, int64_t* remainingUs, bool* handled);

// epoll_wait/epoll_pwait/epoll_pwait2.
int epollRacing(int epfd, epoll_event* events, int maxevents, int64_t timeoutUs,
                const sigset_t* mask, bool* handled);

// The translation of a poll array with racing entries into the array the kernel waits on
// (pure, unit-tested): entries of races whose own socket is dead are masked (fd -1), the
// fresh sockets are appended with POLLOUT. `out` holds n + extras entries. Returns the
// number of entries written.
struct RacingEntry {
  nfds_t index;        // in the program's array
  bool ownLive;
  unsigned nFresh;
  const int* fresh;
};
nfds_t buildWait(const pollfd* fds, nfds_t n, const RacingEntry* racing, unsigned nRacing,
                 pollfd* out);
// What the program sees of a finished wait (pure, unit-tested): `kernel` (n entries, the
// program's array as polled with `stillRacing` entries masked) copied into fds' revents;
// still-racing entries report nothing, entries in `failed` add POLLERR (the library read
// the error their socket carried). Returns the number of entries with revents.
int reportWait(pollfd* fds, nfds_t n, const pollfd* kernel, const nfds_t* stillRacing,
               unsigned nStill, const nfds_t* failed, unsigned nFailed);

}  // namespace mif::preload::nbrace
