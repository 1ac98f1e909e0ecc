#pragma once
// Happy Eyeballs across PvDs (RFC 8305, issue 30) for a blocking TCP connect whose decision
// lists several PvDs: the first PvD's attempt runs alone for the connection attempt delay,
// then each next PvD's starts on a fresh socket; the first to connect takes the program's
// descriptor (docs/architecture.md, "Racing the PvDs").
//
// The hook (hook_connect.cpp) arms the program's socket before its real connect, disarms it
// after, and hands over to race() only when the first attempt did not settle within the
// delay (or failed on the path). When the first PvD answers within the delay the cost is
// armRace's and disarmRace's system calls, nothing else.
#include <sys/socket.h>

#include <cstdint>

#include "real_libc.h"
#include "runtime.h"

namespace mif::preload {

class ErrnoKeeper;

struct RacePrep {
  bool armed = false;
  int flags = 0;                // the program's file status flags (F_GETFL)
  timeval programTimeout{};     // the program's SO_SNDTIMEO, restored by disarmRace
  int64_t programTimeoutUs = 0; // 0: none (a blocking connect waits for the kernel)
  int64_t delayUs = 0;
  int64_t startUs = 0;          // CLOCK_MONOTONIC when the first attempt started
  // Not armed because the socket is non-blocking (and holds no port of the program's own):
  // its race runs in the program's waits instead (nb_race.h); `flags` is filled.
  bool nonBlocking = false;
  bool recvErr = false;  // IPV6_RECVERR set by armRace, cleared by disarmRace
  // `flags` came from the socket() hook's knowledge (known_fds.h), not from F_GETFL.
  bool flagsKnown = false;
};

// Whether the connect on `fd` (pinned by connectLike, rt->mayRace(o) true) is raced here: a
// blocking socket without a local port of the program's own, whose SO_SNDTIMEO is unset or
// longer than the attempt delay. If so, sets SO_SNDTIMEO to the delay, so that the
// program's blocking connect returns EINPROGRESS when the delay elapses, and fills `p`. A
// non-blocking socket without a port of the program's own is not armed but marked
// (p->nonBlocking, p->flags, p->startUs) for nbrace::begin after its EINPROGRESS.
// Call under ReentryGuard. Leaves errno changed (the hook restores it).
bool armRace(const Runtime* rt, int fd, const Outcome& o, RacePrep* p) noexcept;
// For a connect armed on flags known without asking (p->flagsKnown) whose first attempt
// did not connect at once: whether the socket is non-blocking after all, made so where no
// hook could see (a raw fcntl, known_fds.h), which F_GETFL says before a race would hold
// the program's call. If so, p is no longer armed and, unless the socket is gone (F_GETFL
// failed: nothing more to do), marked non-blocking with its flags as armRace marks one.
// Only when a race would start. Call under ReentryGuard.
bool nonBlockingAfterAll(int fd, RacePrep* p) noexcept;
// Gives the socket back the program's own SO_SNDTIMEO (and IPV6_RECVERR). Read the first
// attempt's error (pathBrokenOn) before: clearing IPV6_RECVERR empties the error queue.
void disarmRace(int fd, const RacePrep& p) noexcept;
// Whether race() takes over after the first attempt's connect returned `err`: EINPROGRESS
// (the delay elapsed), EINTR, or an error that says the path is broken (`broken`:
// pathBrokenOn, path_error.h).
bool raceContinues(int err, bool broken) noexcept;
// The race, after the first attempt's connect returned `firstErr` (raceContinues). Returns
// what the program's connect returns, with errno set: 0 once an attempt connected (its
// socket now on `fd`); -1 with the first PvD's error when every attempt failed; -1 with
// EINTR (a signal whose handler does not restart the call) or EINPROGRESS (the program's
// SO_SNDTIMEO elapsed), the latest attempt still connecting on `fd`. Not noexcept: poll
// is a cancellation point.
int race(Runtime* rt, real::ConnectFn realConnect, int fd, const sockaddr* addr, socklen_t len,
         Outcome& first, int firstErr, bool firstBroken, const RacePrep& p,
         const ErrnoKeeper& keep);

}  // namespace mif::preload
