// Decisions and how they are applied to a socket. Every function here runs on a hook's
// hot path: no allocation, no lock; the system calls are the ones pinning needs plus at
// most two cheap getsockopt queries of the socket's own state. Longer than the ~400 lines
// a file here should be, for that reason: connectLike, datagram, bindLocal, listenOn,
// acceptAllowed and the loopback-DNS redirect share the small helpers at the top, which
// the compiler inlines only within one translation unit (the build has no LTO).
#include "runtime.h"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "datagram_cache.h"
#include "captive.h"
#include "decision_order.h"
#include "guard.h"
#include "known_fds.h"
#include "mif/sys/calls.h"
#include "mif/view/socket_class.h"
#include "process_pvd.h"
#include "real_libc.h"
#if MIF_HAVE_DNS
#include "mif/dns/tags.h"
#endif

namespace mif::preload {

using policy::Decision;
using policy::Family;
using policy::Query;

const char* callName(Call c) noexcept {
  switch (c) {
    case Call::Connect: return "connect";
    case Call::Sendto: return "sendto";
    case Call::Sendmsg: return "sendmsg";
    case Call::Sendmmsg: return "sendmmsg";
    case Call::Bind: return "bind";
    case Call::Listen: return "listen";
    case Call::Accept: return "accept";
  }
  return "?";
}

namespace {

// The device the socket is bound to ("" when none). False when fd is not a socket or not
// open: the caller then leaves the call to libc, which reports the error glibc would.
bool boundDevice(int fd, char (&dev)[IFNAMSIZ]) noexcept {
  socklen_t len = sizeof dev;
  if (sys::getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) != 0) return false;
  if (len >= sizeof dev) len = sizeof dev - 1;
  dev[len] = '\0';
  return true;
}

int socketType(int fd) noexcept {
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return -1;
  return type;
}

// SO_TYPE, asked at most once per call (a sendmmsg's messages share it).
bool isDatagram(int fd, Runtime::SocketFacts* facts) noexcept {
  if (facts->type == -1) facts->type = socketType(fd);
  return facts->type == SOCK_DGRAM;
}

policy::Proto protoOf(int type) noexcept {
  if (type == SOCK_STREAM) return policy::Proto::Tcp;
  if (type == SOCK_DGRAM) return policy::Proto::Udp;
  return policy::Proto::Any;
}

const view::BoundPvd* boundPvd(const view::Snapshot* snap, policy::PvdId id) noexcept {
  return id < snap->pvds.size() ? &snap->pvds[id] : nullptr;
}

// The datagram cache's key: the view's generation (and the process default), and every
// change of health, so a datagram decided before a PvD failed is decided again.
uint64_t datagramKey(uint64_t generation, const HealthTable& health) noexcept {
  return process::cacheKey(generation) ^ (static_cast<uint64_t>(health.changes()) << 40);
}

// The destination's DNS tag (dns/tags.h): the PvD whose DNS answered with it, or -1; its
// name to *name (a per-thread buffer, valid until the thread's next lookup).
int32_t tagOf(const policy::IpAddress& a, const char** name = nullptr) noexcept {
#if MIF_HAVE_DNS
  dns::Tag tag;
  if (dns::lookupTag(a, &tag)) {
    if (name != nullptr) *name = tag.name;
    return tag.pvd;
  }
#else
  (void)a;
  (void)name;
#endif
  return -1;
}

bool contains(const Decision& d, int pvd) noexcept {
  for (unsigned i = 0; i < d.count; ++i) {
    if (d.pvds[i] == pvd) return true;
  }
  return false;
}

}  // namespace

Decision Runtime::decideFor(Query& q, const view::Snapshot* snap, const Endpoint* dst) const noexcept {
  q.app = app_;
  if (dst != nullptr) {
    q.hasAddress = true;
    q.address = dst->addr;
    q.port = dst->port;
    const char* name = nullptr;
    q.taggedPvd = tagOf(dst->addr, &name);
    if (name != nullptr) q.name = name;
  }
  Decision d = policy_->decide(q, snap->view());
  process::apply(&d, *snap);  // mif_process_set_pvd
  return d;
}

bool Runtime::deviceAllowed(const char* dev, const Decision& d, const view::Snapshot* snap) const noexcept {
  for (unsigned i = 0; i < d.count; ++i) {
    const view::BoundPvd* bp = boundPvd(snap, d.pvds[i]);
    if (bp != nullptr && bp->ifname == dev) return true;
  }
  return false;
}

Outcome Runtime::begin(Call call, const Endpoint& e) noexcept {
  Outcome o;
  o.call = call;
  o.endpoint = e;
  return o;
}

bool Runtime::refuseUnloaded(Outcome* o, int err) const noexcept {
  if (!failClosed_) return false;
  o->decided = true;
  o->error = err;
  o->note = "strict, but the policy did not load";
  return true;
}

// A socket already bound to a device (by the program, or by us earlier): its binding
// stands unless a strict decision forbids that device.
void Runtime::judgeBoundSocket(const char* dev, const view::Snapshot* snap,
                               Outcome* o) const noexcept {
  o->ifname[0] = '\0';
  if (o->decision.strict && !deviceAllowed(dev, o->decision, snap)) {
    o->error = ENETUNREACH;
    o->note = "bound to a device the strict pin forbids";
  } else {
    o->note = "socket already bound to a device";
    o->decided = false;
  }
}

// True when the decision leaves nothing to apply: unmanaged, strict with nothing usable
// (then o->error is set), or nothing usable and not strict (the kernel's choice).
bool Runtime::settledWithoutPvd(Outcome* o) const noexcept {
  if (o->decision.unmanaged()) return true;
  if (o->decision.blocked()) {
    o->error = ENETUNREACH;
    o->note = "strict and no PvD usable";
    return true;
  }
  return o->decision.count == 0;
}

Outcome Runtime::connectLike(Call call, int fd, const Endpoint& dst) noexcept {
  Outcome o = begin(call, dst);
  if (refuseUnloaded(&o, ENETUNREACH)) return o;
  // Loopback never leaves the host, and a scope id is the program naming the interface
  // itself (link-local): pinning either to a PvD's device would only break it. A strict
  // pin's DNS to a loopback resolver is the exception (redirectLoopbackDns).
  if (dst.loopback()) {
    if (dst.port == 53 && strictPossible_) redirectLoopbackDns(fd, dst, nullptr, &o);
    return o;
  }
  if (dst.scopeId != 0) return o;
  char dev[IFNAMSIZ];
  // A socket the program made through our socket() hook and never bound to a device has
  // none: no getsockopt (known_fds.h). Any other is asked.
  o.knownFresh = knownfd::takeUnbound(fd);
  if (o.knownFresh) {
    dev[0] = '\0';
  } else if (!boundDevice(fd, dev)) {
    return o;
  }
  // Already bound to a device and nothing can be strict: the binding stands whatever the
  // decision, so a repeated connect (EALREADY/EISCONN) pays no decide().
  if (dev[0] != '\0' && !strictPossible()) return o;

  const view::SnapshotRef pinned = view_->current();  // held to the end of the call
  const view::Snapshot* snap = pinned.get();
  // One of the host's own addresses: delivered through loopback, never through a PvD (and
  // a socket pinned to another interface could not reach it).
  if (snap->ownerOf(dst.addr) != nullptr) return o;
  Query q;
  q.kind = Query::Kind::Connect;
  if (needsProto_) q.proto = protoOf(socketType(fd));
  if (needsDscp_) q.dscp = view::socketDscp(fd, dst.addr.family);
  o.decision = decideFor(q, snap, &dst);
  o.taggedPvd = static_cast<int16_t>(q.taggedPvd);
  const bool tagFirst = q.taggedPvd >= 0 && o.decision.count > 0 && o.decision.pvds[0] == q.taggedPvd;
  // Active probes feed health and the captive rule (probe_watch.h): one load when idle.
  const bool probing = pollProbes();
  // A PvD that failed recently is tried last until its back-off elapses (failover.cpp).
  if (!health_.allUsable()) health_.demote(&o.decision, healthNowMs());
  // So is one behind a captive portal not found open, for all but the portal (captive.h).
  demoteCaptive(&o.decision, *snap, q.name, dst.addr, probing ? &probes_ : nullptr);
  keepTagFirst(&o.decision, q.taggedPvd, tagFirst);  // the program's address is its answer
  o.name = q.name.empty() ? "" : q.name.data();
  o.decided = true;

  // Already bound to a device: by the program (its choice stands unless strict forbids
  // it), or by us on an earlier connect of this socket (so a repeated connect reaches the
  // kernel unchanged and reports EALREADY/EISCONN exactly as glibc's would).
  if (dev[0] != '\0') {
    judgeBoundSocket(dev, snap, &o);
    return o;
  }
  if (settledWithoutPvd(&o)) return o;
  const view::BoundPvd* bp = boundPvd(snap, o.decision.pvds[0]);
  if (bp == nullptr || bp->ifname.empty()) return o;
  if (!pinToPvd(fd, bp, dst.addr.family, dst.socketFamily, &o)) {
    if (o.knownFresh) {
      const int err = errno;
      // Known as a socket, but the number was closed behind our back and now names
      // something else (known_fds.h): libc reports what it is, as without mif.
      if (err == ENOTSOCK || err == EBADF) return begin(call, dst);
      // Bound after all where no hook could see it (another process holding the socket:
      // SCM_RIGHTS, a supervisor), and re-binding a bound socket without CAP_NET_RAW is
      // EPERM. Judged as any bound socket is.
      char bound[IFNAMSIZ];
      if (boundDevice(fd, bound) && bound[0] != '\0') {
        judgeBoundSocket(bound, snap, &o);
        return o;
      }
    }
    if (!o.decision.strict) return o;
    o.error = ENETUNREACH;
    o.note = "could not bind to the PvD's interface";
  }
  return o;
}

// Binds a socket about to connect to the PvD's interface and, when the PvD names one, to
// its source address of `family`. False when the device binding failed.
bool Runtime::pinToPvd(int fd, const view::BoundPvd* bp, Family family, int socketFamily,
                       Outcome* o) const noexcept {
  o->setIfname(bp->ifname);
  // By name, not index: a VPN that came back with a new index is still found.
  if (sys::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bp->ifname.c_str(),
                 static_cast<socklen_t>(bp->ifname.size())) != 0) {
    return false;
  }
  const bool v4 = family == Family::V4;
  if (v4 ? bp->hasSource4 : bp->hasSource6) {
    o->source = v4 ? bp->source4 : bp->source6;
    o->hasSource = true;
    const int one = 1;
    // Bind only the address now; the port is picked at connect time, so pinning a source
    // burns no ephemeral port (and the 4-tuple stays free to share a port).
    setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_storage ss;
    socklen_t len = toSockaddr(o->source, 0, socketFamily, &ss);
    // EINVAL: the program bound the socket (wildcard, own port) before connecting; its
    // binding stands and the device binding alone keeps it on the PvD.
    o->sourceBound = real::bind.get()(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  }
  return true;
}

// A DNS query to a resolver on loopback (systemd-resolved's 127.0.0.53, a dnsmasq or unbound
// on 127.0.0.1) under a strict decision would hand the name to a process outside the pin,
// which forwards it through whatever PvD it likes. It goes instead to the pinned PvD's own
// server, over its interface. The PvD is chosen as for a name lookup (Query::Kind::Resolve,
// without the name: the query is inside the payload), so only the pin, app rules and the
// default speak; a non-strict decision leaves loopback alone. `facts` is null on the
// connect path (stream and datagram sockets), set on the datagram path.
void Runtime::redirectLoopbackDns(int fd, const Endpoint& dst, SocketFacts* facts,
                                  Outcome* o) const noexcept {
  SocketFacts own;
  if (facts == nullptr) facts = &own;
  if (!facts->known) {
    facts->known = true;
    facts->ok = boundDevice(fd, facts->device);
  }
  if (!facts->ok) return;  // not a socket: libc says so
  if (facts->type == -1) facts->type = socketType(fd);
  const int type = facts->type;
  if (type != SOCK_DGRAM && !(type == SOCK_STREAM && facts == &own)) return;

  const view::SnapshotRef pinned = view_->current();  // held to the end of the call
  const view::Snapshot* snap = pinned.get();
  Query q;
  q.kind = Query::Kind::Resolve;
  q.app = app_;
  const Decision d = policy_->decide(q, snap->view());
  if (!d.strict) return;
  o->decision = d;
  o->decided = true;
  if (d.blocked()) {
    o->error = ENETUNREACH;
    o->note = "strict and no PvD usable";
    return;
  }
  const char* dev = facts->device;
  if (dev[0] != '\0' && !deviceAllowed(dev, d, snap)) {
    o->error = ENETUNREACH;
    o->note = "bound to a device the strict pin forbids";
    return;
  }
  // An AF_INET6 socket reaches an IPv4 server at its v4-mapped address, unless IPV6_V6ONLY.
  bool v4ok = dst.socketFamily == AF_INET;
  if (dst.socketFamily == AF_INET6) {
    int v6only = 0;
    socklen_t len = sizeof v6only;
    v4ok = getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0 && v6only == 0;
  }
  // The first server of a usable family, in the decision's order of PvDs (only the PvD the
  // socket is bound to, when it is).
  const view::BoundPvd* bp = nullptr;
  const view::DnsServer* server = nullptr;
  for (unsigned i = 0; i < d.count && server == nullptr; ++i) {
    const view::BoundPvd* p = boundPvd(snap, d.pvds[i]);
    if (p == nullptr || p->ifindex == 0 || (dev[0] != '\0' && p->ifname != dev)) continue;
    for (const view::DnsServer& s : p->dns) {
      const bool v4 = s.addr.family == Family::V4;
      if (v4 ? !(v4ok && p->state.v4) : !(dst.socketFamily == AF_INET6 && p->state.v6)) continue;
      // A PvD whose "server" is itself a loopback stub (discovered from resolv.conf) would
      // send the query straight back to it.
      Endpoint e;
      e.addr = s.addr;
      if (e.loopback()) continue;
      bp = p;
      server = &s;
      break;
    }
  }
  if (server == nullptr) {
    o->error = ECONNREFUSED;
    o->note = "strict: loopback resolver, and the PvD has no DNS server of this family";
    return;
  }
  if (dev[0] == '\0') {
    if (facts == &own) {
      if (!pinToPvd(fd, bp, server->addr.family, dst.socketFamily, o)) {
        o->error = ENETUNREACH;
        o->note = "could not bind to the PvD's interface";
        return;
      }
    } else {
      o->setIfname(bp->ifname);
      o->pktinfo = true;
      o->ifindex = bp->ifindex;
      const bool v4 = server->addr.family == Family::V4;
      if (v4 ? bp->hasSource4 : bp->hasSource6) {
        o->hasSource = true;
        o->source = v4 ? bp->source4 : bp->source6;
      }
    }
  }
  sockaddr_storage ss;
  const socklen_t len = toSockaddr(server->addr, server->port, dst.socketFamily, &ss);
  std::memcpy(&o->redirectTo, &ss, len);
  o->redirectLen = len;
  o->endpoint.addr = server->addr;
  o->endpoint.port = server->port;
  o->note = "loopback resolver: sent to the PvD's DNS server instead";
}

int Runtime::pinnedDatagram(int fd, const Endpoint& dst) noexcept {
  if (trace_.enabled() || needsDscp_ || dst.loopback() || dst.scopeId != 0) return 0;
  pollProbes();  // before the key: a probe's verdict changes health
  const uint64_t key = datagramKey(view_->generation(), health_);
  int ifindex = 0;
  return dgram::pinnedHit(fd, key, dst.addr, dst.port, tagOf(dst.addr), &ifindex) ? ifindex : 0;
}

Outcome Runtime::datagram(Call call, int fd, const Endpoint& dst, SocketFacts* facts) noexcept {
  Outcome o = begin(call, dst);
  if (refuseUnloaded(&o, ENETUNREACH)) return o;
  if (dst.loopback()) {
    if (dst.port == 53 && strictPossible_) redirectLoopbackDns(fd, dst, facts, &o);
    return o;
  }
  if (dst.scopeId != 0) return o;
  // Active probes (probe_watch.h), before any key is read: a verdict changes health.
  const bool probing = pollProbes();
  // The same destination as this socket's last datagram, nothing changed since: the same
  // decision, without asking the socket its binding and type or deciding again.
  if (dgram::occupied(fd)) {
    // Only the view's generation is needed: no snapshot pinned.
    const uint64_t key = datagramKey(view_->generation(), health_);
    const int16_t dscp = needsDscp_ ? view::socketDscp(fd, dst.addr.family) : -1;
    const char* tagName = "";
    const int32_t tagged = tagOf(dst.addr, &tagName);
    dgram::Entry e;
    if (dgram::lookup(fd, key, dst.addr, dst.port, dscp, tagged, &e)) {
      o.decided = e.decided;
      o.decision = e.decision;
      o.name = tagName;
      o.error = e.error;
      o.note = e.note;
      o.pktinfo = e.pktinfo;
      o.ifindex = e.ifindex;
      o.hasSource = e.hasSource;
      o.source = e.source;
      std::memcpy(o.ifname, e.ifname, sizeof o.ifname);
      return o;
    }
  }
  if (!facts->known) {
    facts->known = true;
    facts->ok = boundDevice(fd, facts->device);
  }
  if (!facts->ok) return o;
  const char* dev = facts->device;
  // Pinned already (connected through us, bound to an address, pinned at its creation by
  // `mif run --enforce`, or by the program): a per-datagram interface would contradict
  // the binding (the kernel rejects it for IPv6 and silently prefers it for IPv4), so the
  // socket's binding decides. When nothing can be strict that binding stands whatever
  // the decision: no view check, no decide(), no SO_TYPE query (as on a repeated connect).
  if (dev[0] != '\0' && !strictPossible()) return o;
  // A stream socket ignores the address (or fails); raw sockets are the program's own
  // business; only datagram sockets choose a route per packet. A bound socket needs its
  // type only when its binding is refused (below): the usual bound datagram socket pays
  // no SO_TYPE query per datagram.
  if (dev[0] == '\0' && !isDatagram(fd, facts)) return o;

  const view::SnapshotRef pinned = view_->current();  // held to the end of the call
  const view::Snapshot* snap = pinned.get();
  Query q;
  q.kind = Query::Kind::Send;
  q.proto = policy::Proto::Udp;
  if (needsDscp_) q.dscp = view::socketDscp(fd, dst.addr.family);
  // An unbound datagram socket: what is decided below is remembered for its next datagram
  // to the same destination (datagram_cache.h).
  bool demoted = false;  // a decision demoted by health is not remembered (its back-off ends)
  const uint64_t key = datagramKey(snap->generation, health_);  // read before deciding
  auto remember = [&](const Outcome& out) {
    if (dev[0] != '\0' || demoted) return;
    dgram::Entry e;
    e.generation = key;
    e.addr = dst.addr;
    e.port = dst.port;
    e.dscp = needsDscp_ ? q.dscp : -1;
    e.taggedPvd = q.taggedPvd;
    e.decided = out.decided;
    e.decision = out.decision;
    e.pktinfo = out.pktinfo;
    e.hasSource = out.hasSource;
    e.error = out.error;
    e.ifindex = out.ifindex;
    e.source = out.source;
    std::memcpy(e.ifname, out.ifname, sizeof e.ifname);
    e.note = out.note;
    dgram::store(fd, e);
  };
  if (snap->ownerOf(dst.addr) != nullptr) {  // the host's own address
    q.taggedPvd = tagOf(dst.addr);
    remember(o);
    return o;
  }
  o.decision = decideFor(q, snap, &dst);
  const bool tagFirst = q.taggedPvd >= 0 && o.decision.count > 0 && o.decision.pvds[0] == q.taggedPvd;
  // A PvD that failed recently gets no datagram while another of the list is usable; the
  // next datagram after a failure is known is re-pinned (none is sent twice).
  if (!health_.allUsable()) demoted = health_.demote(&o.decision, healthNowMs());
  // Nor one behind a captive portal (captive.h); remembered, as the view's generation
  // changes when the portal's state does.
  demoteCaptive(&o.decision, *snap, q.name, dst.addr, probing ? &probes_ : nullptr);
  // A datagram to an address a PvD's DNS gave goes through that PvD, as before its
  // decision listed failover PvDs after it (a datagram is never re-addressed).
  keepTagFirst(&o.decision, q.taggedPvd, tagFirst);
  o.name = q.name.empty() ? "" : q.name.data();
  o.decided = true;
  if (dev[0] != '\0') {
    judgeBoundSocket(dev, snap, &o);
    if (o.error != 0 && !isDatagram(fd, facts)) o = begin(call, dst);  // not ours to refuse
    return o;
  }
  if (settledWithoutPvd(&o)) {
    remember(o);
    return o;
  }
  const view::BoundPvd* bp = boundPvd(snap, o.decision.pvds[0]);
  if (bp == nullptr || bp->ifindex == 0) {
    remember(o);
    return o;
  }
  o.setIfname(bp->ifname);
  o.pktinfo = true;
  o.ifindex = bp->ifindex;
  const bool v4 = dst.addr.family == Family::V4;
  if (v4 ? bp->hasSource4 : bp->hasSource6) {
    o.hasSource = true;
    o.source = v4 ? bp->source4 : bp->source6;
  }
  remember(o);
  return o;
}

Outcome Runtime::bindLocal(int fd, const Endpoint& local) noexcept {
  Outcome o = begin(Call::Bind, local);
  if (refuseUnloaded(&o, EADDRNOTAVAIL)) return o;
  if (local.loopback() || local.scopeId != 0) return o;
  char dev[IFNAMSIZ];
  if (!boundDevice(fd, dev)) return o;
  const bool wildcard = local.wildcard();
  if (wildcard && !strictPossible_) return o;

  Query q;
  q.kind = Query::Kind::Bind;
  if (needsProto_) q.proto = protoOf(socketType(fd));
  const view::SnapshotRef pinned = view_->current();  // held to the end of the call
  const view::Snapshot* snap = pinned.get();
  q.app = app_;
  if (!wildcard) {
    q.hasAddress = true;
    q.address = local.addr;
    q.port = local.port;
  }
  o.decision = policy_->decide(q, snap->view());
  o.decided = true;

  if (wildcard) {
    if (!o.decision.strict || (dev[0] != '\0' && deviceAllowed(dev, o.decision, snap))) {
      o.decided = false;
      return o;
    }
    if (o.decision.blocked()) {
      o.error = EADDRNOTAVAIL;
      o.note = "strict and no PvD usable";
      return o;
    }
    const view::BoundPvd* bp = boundPvd(snap, o.decision.pvds[0]);
    if (bp == nullptr || bp->ifname.empty() ||
        sys::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bp->ifname.c_str(),
                   static_cast<socklen_t>(bp->ifname.size())) != 0) {
      o.error = EADDRNOTAVAIL;
      o.note = "could not bind to the PvD's interface";
      return o;
    }
    o.setIfname(bp->ifname);
    return o;
  }

  // A specific address: the program's choice stands, and (strong host model) the address
  // is valid only on the PvD that owns it, so the socket leaves only through its interface.
  const view::Interface* owner = snap->ownerOf(local.addr);
  if (owner == nullptr) {
    o.decided = false;  // not ours to judge: the kernel says EADDRNOTAVAIL (or IP_FREEBIND)
    return o;
  }
  if (o.decision.strict) {
    const int pvd = snap->pvdOfAddress(local.addr);
    if (pvd < 0 || !contains(o.decision, pvd)) {
      o.error = EADDRNOTAVAIL;
      o.note = "address of a PvD the strict pin forbids";
      return o;
    }
  }
  if (dev[0] != '\0') {
    o.note = "socket already bound to a device";
    return o;
  }
  if (owner->kind == "loopback") return o;
  o.setIfname(owner->name);
  sys::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, owner->name.c_str(),
             static_cast<socklen_t>(owner->name.size()));
  return o;
}

Outcome Runtime::listenOn(int fd) noexcept {
  Outcome o;
  o.call = Call::Listen;
  if (!strictPossible_ && !failClosed_) return o;
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return o;
  Endpoint local;
  if (!fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len, &local)) return o;
  // Only the autobound case: a bind() of the program went through bindLocal already.
  if (!local.wildcard() || local.port != 0) return o;
  return bindLocal(fd, local);
}

bool Runtime::acceptAllowed(int fd) noexcept {
  if (failClosed_) return false;
  if (!strictPossible_) return true;
  Query q;
  q.kind = Query::Kind::Bind;
  q.proto = policy::Proto::Tcp;
  const view::SnapshotRef pinned = view_->current();  // held to the end of the call
  const view::Snapshot* snap = pinned.get();
  q.app = app_;
  Decision d = policy_->decide(q, snap->view());
  if (!d.strict) return true;
  char dev[IFNAMSIZ];
  if (boundDevice(fd, dev) && dev[0] != '\0' && deviceAllowed(dev, d, snap)) return true;
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return true;
  Endpoint local;
  if (!fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len, &local)) return true;  // AF_UNIX
  if (local.loopback()) return true;
  const int pvd = snap->pvdOfAddress(local.addr);
  return pvd >= 0 && contains(d, pvd);
}

}  // namespace mif::preload
