#pragma once
// Happy Eyeballs across PvDs for NON-BLOCKING connects (issues 29 and 30): connect returns
// EINPROGRESS exactly as without mif and notes the race here, per descriptor; the race then
// runs inside the program's own waits (hook_wait.cpp: poll, ppoll, select, pselect;
// hook_epoll.cpp: epoll_wait and friends), its getsockopt(SO_ERROR) and a repeated
// connect, which call advance(): further attempts start on fresh sockets when their time
// comes (or at once when an attempt fails on the path), and the first to connect wins; a
// fresh winner takes the program's descriptor number (file status flags, dup3 with
// close-on-exec kept) and is added again to the epoll instances the program registered
// the number with (docs/architecture.md, "Non-blocking connects").
//
// The table: one slot per descriptor below kSlots (as the datagram cache), static and
// zero-filled, so only the pages of racing descriptors are touched. A slot's state word
// says Free, Idle (racing, nobody stepping it), Busy (one thread stepping it: a few
// non-blocking system calls, never a wait) or Failed (every attempt failed; the first
// PvD's error kept for the program's SO_ERROR or repeated connect). Waits and getsockopt
// only try to claim a slot (a Busy one is left alone: the other thread is stepping it);
// close, dup2/dup3 over the number and close_range wait for the step to end (a few
// system calls) and then end the race. A process-wide count of slots not Free makes every
// hooked wait one relaxed load when no race is pending (pending()).
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>

#include "runtime.h"

namespace mif::preload::nbrace {

inline constexpr int kSlots = 1024;
// Epoll instances remembered per racing descriptor (epoll_ctl ADD/MOD after connect).
inline constexpr unsigned kMaxRegs = 4;

namespace detail {
extern std::atomic<uint32_t> pendingCount;
}

// Races (or failed races whose error the program has not read yet) in the process: the
// hooks' fast path, one relaxed load.
inline bool pending() noexcept { return detail::pendingCount.load(std::memory_order_relaxed) != 0; }

// True when fd's slot holds a race (racing or failed), one relaxed load.
bool racing(int fd) noexcept;

// After the program's non-blocking connect on `fd` returned EINPROGRESS, pinned to the
// decision's first PvD (`first`, rt->mayRace true, no local port of the program's own):
// notes the race. `flags` are the program's file status flags. False (nothing noted) for
// descriptors at or above kSlots or a slot still in use.
bool begin(Runtime* rt, int fd, const Outcome& first, const sockaddr* addr, socklen_t len,
           int flags, int64_t startUs) noexcept;

enum class State : uint8_t {
  NotRacing,  // no race on this number (ended, or never began)
  Racing,     // attempts running
  Busy,       // another thread is stepping the race: leave it alone this time
  Connected,  // the race ended with a connected socket on the number (own or handed over)
  Failed,     // every attempt failed: the first PvD's error is pending (error())
};

// What a wait needs of one racing descriptor.
struct Step {
  State state = State::NotRacing;
  bool ownLive = false;        // the program's own socket is still an attempt
  unsigned nFresh = 0;
  int fresh[policy::kMaxListed] = {};  // live fresh attempts' descriptors
  int64_t nextStartUs = INT64_MAX;     // when the next attempt starts (INT64_MAX: none)
  // When a wait must step the race again: kEarlyUs (race_timing.h) before the next start,
  // to make its socket ahead, then the start itself (INT64_MAX: nothing more starts).
  int64_t wakeUs = INT64_MAX;
  int error = 0;               // Failed: the error the program gets
  uint32_t gen = 0;            // the race's step count after this step (Seen::gen)
};

// What the caller's own wait saw of a race's live attempts, made right after the step that
// returned `gen`: the revents of the program's own socket (when Step::ownLive) and of each
// of Step::fresh, in that order. Given to the next step, it stands for the zero-timeout
// poll of the attempts that step would make, when no other step came between (the same
// `gen`): a wait's timeout says nothing completed, a wait's wake-up says which did.
struct Seen {
  uint32_t gen = 0;
  short own = 0;
  short fresh[policy::kMaxListed] = {};
};

// Steps the race on `fd` without waiting: every live attempt that has completed is settled
// (a zero-timeout poll, SO_ERROR), attempts due by `nowUs` start, a winner is handed over,
// and the next attempt's socket is made when its start is at most kEarlyUs away (Step::
// wakeUs says when to step again).
// `seen` (may be null): what the caller's wait saw since the step it waited on (Seen).
// Call outside ReentryGuard (it sets its own); not from a signal handler.
Step advance(int fd, int64_t nowUs, const Seen* seen = nullptr) noexcept;

// The program reads SO_ERROR (or connects again) on a racing number: advance() without
// waiting, and when every attempt has failed the race is forgotten, its error (Step::error)
// handed to the program: getsockopt reports 0 while Racing or Busy (as the program's own
// connecting socket would), the error once Failed, and leaves a Connected or NotRacing
// number to the real call; a repeated connect gets EALREADY, the error, or the real call.
Step settleNow(int fd, int64_t nowUs) noexcept;

// Ends the race on `fd` (the program closes the number, or dup2/dup3 over it): its fresh
// sockets are closed, nothing else is touched. endRange: every number in [lo, hi].
void end(int fd) noexcept;
void endRange(unsigned lo, unsigned hi) noexcept;
// In a child after fork: every race of the parent is forgotten and the child's copies of
// the fresh sockets closed; the parent's races go on.
void forgetAfterFork() noexcept;

// epoll: the program registered (ADD/MOD) or removed (DEL) a racing number with an
// instance; remembered so that a hand-over adds the number again with its own events and
// data. Returns -1 when the caller makes the real call; otherwise what the call returns
// (0, or -EEXIST: -1 with that errno) for a registration the race has taken out of the
// instance while the program's own socket is dead (its readiness would wake every wait):
// the program's change is kept for when the number goes back in.
int noteEpoll(int fd, int epfd, int op, const epoll_event* ev) noexcept;
// Whether the instance holds a racing number the program registered, with `data` (the
// registration's data, for filtering its events out of the program's wait).
struct EpollRacing {
  int fd = -1;
  uint64_t data = 0;
};
// Fills up to `max` racing numbers registered with epfd; returns how many.
unsigned racingIn(int epfd, EpollRacing* out, unsigned max) noexcept;

}  // namespace mif::preload::nbrace
