// The live view (live_view.h): change tracking over a NETLINK_ROUTE socket, the freshness
// check and its window, the snapshot's publication and retirement (pins.h), router
// advertisement facts and their expiry, the PvDs `mif discover` publishes, fork and a
// program closing or replacing the socket, and the fed view that unit tests drive. Longer
// than the ~400 lines a file in preload/ should be: every one of those reads or writes the
// same Impl under the same rules (the fast path's atomics, the `busy` flag's refresh), and
// split they would have to share Impl through a header that only this file should see.
#include "mif/view/live_view.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <chrono>
#include <mutex>

#include "binding.h"
#include "mif/sys/calls.h"
#include "mif/view/pins.h"
#include "mif/view/published_pvds.h"
#include "mif/view/ra_state.h"
#include "ra_source.h"

namespace mif::view {
namespace {

using Clock = std::chrono::steady_clock;

// Bumped in every child of fork() (pthread_atfork), so the fast path learns of a fork with
// one atomic load instead of a getpid() system call (~230 ns here).
std::atomic<uint64_t> gForkEpoch{0};
void onForkChild() {
  detail::pinsAfterForkChild();
  gForkEpoch.fetch_add(1, std::memory_order_relaxed);
}
std::once_flag gAtforkOnce;

// Descriptors of live views (fd + 1; 0 = free slot), for descriptorsReleased().
constexpr int kSlots = 8;
std::atomic<int> gSlots[kSlots];
std::atomic<uint64_t> gReleaseEpoch{0};

// Links, addresses, routes; and router advertisement options (RDNSS, DNSSL, captive portal,
// PREF64), which are only ever heard, never dumped.
constexpr uint32_t kGroups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
                             RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE |
                             (1u << (RTNLGRP_ND_USEROPT - 1));

// Without netlink (a sandbox, or no descriptor left), do not try to open the socket again
// on every decision. Until it opens, the snapshot is rebuilt from a dump whenever it is
// older than the freshness window (refresh()), which costs far more than a socket() that
// fails: so the period is short, and change tracking comes back soon after the cause goes.
constexpr auto kRetry = std::chrono::milliseconds(50);

// How often a view whose policy names a PvD by its RFC 8801 ID looks whether `mif
// discover` published, changed or withdrew one (docs/discovery.md): no netlink event says
// so. The check is a stat() of the directory, made from the refresh path once this much
// time has passed (the fast path sees it pass through `deadline`, as an RA lifetime's end).
constexpr int64_t kPvdPollNs = 500'000'000;
// A directory's modification time is only as fine as the file system's clock tick: a
// stamp this close to the time it was taken may hide a change made in the same tick.
constexpr int64_t kRacyNs = 50'000'000;

int64_t nsOf(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }
int64_t steadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Whether a descriptor is still the view's socket. Unknown: the check itself failed (out
// of memory, a signal): the number is neither read nor closed, nor given up.
enum class Identity { Ours, NotOurs, Unknown };

}  // namespace

struct LiveView::Impl {
  explicit Impl(const policy::Policy& p) : policy(p) {
    // In precedence order: what resolved uses, what routers announced, resolv.conf.
    sources.push_back(detail::makeResolvedSource());
    sources.push_back(detail::makeRaSource(ra));
    sources.push_back(detail::makeResolvConfSource());
    watchPvds = std::any_of(p.pvds().begin(), p.pvds().end(),
                            [](const policy::PvdDef& d) { return !d.explicitId.empty(); });
    if (watchPvds) pvdDir = publishedPvdDir();
  }

  const policy::Policy& policy;
  std::shared_ptr<detail::RaStore> ra = std::make_shared<detail::RaStore>();
  std::vector<std::unique_ptr<detail::DnsSource>> sources;
  std::atomic<Snapshot*> snap{nullptr};
  // snap's generation, for readers that need only that (LiveView::generation()): stored
  // after snap is replaced, so it may lag the pointer by an instant, never run ahead.
  std::atomic<uint64_t> currentGeneration{0};

  // Read by the fast path, written only under `busy`.
  std::atomic<int> fd{-1};
  std::atomic<uint32_t> rcvbuf{0}, sndbuf{0}, drops{0};
  std::atomic<uint64_t> forkSeen{0}, releaseSeen{0};
  // When the next router advertisement fact ends, or the published PvDs are to be looked
  // at again (steady clock, ns; kNever: neither). Nothing on netlink says so: current()
  // compares the clock with it.
  static constexpr int64_t kNever = INT64_MAX;
  std::atomic<int64_t> deadline{kNever};
  // The freshness window (setFreshnessWindow): until when (CLOCK_MONOTONIC ns) the last
  // quiet() holds. Written by whichever thread checked; a late store of an older time
  // only makes the next call check sooner.
  int64_t windowNs = 0;
  std::atomic<int64_t> quietUntilNs{0};

  // Only under `busy`.
  std::atomic_flag busy = ATOMIC_FLAG_INIT;
  dev_t dev = 0;
  ino_t ino = 0;
  pid_t pid = 0;
  int slot = -1;
  bool fed = false;  // LiveView::fed(): snapshots come from feed(), never from netlink
  Clock::time_point retryAt{};
  Clock::time_point builtAt{};  // the last build, for a view without its socket
  int64_t raDeadline = kNever;  // the first half of `deadline`
  // The published PvDs (kPvdPollNs): only when the policy names one by ID.
  bool watchPvds = false;
  std::string pvdDir;
  struct DirStamp {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    int64_t mtimeNs = 0, ctimeNs = 0;
    bool racy = false;
    bool operator==(const DirStamp& o) const {
      return exists == o.exists && dev == o.dev && ino == o.ino && mtimeNs == o.mtimeNs &&
             ctimeNs == o.ctimeNs;
    }
  } pvdStamp;
  int64_t pvdCheckAt = kNever;  // the second half of `deadline`
  // Replaced snapshots that a reader may still hold (pins.h); at most
  // kPinRecords * kPinsPerThread of them outside the overflow case.
  std::vector<Snapshot*> retired;

  bool quiet() const noexcept;
  Identity identify(int f) const noexcept;
  bool openSocket() noexcept;
  bool drain(int f) noexcept;
  void forget() noexcept;
  void publish(std::unique_ptr<Snapshot> next);
  std::unique_ptr<Snapshot> build(uint64_t generation);
  bool expired() const noexcept;
  DirStamp stampPvdDir() const noexcept;
  bool pvdsChanged(int64_t now) noexcept;
  void setDeadline() noexcept {
    deadline.store(std::min(raDeadline, pvdCheckAt), std::memory_order_relaxed);
  }
  Snapshot* refresh(Snapshot* cur);
};

// The directory `mif discover` publishes in: every file it creates, renames over another or
// removes changes its modification time (and the directory itself may come and go).
LiveView::Impl::DirStamp LiveView::Impl::stampPvdDir() const noexcept {
  DirStamp d;
  struct stat st {};
  if (::stat(pvdDir.c_str(), &st) != 0) return d;
  d.exists = true;
  d.dev = st.st_dev;
  d.ino = st.st_ino;
  d.mtimeNs = nsOf(st.st_mtim);
  d.ctimeNs = nsOf(st.st_ctim);
  timespec wall{};
  ::clock_gettime(CLOCK_REALTIME, &wall);
  d.racy = nsOf(wall) - d.mtimeNs < kRacyNs;
  return d;
}

// Time to look at the published PvDs again: whether they changed since the snapshot was
// built (a stamp taken too close to a change counts as changed once more).
bool LiveView::Impl::pvdsChanged(int64_t now) noexcept {
  if (!watchPvds || now < pvdCheckAt) return false;
  pvdCheckAt = now + kPvdPollNs;
  DirStamp d = stampPvdDir();
  bool changed = !(d == pvdStamp) || pvdStamp.racy;
  if (!changed) setDeadline();
  return changed;
}

// The whole freshness check, one system call. SO_MEMINFO reports the queued bytes (a
// notification is waiting), the drop counter (the kernel overran the queue) and the buffer
// sizes, which openSocket() set to values no other socket is likely to have: a descriptor
// the program closed and reused for something else shows other sizes (or fails), and we
// find that out without reading from it. getsockopt has no side effect on a foreign socket,
// unlike recv(MSG_PEEK), which clears a pending socket error.
bool LiveView::Impl::quiet() const noexcept {
  int f = fd.load(std::memory_order_relaxed);
  if (f < 0) return fed;
  uint32_t mi[SK_MEMINFO_VARS];
  socklen_t len = sizeof mi;
  if (sys::getsockopt(f, SOL_SOCKET, SO_MEMINFO, mi, &len) != 0 || len < sizeof mi) return false;
  return mi[SK_MEMINFO_RMEM_ALLOC] == 0 &&
         mi[SK_MEMINFO_DROPS] == drops.load(std::memory_order_relaxed) &&
         mi[SK_MEMINFO_RCVBUF] == rcvbuf.load(std::memory_order_relaxed) &&
         mi[SK_MEMINFO_SNDBUF] == sndbuf.load(std::memory_order_relaxed);
}

// Exact identity, before anything that reads or closes the descriptor. A closed number
// (EBADF) or another kind of file (ENOTSOCK) is not ours; any other failure says nothing.
Identity LiveView::Impl::identify(int f) const noexcept {
  auto failed = [] { return errno == EBADF || errno == ENOTSOCK ? Identity::NotOurs : Identity::Unknown; };
  struct stat st {};
  if (sys::fstat(f, &st) != 0) return failed();
  if (st.st_dev != dev || st.st_ino != ino) return Identity::NotOurs;
  int domain = 0, proto = 0;
  socklen_t l1 = sizeof domain, l2 = sizeof proto;
  if (sys::getsockopt(f, SOL_SOCKET, SO_DOMAIN, &domain, &l1) != 0 ||
      sys::getsockopt(f, SOL_SOCKET, SO_PROTOCOL, &proto, &l2) != 0)
    return failed();
  return domain == AF_NETLINK && proto == NETLINK_ROUTE ? Identity::Ours : Identity::NotOurs;
}

bool LiveView::Impl::openSocket() noexcept {
  int f = sys::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (f < 0) return false;
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = kGroups;
  // Distinctive buffer sizes (see quiet()); also a larger queue than the default, so a
  // burst of changes (a VPN bringing up many routes) overruns less often. Both stay under
  // the default rmem_max/wmem_max, which would otherwise cap them to a common value.
  uint32_t salt = (static_cast<uint32_t>(reinterpret_cast<uintptr_t>(this) >> 4) ^
                   static_cast<uint32_t>(::getpid()) * 2654435761u) &
                  0x7fff;
  int rcv = 131072 + static_cast<int>(salt) * 2 + 1, snd = 32768 + static_cast<int>(salt) + 7;
  sys::setsockopt(f, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  sys::setsockopt(f, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  struct stat st {};
  uint32_t mi[SK_MEMINFO_VARS];
  socklen_t len = sizeof mi;
  if (sys::bind(f, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || sys::fstat(f, &st) != 0 ||
      sys::getsockopt(f, SOL_SOCKET, SO_MEMINFO, mi, &len) != 0 || len < sizeof mi) {
    sys::close(f);
    return false;
  }
  dev = st.st_dev;
  ino = st.st_ino;
  pid = ::getpid();
  rcvbuf.store(mi[SK_MEMINFO_RCVBUF], std::memory_order_relaxed);
  sndbuf.store(mi[SK_MEMINFO_SNDBUF], std::memory_order_relaxed);
  drops.store(mi[SK_MEMINFO_DROPS], std::memory_order_relaxed);
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (gSlots[i].compare_exchange_strong(expected, f + 1)) {
      slot = i;
      break;
    }
  }
  fd.store(f, std::memory_order_release);
  return true;
}

// Link, address and route notifications only say "something changed": the refresh
// re-reads everything, so their contents are discarded. Router advertisement options are
// kept (RaStore). Bounded: under a storm of changes the rest waits for the next decision
// rather than holding this one.
bool LiveView::Impl::drain(int f) noexcept {
  alignas(nlmsghdr) char buf[16384];
  auto now = Clock::now();
  bool changed = false;
  for (int i = 0; i < 4096; ++i) {
    ssize_t n = sys::recv(f, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      changed = true;
      int left = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type != RTM_NEWNDUSEROPT) continue;
        try {
          ra->record(h, now);
        } catch (...) {
          // Out of memory: this advertisement is lost; the router repeats it.
        }
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;  // nothing more queued
    if (n < 0 && errno == EINTR) continue;
    // ENOBUFS: the queue overran and notifications were lost; any other error (ENOMEM):
    // what is queued is not known. Either way the full refresh that follows covers it.
    changed = true;
    if (n < 0 && errno == ENOBUFS) continue;
    break;
  }
  uint32_t mi[SK_MEMINFO_VARS];
  socklen_t len = sizeof mi;
  if (sys::getsockopt(f, SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 && len >= sizeof mi) {
    changed = changed || mi[SK_MEMINFO_DROPS] != drops.load(std::memory_order_relaxed);
    drops.store(mi[SK_MEMINFO_DROPS], std::memory_order_relaxed);
  } else {
    changed = true;  // lost notifications cannot be ruled out
  }
  return changed;
}

void LiveView::Impl::forget() noexcept {
  if (slot >= 0) gSlots[slot].store(0, std::memory_order_relaxed);
  slot = -1;
  fd.store(-1, std::memory_order_relaxed);
}

void LiveView::Impl::publish(std::unique_ptr<Snapshot> next) {
  retired.reserve(retired.size() + 1);  // may throw: before anything is published
  const uint64_t nextGeneration = next->generation;
  // seq_cst: a reader that pinned the old snapshot either shows in the scan below or
  // re-reads `snap` after this exchange and pins the new one instead (pins.h).
  Snapshot* old = snap.exchange(next.release(), std::memory_order_seq_cst);
  currentGeneration.store(nextGeneration, std::memory_order_release);
  if (old) retired.push_back(old);
  size_t keep = 0;
  for (Snapshot* r : retired) {
    if (detail::isPinned(r))
      retired[keep++] = r;
    else
      delete r;
  }
  retired.resize(keep);
}

Snapshot* LiveView::Impl::refresh(Snapshot* cur) {
  uint64_t forkNow = gForkEpoch.load(std::memory_order_relaxed);
  uint64_t releaseNow = gReleaseEpoch.load(std::memory_order_relaxed);
  if (fed) {
    forkSeen.store(forkNow, std::memory_order_relaxed);
    releaseSeen.store(releaseNow, std::memory_order_relaxed);
    return cur;
  }
  int f = fd.load(std::memory_order_relaxed);
  bool unsure = false;  // f may or may not be ours still: neither read nor closed
  if (f >= 0 && (forkNow != forkSeen.load(std::memory_order_relaxed) || pid != ::getpid())) {
    // A child shares the parent's socket: reading it would steal the parent's
    // notifications. Close our copy (if the number is surely still ours) and open our own.
    if (identify(f) == Identity::Ours) sys::close(f);
    forget();
    f = -1;
  } else if (f >= 0) {
    const Identity id = identify(f);
    if (id == Identity::NotOurs) {
      // The program closed the number (close_range, closefrom, dup2 over it) and may use
      // it for something else now: abandon it, never read or close it.
      forget();
      f = -1;
    } else if (id == Identity::Unknown) {
      unsure = true;  // asked again at the next decision; meanwhile a full refresh
    }
  }
  forkSeen.store(forkNow, std::memory_order_relaxed);
  releaseSeen.store(releaseNow, std::memory_order_relaxed);
  const auto now = Clock::now();
  const int64_t nowNs =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  // Stale although netlink is quiet: an RA fact ended, or `mif discover` changed a file.
  const bool stale = nowNs >= raDeadline || pvdsChanged(nowNs);
  if (f < 0) {
    if (now >= retryAt && !openSocket()) retryAt = now + kRetry;
    // Without change tracking nothing says the snapshot is current: it is trusted for the
    // freshness window after the dump it came from (none by default), then dumped again.
    // So a view that cannot open its socket (EMFILE, a sandbox without netlink) is as fresh
    // as one that can, at the cost of a dump per window.
    if (fd.load(std::memory_order_relaxed) < 0 && cur && !stale &&
        now - builtAt < std::chrono::nanoseconds(windowNs))
      return cur;
  } else if (!unsure && !drain(f) && cur && !stale) {
    // Only asked to re-check the descriptor (descriptorsReleased), and it is still ours
    // with nothing queued: the snapshot is current.
    return cur;
  }
  publish(build(cur ? cur->generation + 1 : 1));
  builtAt = now;
  return snap.load(std::memory_order_acquire);
}

std::unique_ptr<Snapshot> LiveView::Impl::build(uint64_t generation) {
  // Stamped before the build reads the files: a change made meanwhile shows at the next look.
  if (watchPvds) {
    pvdStamp = stampPvdDir();
    pvdCheckAt = steadyNs() + kPvdPollNs;
  }
  auto next = detail::buildSnapshot(policy, sources, generation, ra.get());
  auto at = ra->nextExpiry(Clock::now());
  raDeadline = at == Clock::time_point::max()
                   ? kNever
                   : std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  setDeadline();
  return next;
}

// A router advertisement fact ran out: the snapshot that shows it is stale although
// netlink said nothing. One relaxed load while nothing has a finite lifetime; otherwise
// also a clock read (vDSO, no system call).
bool LiveView::Impl::expired() const noexcept {
  int64_t d = deadline.load(std::memory_order_relaxed);
  if (d == kNever) return false;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
             .count() >= d;
}

LiveView::LiveView(const policy::Policy& policy) : impl_(std::make_unique<Impl>(policy)) {
  std::call_once(gAtforkOnce, [] { ::pthread_atfork(nullptr, nullptr, onForkChild); });
  Impl& m = *impl_;
  m.forkSeen = gForkEpoch.load();
  m.releaseSeen = gReleaseEpoch.load();
  // What mif heard before this process started (mif/view/ra_state.h): read once, here.
  detail::loadRaState(*m.ra, raStatePath());
  // Subscribe before the first dump: a change made while dumping is then still reported.
  m.builtAt = Clock::now();
  if (!m.openSocket()) m.retryAt = m.builtAt + kRetry;
  m.snap.store(m.build(1).release(), std::memory_order_release);
  m.currentGeneration.store(1, std::memory_order_release);
}

LiveView::LiveView(const policy::Policy& policy, FedTag) : impl_(std::make_unique<Impl>(policy)) {
  std::call_once(gAtforkOnce, [] { ::pthread_atfork(nullptr, nullptr, onForkChild); });
  impl_->fed = true;
  impl_->forkSeen = gForkEpoch.load();
  impl_->releaseSeen = gReleaseEpoch.load();
}

std::unique_ptr<LiveView> LiveView::fed(const policy::Policy& policy,
                                        std::unique_ptr<Snapshot> first) {
  std::unique_ptr<LiveView> v(new LiveView(policy, FedTag{}));
  v->impl_->currentGeneration.store(first->generation, std::memory_order_release);
  v->impl_->snap.store(first.release(), std::memory_order_release);
  return v;
}

void LiveView::feed(std::unique_ptr<Snapshot> next) {
  Impl& m = *impl_;
  while (m.busy.test_and_set(std::memory_order_acquire)) {
  }
  try {
    m.publish(std::move(next));
  } catch (...) {
    // Out of memory: the previous snapshot stays current.
  }
  m.busy.clear(std::memory_order_release);
}

LiveView::~LiveView() {
  Impl& m = *impl_;
  int f = m.fd.load();
  if (f >= 0 && m.pid == ::getpid() && m.identify(f) == Identity::Ours) sys::close(f);
  m.forget();
  // Only when no reader is left (tests, and a tool's view at exit).
  delete m.snap.load();
  for (Snapshot* r : m.retired) delete r;
}

void SnapshotRef::release() noexcept {
  if (snap_ == nullptr) return;
  detail::PinHandle h;
  h.slot = slot_;
  h.overflow = overflow_;
  detail::unpin(&h);
  snap_ = nullptr;
  slot_ = nullptr;
  overflow_ = false;
}

void LiveView::setFreshnessWindow(std::chrono::nanoseconds window) noexcept {
  impl_->windowNs = window.count() > 0 ? static_cast<int64_t>(window.count()) : 0;
}

void LiveView::freshen() noexcept {
  Impl& m = *impl_;
  bool fresh =
      gForkEpoch.load(std::memory_order_relaxed) == m.forkSeen.load(std::memory_order_relaxed) &&
      gReleaseEpoch.load(std::memory_order_relaxed) ==
          m.releaseSeen.load(std::memory_order_relaxed) &&
      !m.expired();
  if (fresh) {
    if (m.windowNs > 0) {
      // clock_gettime is the vDSO's here: no system call.
      timespec ts{};
      ::clock_gettime(CLOCK_MONOTONIC, &ts);
      const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
      if (now >= m.quietUntilNs.load(std::memory_order_relaxed)) {
        fresh = m.quiet();
        if (fresh) m.quietUntilNs.store(now + m.windowNs, std::memory_order_relaxed);
      }
    } else {
      fresh = m.quiet();
    }
  }
  // Someone else is refreshing (another thread, or the thread this signal handler
  // interrupted): keep using the previous snapshot rather than wait.
  if (!fresh && !m.busy.test_and_set(std::memory_order_acquire)) {
    try {
      m.refresh(m.snap.load(std::memory_order_acquire));
    } catch (...) {
      // Out of memory while rebuilding: the previous snapshot stays valid.
    }
    m.busy.clear(std::memory_order_release);
  }
}

SnapshotRef LiveView::current() noexcept {
  freshen();
  Impl& m = *impl_;
  SnapshotRef ref;
  detail::PinHandle h;
  ref.snap_ = detail::pinCurrent(m.snap, &h);
  ref.slot_ = h.slot;
  ref.overflow_ = h.overflow;
  return ref;
}

uint64_t LiveView::generation() noexcept {
  freshen();
  return impl_->currentGeneration.load(std::memory_order_acquire);
}

namespace {

std::vector<std::unique_ptr<detail::DnsSource>> sourcesWith(std::shared_ptr<detail::RaStore> ra) {
  std::vector<std::unique_ptr<detail::DnsSource>> sources;
  sources.push_back(detail::makeResolvedSource());
  sources.push_back(detail::makeRaSource(std::move(ra)));
  sources.push_back(detail::makeResolvConfSource());
  return sources;
}

}  // namespace

std::unique_ptr<Snapshot> LiveView::readOnce(const policy::Policy& policy) {
  // Nothing is heard, but what mif recorded is known (mif/view/ra_state.h).
  auto ra = std::make_shared<detail::RaStore>();
  detail::loadRaState(*ra, raStatePath());
  return detail::buildSnapshot(policy, sourcesWith(ra), 1, ra.get());
}

namespace {

// A link where a router answers solicitations: usable, with a link-local IPv6 address to
// send from, and a route the kernel learnt from a router advertisement.
bool routerAnnounced(const Snapshot& s, const Interface& i) {
  if (!i.linkUsable() || i.kind == "loopback") return false;
  bool linkLocal = std::any_of(i.addresses.begin(), i.addresses.end(), [](const Address& a) {
    return a.addr.family == Family::V6 && a.scope == RT_SCOPE_LINK && !a.tentative();
  });
  return linkLocal && std::any_of(s.routes.begin(), s.routes.end(), [&](const Route& r) {
           return r.ifindex == i.index && r.protocol == RTPROT_RA;
         });
}

}  // namespace

std::unique_ptr<Snapshot> LiveView::readSoliciting(const policy::Policy& policy,
                                                   std::chrono::milliseconds wait,
                                                   const std::string& record) {
  // What was recorded before, then what is heard now (which replaces it).
  auto ra = std::make_shared<detail::RaStore>();
  std::string before;
  const bool existed = detail::readRaState(record, before);
  if (existed) ra->load(before, Clock::now(), detail::bootClockMs());
  auto finish = [&](std::unique_ptr<Snapshot> s) {
    // Recorded for programs started later, when something is known or was recorded
    // before (an empty file replaces facts that ended); silently not when /run/mif may
    // not be written (mif/view/ra_state.h).
    if (!record.empty() && s->error.empty() && (existed || ra->size() > 0)) {
      auto now = Clock::now();
      ra->nextExpiry(now);
      detail::writeRaState(record, ra->serialize(now, detail::bootClockMs()), nullptr);
    }
    return s;
  };
  // Subscribe first: an answer that comes before the dump is over is still heard.
  int nl = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = 1u << (RTNLGRP_ND_USEROPT - 1);
  if (nl >= 0 && ::bind(nl, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(nl);
    nl = -1;
  }
  auto first = detail::buildSnapshot(policy, sourcesWith(ra), 1, ra.get());
  if (nl < 0) return finish(std::move(first));
  std::vector<int> asked;
  int raw = -1;
  for (const auto& i : first->interfaces) {
    if (!routerAnnounced(*first, i)) continue;
    if (raw < 0) raw = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (raw < 0) break;  // no CAP_NET_RAW: only what routers send unasked is heard
    int hops = 255, ifindex = i.index;
    ::setsockopt(raw, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops);
    ::setsockopt(raw, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_scope_id = static_cast<uint32_t>(i.index);
    inet_pton(AF_INET6, "ff02::2", &to.sin6_addr);  // all routers
    const uint8_t rs[8] = {133, 0, 0, 0, 0, 0, 0, 0};  // RFC 4861 4.1; the kernel sums it
    if (::sendto(raw, rs, sizeof rs, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 8)
      asked.push_back(i.index);
  }
  if (raw >= 0) ::close(raw);
  if (asked.empty()) {
    ::close(nl);
    return finish(std::move(first));
  }
  std::vector<int> heard;
  auto end = Clock::now() + wait;
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    ssize_t n = ::recv(nl, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      int left = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type != RTM_NEWNDUSEROPT) continue;
        ra->record(h, Clock::now());
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(nduseroptmsg)))
          heard.push_back(static_cast<const nduseroptmsg*>(NLMSG_DATA(h))->nduseropt_ifindex);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    bool all = std::all_of(asked.begin(), asked.end(), [&](int i) {
      return std::find(heard.begin(), heard.end(), i) != heard.end();
    });
    auto now = Clock::now();
    if (all || now >= end) break;
    pollfd pfd{nl, POLLIN, 0};
    ::poll(&pfd, 1,
           static_cast<int>(
               std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count()) + 1);
  }
  ::close(nl);
  return finish(detail::buildSnapshot(policy, sourcesWith(ra), 1, ra.get()));
}

void LiveView::descriptorsReleased(unsigned first, unsigned last) noexcept {
  for (auto& s : gSlots) {
    int v = s.load(std::memory_order_relaxed);
    if (v > 0 && static_cast<unsigned>(v - 1) >= first && static_cast<unsigned>(v - 1) <= last) {
      gReleaseEpoch.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
}

size_t LiveView::retainedForTest() const noexcept { return impl_->retired.size(); }

int LiveView::descriptor() const noexcept { return impl_->fd.load(std::memory_order_relaxed); }

}  // namespace mif::view
