#pragma once
// Keeps a Snapshot current from netlink (libnl-3 route). See docs/architecture.md.
//
// Threading: current() may be called from any thread and from a signal handler once
// initialised; it takes no lock and allocates nothing when nothing changed (one
// non-blocking system call: getsockopt(SO_MEMINFO) on the netlink socket, which says
// whether a notification is queued or was dropped, without reading anything). When
// netlink reports a change, the first caller to notice rebuilds the snapshot and
// publishes it with an atomic store; others (and a signal handler that interrupted the
// rebuild) keep using the previous one meanwhile. A rebuild allocates: a signal handler
// that happens to be the first caller after a change allocates inside the handler.
// Retired snapshots are freed only after a grace period (2 s), so a reader's pointer
// stays valid for the duration of a call; do not keep it across a blocking call.
//
// Fork: a child (pthread_atfork epoch, or a pid change) closes its inherited copy and
// opens its own netlink socket, so it never drains the parent's notifications.
// close_range/dup2 by the program: the same getsockopt sees a reused number (other buffer
// sizes, or an error); the descriptor's identity (st_dev/st_ino, AF_NETLINK/NETLINK_ROUTE)
// is verified exactly before it is read or closed; if it is no longer ours, it is
// abandoned (never read or closed) and a new socket opened, followed by a full refresh.
// Kernel overruns (ENOBUFS) also end in a full refresh.
#include <memory>

#include "mif/policy/policy.h"
#include "mif/view/snapshot.h"

namespace mif::view {

class LiveView {
 public:
  // `policy` must outlive the view (PvD definitions are bound by name/glob).
  explicit LiveView(const policy::Policy& policy);
  ~LiveView();
  LiveView(const LiveView&) = delete;
  LiveView& operator=(const LiveView&) = delete;

  // The current snapshot, refreshed first if netlink reported a change. Never null after
  // construction succeeded.
  const Snapshot* current() noexcept;

  // One full dump, bypassing change tracking (for `mif show` and `mif explain`).
  static std::unique_ptr<Snapshot> readOnce(const policy::Policy& policy);

  // For the close/close_range/closefrom/dup2/dup3 hooks: descriptors first..last (inclusive)
  // were closed or replaced by the program. When one of them belongs to a live view, that
  // view re-checks its socket's identity on its next current() instead of trusting the
  // one-call check (which catches a reused number by its socket buffer sizes). Cheap: a
  // few atomic loads; async-signal-safe.
  static void descriptorsReleased(unsigned first, unsigned last) noexcept;

  // The change-notification socket, or -1 (none open: no netlink here, retrying). For
  // tests and for hooks that want to know which descriptor is the library's.
  int descriptor() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mif::view
