// Active probes: the library's side (probe_watch.h); the prober is tools/probe/prober.cpp.
#include "probe_watch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "runtime.h"

namespace mif::preload {

bool ProbeWatch::claim(uint64_t nowMs) noexcept {
  uint64_t at = checkAt_.load(std::memory_order_relaxed);
  if (at == kIdle || nowMs < at) return false;
  if (!checkAt_.compare_exchange_strong(at, nowMs + kCheckMs, std::memory_order_relaxed)) return false;
  return !busy_.test_and_set(std::memory_order_acquire);
}

ProbeWatch::Seen ProbeWatch::read(void (*fn)(void*, const view::ProbeLine&), void* ctx) noexcept {
  Seen seen = Seen::Unchanged;
  struct stat st {};
  // Direct system calls: neither the library's hooks nor another preloaded library's.
  if (::syscall(SYS_newfstatat, AT_FDCWD, path_.c_str(), &st, 0) != 0) {
    seen = existed_ ? Seen::Gone : Seen::Unchanged;
    existed_ = false;
  } else {
    const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (!existed_ || st.st_dev != dev_ || st.st_ino != ino_ || static_cast<uint64_t>(st.st_size) != size_ ||
        mtime != mtimeNs_) {
      existed_ = true;
      dev_ = st.st_dev;
      ino_ = st.st_ino;
      size_ = static_cast<uint64_t>(st.st_size);
      mtimeNs_ = mtime;
      seen = Seen::Changed;
      const long fd = ::syscall(SYS_openat, AT_FDCWD, path_.c_str(), O_RDONLY | O_CLOEXEC);
      size_t len = 0;
      if (fd >= 0) {
        while (len < sizeof buf_) {
          const long n = ::syscall(SYS_read, fd, buf_ + len, sizeof buf_ - len);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          len += static_cast<size_t>(n);
        }
        ::syscall(SYS_close, fd);
      }
      view::parseProbeResults(std::string_view(buf_, len), fn, ctx);
    }
  }
  busy_.clear(std::memory_order_release);
  return seen;
}

void Runtime::pollProbesSlow() noexcept {
  const uint64_t now = healthNowMs();
  if (!probes_.claim(now)) return;
  const int savedErrno = errno;
  struct Ctx {
    Runtime* rt;
    uint64_t now;
  } ctx{this, now};
  const ProbeWatch::Seen seen = probes_.read(
      [](void* p, const view::ProbeLine& line) {
        Ctx& c = *static_cast<Ctx*>(p);
        Runtime& rt = *c.rt;
        // By name (the prober compiled the same policy; ids are not compared across
        // processes). A linear scan: a few PvDs, twice a second at most, no allocation.
        const auto& pvds = rt.policy_->pvds();
        policy::PvdId id = 0;
        while (id < pvds.size() && pvds[id].name != line.name) ++id;
        if (id >= pvds.size() || !pvds[id].probe) return;
        HealthEvent e;
        switch (line.verdict) {
          case view::ProbeVerdict::Ok: e = HealthEvent::ProbeOk; break;
          case view::ProbeVerdict::Poor: e = HealthEvent::ProbePoor; break;
          case view::ProbeVerdict::Down: e = HealthEvent::ProbeDown; break;
          default: e = HealthEvent::Success; break;  // not judged: nothing to report
        }
        if (e != HealthEvent::Success) {
          const HealthChange ch = rt.health_.report(id, e, c.now);
          if (ch.changed) rt.traceHealth(id, ch, view::probeReason(line.verdict));
        }
        if (rt.probes_.setPortal(id, line.portal)) {
          rt.health_.touch();  // decisions remembered under the old portal state are taken again
          if (line.portal == view::PortalVerdict::None) return;
          const bool captive = line.portal == view::PortalVerdict::Captive;
          HealthChange ch;
          ch.changed = true;
          ch.from = captive ? rt.health_.state(id) : HealthState::Failed;
          ch.to = captive ? HealthState::Failed : rt.health_.state(id);
          ch.failures = rt.health_.failures(id);
          ch.untilProbe = true;
          rt.traceHealth(id, ch, captive ? "probe: captive portal (for all but the portal)"
                                         : "probe: captive portal open");
        }
      },
      &ctx);
  if (seen == ProbeWatch::Seen::Gone) {
    // The run ended (this process outlived mif run's program) or the prober stopped: what
    // the probes said no longer holds.
    for (policy::PvdId id = 0; id < policy_->pvds().size() && id < HealthTable::kSlots; ++id) {
      probes_.setPortal(id, view::PortalVerdict::None);
      if (!health_.byProbe(id)) continue;
      const HealthChange ch = health_.report(id, HealthEvent::ProbeOk, now);
      if (ch.changed) traceHealth(id, ch, "probe ended");
    }
    health_.touch();
  }
  errno = savedErrno;
}

}  // namespace mif::preload
