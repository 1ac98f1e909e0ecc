#pragma once
// The per-process runtime: the compiled policy, the live view and the trace, built on the
// first network call (init.cpp) and never torn down (threads may still be in a hook while
// the process exits). The hooks translate a call into an Endpoint, ask the runtime what to
// do, and apply the Outcome around the real libc call.
//
// Threading: get() and every const-after-init member may be used from any thread and from
// a signal handler after initialisation: no lock, no allocation (decide() and
// LiveView::current() promise the same), only the system calls pinning needs.
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mif/policy/policy.h"
#include "mif/view/live_view.h"
#include "health.h"
#include "probe_watch.h"
#include "sockaddr.h"
#include "trace.h"

namespace mif::dns {
class Lookups;
}

namespace mif::preload {

enum class Call : uint8_t { Connect, Sendto, Sendmsg, Sendmmsg, Bind, Listen, Accept };
const char* callName(Call) noexcept;

// What the hook does next.
struct Outcome {
  int error = 0;        // non-zero: fail the call with this errno; libc is not called
  bool decided = false; // a decision was taken (the trace writes a line for it)
  // Datagram path: a control message to add (IP_PKTINFO / IPV6_PKTINFO).
  bool pktinfo = false;
  int ifindex = 0;
  bool hasSource = false;
  policy::IpAddress source;  // also the source bound on the connect path
  bool sourceBound = false;
  // The socket's first connect since the program made it, with what it set known without
  // asking the kernel (known_fds.h): no device binding; armRace reads the rest.
  bool knownFresh = false;
  // A strict pin and a DNS query to a loopback resolver (port 53 on 127.0.0.0/8 or ::1):
  // the pinned PvD's server to send it to instead, as a sockaddr of the socket's family
  // (0 = none). The hook passes this copy to the real call; the program's own sockaddr is
  // never written.
  socklen_t redirectLen = 0;
  sockaddr_in6 redirectTo;
  // An attempt of a failover or race on a PvD other than the destination's DNS tag
  // (freshSocketFor): that PvD's own answer for the tag's name, as a sockaddr of the
  // socket's family, connected to instead of the program's address (0 = the program's).
  socklen_t answerLen = 0;
  sockaddr_in6 answerTo;
  const sockaddr* destination(const sockaddr* asked) const noexcept {
    return redirectLen != 0 ? reinterpret_cast<const sockaddr*>(&redirectTo)
           : answerLen != 0 ? reinterpret_cast<const sockaddr*>(&answerTo)
                            : asked;
  }
  socklen_t destinationLength(socklen_t asked) const noexcept {
    return redirectLen != 0 ? redirectLen : answerLen != 0 ? answerLen : asked;
  }
  // The PvD whose DNS answered with the destination's address (its DNS tag), or -1.
  int16_t taggedPvd = -1;
  // For the trace line.
  Call call = Call::Connect;
  Endpoint endpoint;
  policy::Decision decision;
  // Copied, not pointed to: the trace line is written after a blocking connect, when the
  // snapshot the decision came from may already be gone.
  char ifname[16] = {};  // IFNAMSIZ
  void setIfname(const std::string& interface) noexcept {
    const size_t n = interface.size() < sizeof ifname ? interface.size() : sizeof ifname - 1;
    std::memcpy(ifname, interface.data(), n);
    ifname[n] = '\0';
  }
  const char* name = "";
  // Points `name` at a copy in `buf`: the name of a DNS tag lives in the resolver's
  // per-thread copy, which the lookups of a failover's later attempts overwrite.
  void ownName(char (&buf)[256]) noexcept {
    const size_t n = name != nullptr ? strnlen(name, sizeof buf - 1) : 0;
    if (name != buf && n != 0) std::memmove(buf, name, n);
    buf[n] = '\0';
    name = buf;
  }
  const char* note = "";  // why nothing was applied, when that is the interesting part
  // Failover (failover.cpp): the 1-based attempt of a connect tried on several PvDs (0 when
  // it was tried on one), and how long the attempt took (-1: not measured).
  uint8_t attempt = 0;
  int32_t ms = -1;
};

class Runtime {
 public:
  // The runtime, initialising it on the first call; nullptr when mif is disabled
  // (MIF_DISABLE=1, nothing to decide) or while the calling thread is inside the library.
  static Runtime* get() noexcept;
  // The runtime if it is already initialised; never initialises.
  static Runtime* peek() noexcept;

  // What a datagram decision needs to know of the socket, asked once per call (sendmmsg
  // asks once for all its messages).
  struct SocketFacts {
    bool known = false;
    bool ok = false;         // false: not a socket / bad descriptor (libc will say so)
    char device[16] = {};    // SO_BINDTODEVICE ("" = none)
    int type = -1;           // SO_TYPE
  };

  // connect(), and sendto/sendmsg with MSG_FASTOPEN (TCP Fast Open connects inside send):
  // pins the socket (SO_BINDTODEVICE, then the PvD's source with IP_BIND_ADDRESS_NO_PORT).
  Outcome connectLike(Call call, int fd, const Endpoint& dst) noexcept;
  // A datagram with an explicit destination: says which interface and source to name in a
  // per-datagram control message (unconnected UDP), or nothing for sockets already pinned
  // or not datagram sockets.
  Outcome datagram(Call call, int fd, const Endpoint& dst, SocketFacts* facts) noexcept;
  // The fast path of a datagram on a socket pinned once (unicast_if.h): the interface its
  // cached decision pins it to when that decision holds for `dst` now (same view
  // generation, health and DNS tag; no trace, no dscp rule), else 0 and the caller takes
  // the full path. Costs the view's freshness check, a tag lookup and a few words' read.
  int pinnedDatagram(int fd, const Endpoint& dst) noexcept;
  // bind(): a specific address pins the socket to the interface that owns it; under a
  // strict pin, a wildcard bind is pinned to the PvD's interface and an address of another
  // PvD is refused (EADDRNOTAVAIL).
  Outcome bindLocal(int fd, const Endpoint& local) noexcept;
  // listen() on a socket the program never bound (autobind): pinned under a strict pin.
  Outcome listenOn(int fd) noexcept;
  // accept(): false when a strict pin forbids the PvD the connection arrived through.
  bool acceptAllowed(int fd) noexcept;
  // False when no rule, default or pin is strict: accept() and wildcard binds need no look.
  bool strictPossible() const noexcept { return strictPossible_ || failClosed_; }

  // Writes the trace line for `o` (err = the call's errno, 0 on success). Free when the
  // trace is off. Leaves errno as it found it (it runs after the real call).
  void finish(const Outcome& o, int err) noexcept {
    if (trace_.enabled() && o.decided) {
      const int saved = errno;
      writeTrace(o, err);
      errno = saved;
    }
  }

  // Failover across PvDs (failover.cpp, issue 29). After a connect through a PvD pinned by
  // connectLike: feeds that PvD's health with the result (err = errno, 0 on success;
  // `broken`: pathBrokenOn said the path is broken, e.g. ECONNREFUSED from an ICMP error).
  void connectResult(const Outcome& o, int err, bool broken = false) noexcept;
  // Whether a connect that failed with `err`, an error the caller found path-broken
  // (pathBrokenOn, path_error.h), is tried again on the decision's next PvD: a blocking
  // stream socket pinned by us, no port of the program's own, and another PvD in the
  // (strict or not) list.
  bool mayFailOver(const Outcome& o, int fd, int err) const noexcept;
  // A fresh socket like `fd` (family, type, protocol, the options failover.cpp carries)
  // pinned to the PvD at `index` of first's decision, with `next` describing it; -1 when
  // that PvD is failed, unusable now, or cannot be pinned. When the destination came from
  // another PvD's DNS (first.taggedPvd), the tag's name is resolved through this PvD alone
  // (its own servers, over its interface, the destination's family) and `next` connects to
  // its first answer (Outcome::destination); -1 when this PvD has none.
  // `flags`: SOCK_NONBLOCK for a raced attempt (connect_race.cpp).
  int freshSocketFor(int fd, const Outcome& first, unsigned index, Outcome* next,
                     int flags = 0) noexcept;
  // Puts `fresh` in place of `fd` (dup3, keeping fd's close-on-exec) and closes `fresh`.
  static bool adoptSocket(int fresh, int fd) noexcept;
  HealthTable& health() noexcept { return health_; }
  // Happy Eyeballs across PvDs (connect_race.cpp, issue 30): whether a connect pinned by
  // connectLike may be raced: another PvD in the decision's list (strict or not), pinned by
  // us, no loopback redirection. No system call.
  bool mayRace(const Outcome& o) const noexcept {
    return o.call == Call::Connect && o.decided && o.error == 0 && o.ifname[0] != '\0' &&
           o.redirectLen == 0 && o.decision.count > 1;
  }
  // RFC 8305's connection attempt delay ([failover] attempt_delay_ms).
  uint32_t attemptDelayMs() const noexcept { return attemptDelayMs_; }
  // An attempt that ran at least one attempt delay without completing lost the race to
  // another PvD's: its PvD is degraded (a second time: failed), and the trace says so.
  void raceLost(const Outcome& o) noexcept;
  // Makes the per-PvD resolver report each PvD's answers and timeouts to health() (for the
  // process's runtime, which is never freed).
  void listenToResolver() noexcept;
  // Active probes (probe_watch.h): feeds health and the captive rule with what `mif run`'s
  // prober published, when a look is due. Idle (no MIF_PROBES, or no PvD with `probe`):
  // one relaxed load. True when probes are watched.
  bool pollProbes() noexcept {
    if (probes_.idle()) return false;
    pollProbesSlow();
    return true;
  }
  const ProbeWatch& probes() const noexcept { return probes_; }
  void probesAfterFork() noexcept { probes_.afterFork(); }
  // A trace line for a change of a PvD's health (nothing when the trace is off).
  void traceHealth(policy::PvdId pvd, const HealthChange& c, const char* reason) const noexcept;

  // For the resolver hooks (hook_resolve*.cpp, per-PvD DNS): what a name decision needs.
  // policyOrNull() is null when no policy loaded (then failClosed() says whether to refuse).
  const policy::Policy* policyOrNull() const noexcept { return policy_ ? &*policy_ : nullptr; }
  view::LiveView* liveView() const noexcept { return view_.get(); }
  const std::string& app() const noexcept { return app_; }
  const Trace& traceSink() const noexcept { return trace_; }
  bool failClosed() const noexcept { return failClosed_; }

  // Construction from the environment (init.cpp). Public for unit tests.
  struct Config {
    std::vector<std::string> layerFiles;  // system, user (those that exist), then MIF_POLICY
    policy::Pin pin;
    std::string trace;                    // "", "stderr" or a path
    std::string app;
    std::string probes;                   // MIF_PROBES: the prober's results file, or ""
    // Seams for unit tests of the runtime (issue 27; system calls are the third, chosen at
    // link time: mif/sys/calls.h). `view` makes the view instead of a LiveView on netlink
    // (LiveView::fed); `resolver` is what the resolve engine asks instead of the
    // per-process dns::Resolver. Both unset in production.
    std::function<std::unique_ptr<view::LiveView>(const policy::Policy&)> view;
    dns::Lookups* resolver = nullptr;
  };
  static std::unique_ptr<Runtime> create(const Config& config, std::string* error);
  // Makes `rt` the process's runtime, as if the first network call had built it: for unit
  // tests that drive the hooks in-process (never freed here; the caller keeps it alive).
  static void installForTest(Runtime* rt) noexcept;
  dns::Lookups* resolverSeam() const noexcept { return resolver_; }
  // A runtime that refuses every network call and lookup (no policy, no view), built in
  // static storage with no allocation: what a strict process gets when create() itself
  // failed (out of memory), never a silent run without mif.
  static Runtime* failClosedInstance() noexcept;

 private:
  Runtime() = default;
  policy::Decision decideFor(policy::Query& q, const view::Snapshot* snap, const Endpoint* dst) const noexcept;
  bool deviceAllowed(const char* dev, const policy::Decision& d, const view::Snapshot* snap) const noexcept;
  static Outcome begin(Call call, const Endpoint& e) noexcept;
  bool refuseUnloaded(Outcome* o, int err) const noexcept;
  void judgeBoundSocket(const char* dev, const view::Snapshot* snap, Outcome* o) const noexcept;
  bool settledWithoutPvd(Outcome* o) const noexcept;
  bool pinToPvd(int fd, const view::BoundPvd* bp, policy::Family family, int socketFamily,
                Outcome* o) const noexcept;
  void redirectLoopbackDns(int fd, const Endpoint& dst, SocketFacts* facts,
                           Outcome* o) const noexcept;
  void writeTrace(const Outcome& o, int err) const noexcept;
  void pollProbesSlow() noexcept;

  std::optional<policy::Policy> policy_;
  std::unique_ptr<view::LiveView> view_;
  std::string app_;
  Trace trace_;
  HealthTable health_;
  ProbeWatch probes_;
  dns::Lookups* resolver_ = nullptr;  // Config::resolver
  bool needsProto_ = false;     // some rule has `proto`: ask the socket its type
  bool needsDscp_ = false;      // some rule has `dscp`: ask the socket its traffic class
  bool strictPossible_ = false; // some rule, the default or the pin is strict
  bool failClosed_ = false;     // strict, but the policy could not be loaded: refuse all
  uint32_t attemptDelayMs_ = policy::FailoverDef::kDefaultAttemptDelayMs;
};

}  // namespace mif::preload
