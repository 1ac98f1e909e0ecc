#pragma once
// Keeps a Snapshot current from netlink (libnl-3 route). See docs/architecture.md.
//
// Threading: current() may be called from any thread and from a signal handler once
// initialised; it takes no lock and allocates nothing when nothing changed (one
// non-blocking recv on the netlink socket). When netlink reports a change, the first
// caller to notice rebuilds the snapshot and publishes it with an atomic store; others
// keep using the previous one meanwhile. Retired snapshots are freed only after a grace
// period, so a reader's pointer stays valid for the duration of a call.
//
// Fork: a child detects the pid change and opens its own netlink socket.
// close_range/dup2 by the program: the descriptor's identity (st_dev/st_ino) is checked
// before use; if it is no longer ours, it is abandoned (never read or closed) and
// reopened.
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mif::view
