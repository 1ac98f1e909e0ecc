#pragma once
// What keeps a race's next attempt on time, shared by the blocking race (connect_race.cpp)
// and the non-blocking one (nb_race.cpp, wait_race.cpp).
#include <cerrno>
#include <cstdint>

#include "mif/sys/calls.h"
#include "monotonic.h"

namespace mif::preload {

// How long before an attempt's start its socket is made, given the program's options and
// pinned (a fresh socket and about 30 getsockopt/setsockopt pairs: 0.1-0.3 ms), so that at
// the start only its connect is left. Also how much earlier than the attempt delay the
// kernel's timeout of a blocking first attempt ends (armRace): a scheduler tick at HZ 100.
inline constexpr int64_t kEarlyUs = 10000;

// How long before an attempt's start the wait that ends at it is made to end; the rest is
// spent on the CPU (spinUntil). A timed wait ends late by its timer slack (1 ns under
// TightTimers, but at least 0.1 % of the wait for the poll family: 10 µs after the
// making's wake), the timer interrupt's latency (15-55 µs on the project's VM, traced) and
// the scheduler's wake-up (10-20 µs): 40-90 µs in all, as much as half a veth round trip
// added to every attempt's start (docs/performance.md, "Where the time past the delay
// goes"). Ended this much earlier, the wait returns before the start and the attempt's
// connect is made on time; the CPU spent is what is left of the lead (typically 20-50 µs),
// once per attempt started by its delay, never while the first PvD answers in time.
inline constexpr int64_t kLeadUs = 100;

// Spins on the vDSO clock until `untilUs` (at most kLeadUs away; no system call); returns
// the clock's reading then.
inline int64_t spinUntil(int64_t untilUs) noexcept {
  for (;;) {
    const int64_t now = monotonicUs();
    if (now >= untilUs) return now;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
}

// A race's waits end on high-resolution timers (the next attempt's start), which the kernel
// may fire up to the thread's timer slack late: 50 µs by default, a third of a veth's round
// trip added to every attempt's start. TightTimers lowers the calling thread's slack to 1 ns
// for the race's waits that end at an attempt's start (kLeadUs before it) and puts it back
// as soon as such a wait returns, before the start (relax()), or when it goes out of
// scope (the slack is per thread; the program's wait or connect has not returned yet, so
// nothing of the program's but a signal handler run inside that wait could read the
// changed value). Three prctl calls per attempt started by its delay, all before its start;
// through the system-call seam (mif/sys/calls.h).
class TightTimers {
 public:
  // `now` false: nothing changes until tighten() (a wait whose first rounds end on the
  // program's own timeout keeps the program's slack for them).
  explicit TightTimers(bool now = true) noexcept {
    if (now) tighten();
  }
  ~TightTimers() { relax(); }
  TightTimers(const TightTimers&) = delete;
  TightTimers& operator=(const TightTimers&) = delete;

  void tighten() noexcept {
    if (asked_) return;
    asked_ = true;
    const int saved = errno;
    old_ = sys::timerSlack();
    if (old_ > 1) sys::setTimerSlack(1);
    errno = saved;
  }
  // The thread's own slack back now (before a plain wait of the program's); tighten() may
  // lower it again.
  void relax() noexcept {
    if (asked_ && old_ > 1) {
      const int saved = errno;  // the race's or the wait's outcome for the program
      sys::setTimerSlack(static_cast<unsigned long>(old_));
      errno = saved;
    }
    asked_ = false;
    old_ = 0;
  }

 private:
  long old_ = 0;
  bool asked_ = false;
};

}  // namespace mif::preload
