#pragma once
// The supervisor's decisions: the same engine as the preload library (Policy::decide on
// the live view), applied to the program's socket through a descriptor taken with
// pidfd_getfd. Owned and used by the supervisor's notification thread only.
#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "enforce/sockets.h"
#include "enforce/trace.h"
#include "mif/policy/policy.h"
#include "mif/view/health.h"
#include "mif/view/live_view.h"

namespace mif::enforce {

class DnsStub;

struct Verdict {
  enum class Kind : uint8_t { Continue, Refuse, Redirect };
  Kind kind = Kind::Continue;
  int error = 0;      // Refuse: the errno the call fails with
  Endpoint redirect;  // Redirect: where a DNS query goes instead
  // The socket's local port as the pin read it (a PvD with a source address: pinSocket's
  // getsockname); -1 when the pin did not read it. A held connect's check of a port the
  // program bound takes it instead of asking again.
  int localPort = -1;
};

class Decider {
 public:
  Decider(const policy::Policy& policy, const Trace& trace);
  ~Decider();
  Decider(const Decider&) = delete;
  Decider& operator=(const Decider&) = delete;

  // connect, sendto, sendmsg, sendmmsg to `to` on socket `fd` of thread `tid`.
  // `apply`: pin the socket (false for the later names of one sendmmsg, which are only
  // checked for refusal). `call` names the call in the trace.
  // `order` (a TCP connect only): when the pin was made here on a socket nobody had bound
  // to a device (or at its creation, createPinned), filled with the PvD the socket was pinned to, then the decision's later
  // PvDs usable for the destination's family, in order: what a held connect may fail over
  // along (held_connect.h). Left empty otherwise.
  Verdict destination(const char* call, pid_t tid, int fd, const SocketInfo& info,
                      const Endpoint& to, bool apply, std::vector<view::BoundPvd>* order = nullptr);
  // bind(fd, local).
  Verdict bind(pid_t tid, int fd, const SocketInfo& info, const Endpoint& local);
  // socket(domain, type, protocol) under a strict pin: a new socket of ours already bound
  // to the pinned PvD's interface (or, when none is usable, one in an empty network
  // namespace, whose every connect and send fails with ENETUNREACH). -errno on failure.
  int createPinned(pid_t tid, int domain, int type, int protocol);

  // True when a connect on a socket already bound to a device can continue without a
  // decision: nothing in the policy is strict, so the program's (or the library's) choice
  // stands.
  bool trustsDeviceBinding() const { return !anyStrict_; }

  view::LiveView& view();
  // Per-PvD health of this supervised run (the library's rules, mif/view/health.h): fed by
  // the connects the supervisor holds (held_connect.h); a PvD failed and in its back-off
  // goes to the end of every decision's list, as in the library.
  view::HealthTable& health() { return health_; }
  // The run's probe results file (MIF_PROBES; "" = none): a verdict is a health event, as
  // in the library (preload/src/probe_watch.cpp): down fails the PvD until a probe
  // answers, poor degrades it; the file is looked at on a decision, at most every 0.5 s.
  // (Its captive portal verdicts are the library's alone: the supervisor has no captive
  // rule.)
  void watchProbes(std::string path) { probes_.path = std::move(path); }
  // The run's DNS stub (dns_stub.h; not owned): a TCP connect to an address one PvD of its
  // decision answered keeps that PvD first, as the library's DNS tag does (keepTagFirst),
  // health notwithstanding; the later attempts connect to their own PvD's answers.
  void useDns(const DnsStub* stub) { dns_ = stub; }

 private:
  const view::BoundPvd* choose(const policy::Decision& d, const view::Snapshot& snap,
                               policy::Family family) const;
  std::string appOf(pid_t tid) const;
  bool pinnedByUs(int fd) const;
  void rememberPin(int fd);
  int deadSocket(int domain, int type, int protocol);
  void trace(const char* call, pid_t tid, const Endpoint* to, const policy::Decision* d,
             const view::BoundPvd* pvd, const char* action, int error) const;

  const policy::Policy& policy_;
  const Trace& trace_;
  std::unique_ptr<view::LiveView> view_;  // built at the first decision
  view::HealthTable health_;
  struct Probes {
    std::string path;
    uint64_t checkAtMs = 0;
    bool existed = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtimeNs = 0;
  } probes_;
  void pollProbes(pid_t tid, uint64_t nowMs);
  const DnsStub* dns_ = nullptr;
  bool anyStrict_ = false;
  bool needApp_ = false;
  // Sockets (st_dev, st_ino) this supervisor bound to a device: those it may move to
  // another PvD for a later datagram; a binding made by the program is its own choice.
  std::set<std::pair<dev_t, ino_t>> ourPins_;
  int ownNetns_ = -1, deadNetns_ = -1;
  bool deadNetnsTried_ = false;
};

}  // namespace mif::enforce
