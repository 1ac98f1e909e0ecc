#pragma once
// Keeps a Snapshot current from netlink (libnl-3 route). See docs/architecture.md.
//
// Threading: current() may be called from any thread and from a signal handler once
// initialised; it takes no lock and allocates nothing when nothing changed (one
// non-blocking system call: getsockopt(SO_MEMINFO) on the netlink socket, which says
// whether a notification is queued or was dropped, without reading anything; none at
// all within the freshness window after the last one, setFreshnessWindow). When
// netlink reports a change, the first caller to notice rebuilds the snapshot and
// publishes it with an atomic store; others (and a signal handler that interrupted the
// rebuild) keep using the previous one meanwhile. A rebuild allocates: a signal handler
// that happens to be the first caller after a change allocates inside the handler.
// A reader holds what current() returns, a SnapshotRef: the snapshot it names is not
// freed while any SnapshotRef for it exists, however long the reader blocks (hazard
// pointers, mif/view/pins.h; no lock, no allocation); a replaced snapshot is freed by the next
// refresh after its last reader let go.
//
// Fork: a child (pthread_atfork epoch, or a pid change) closes its inherited copy and
// opens its own netlink socket, so it never drains the parent's notifications.
// close_range/dup2 by the program: the same getsockopt sees a reused number (other buffer
// sizes, or an error); the descriptor's identity (st_dev/st_ino, AF_NETLINK/NETLINK_ROUTE)
// is verified exactly before it is read or closed; if it is no longer ours, it is
// abandoned (never read or closed) and a new socket opened, followed by a full refresh.
// Kernel overruns (ENOBUFS) also end in a full refresh.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "mif/policy/policy.h"
#include "mif/view/snapshot.h"

namespace mif::view {

// A snapshot held by a reader (see above). Move-only; empty after a move. Keep it for as
// long as anything read from the snapshot (a BoundPvd, an interface name) is used.
class SnapshotRef {
 public:
  SnapshotRef() = default;
  ~SnapshotRef() { release(); }
  SnapshotRef(SnapshotRef&& o) noexcept : snap_(o.snap_), slot_(o.slot_), overflow_(o.overflow_) {
    o.snap_ = nullptr;
    o.slot_ = nullptr;
    o.overflow_ = false;
  }
  SnapshotRef& operator=(SnapshotRef&& o) noexcept {
    if (this != &o) {
      release();
      snap_ = o.snap_;
      slot_ = o.slot_;
      overflow_ = o.overflow_;
      o.snap_ = nullptr;
      o.slot_ = nullptr;
      o.overflow_ = false;
    }
    return *this;
  }
  SnapshotRef(const SnapshotRef&) = delete;
  SnapshotRef& operator=(const SnapshotRef&) = delete;

  const Snapshot* get() const noexcept { return snap_; }
  const Snapshot* operator->() const noexcept { return snap_; }
  const Snapshot& operator*() const noexcept { return *snap_; }
  explicit operator bool() const noexcept { return snap_ != nullptr; }
  void release() noexcept;

 private:
  friend class LiveView;
  const Snapshot* snap_ = nullptr;
  std::atomic<const void*>* slot_ = nullptr;  // the hazard slot, or null
  bool overflow_ = false;                     // pinned through the overflow counter
};

class LiveView {
 public:
  // `policy` must outlive the view (PvD definitions are bound by name/glob).
  explicit LiveView(const policy::Policy& policy);
  ~LiveView();
  LiveView(const LiveView&) = delete;
  LiveView& operator=(const LiveView&) = delete;

  // The current snapshot, refreshed first if netlink reported a change, pinned for as long
  // as the returned reference lives. Never empty after construction succeeded.
  SnapshotRef current() noexcept;
  // The generation of the snapshot current() would return, with the same freshness check,
  // without pinning it: for a cache keyed by generation whose hit needs nothing else of
  // the snapshot (the datagram fast path, preload/src/datagram_cache.h).
  uint64_t generation() noexcept;

  // A view whose snapshots come from the caller instead of netlink: a seam for unit tests
  // of the runtime (issue 27). No socket is opened; current() returns the last snapshot
  // fed, pinned and retired exactly as a live one (the fast path pays one branch, taken
  // only where a live view has no netlink socket).
  static std::unique_ptr<LiveView> fed(const policy::Policy& policy,
                                       std::unique_ptr<Snapshot> first);
  // A fed view only: publishes `next` (its generation as given) as the current snapshot;
  // a snapshot still held by a reader is freed after its last reader let go.
  void feed(std::unique_ptr<Snapshot> next);
  // How long a freshness check holds: a current() within `window` of the last check that
  // found nothing queued (by any thread) trusts it instead of asking the netlink socket
  // again, so a change is seen by the first call that starts more than `window` after the
  // kernel announced it. 0 (the default): every call checks. The library sets 100 us
  // (docs/architecture.md, "How fresh the view is"); a fork, and the program closing or
  // replacing the view's descriptor, are still seen at once. Set before concurrent use.
  void setFreshnessWindow(std::chrono::nanoseconds window) noexcept;

  // One full dump, bypassing change tracking (for `mif explain` and `mif probe`), with
  // what mif recorded of router advertisements (mif/view/ra_state.h).
  static std::unique_ptr<Snapshot> readOnce(const policy::Policy& policy);

  // readOnce() that also asks the routers (for `mif show`): the kernel keeps nothing of
  // what router advertisements carried (NAT64 prefix, captive portal, RDNSS), so this
  // listens for their options and, where a router announced itself (a route the kernel
  // learnt from an advertisement) on a usable link, sends a Router Solicitation there
  // (a raw ICMPv6 socket: needs CAP_NET_RAW; without it nothing is sent) and waits up to
  // `wait` for the answers (less when every solicited link answered with options).
  // What mif recorded under /run/mif before (mif/view/ra_state.h) is known too, replaced by
  // what is heard now; the result is written back to `record` (a state file path, "" for
  // none) when it may be.
  static std::unique_ptr<Snapshot> readSoliciting(const policy::Policy& policy,
                                                  std::chrono::milliseconds wait,
                                                  const std::string& record = "");

  // For the close/close_range/closefrom/dup2/dup3 hooks: descriptors first..last (inclusive)
  // were closed or replaced by the program. When one of them belongs to a live view, that
  // view re-checks its socket's identity on its next current() instead of trusting the
  // one-call check (which catches a reused number by its socket buffer sizes). Cheap: a
  // few atomic loads; async-signal-safe.
  static void descriptorsReleased(unsigned first, unsigned last) noexcept;

  // The change-notification socket, or -1 (none open: no netlink here, retrying). For
  // tests and for hooks that want to know which descriptor is the library's.
  int descriptor() const noexcept;

  // For tests: replaced snapshots still kept because a reader held them at the last
  // refresh. Only meaningful while no refresh runs concurrently.
  size_t retainedForTest() const noexcept;

 private:
  struct FedTag {};
  LiveView(const policy::Policy& policy, FedTag);
  struct Impl;
  // The freshness check of current() and generation(): refreshes when netlink reported a
  // change (or the window ended and the socket says so).
  void freshen() noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mif::view
