#include "enforce/decider.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

#include "enforce/dns_stub.h"
#include "mif/view/probe_results.h"
#include "mif/view/socket_class.h"

namespace mif::enforce {

using policy::Decision;
using policy::Family;
using policy::Query;

namespace {

constexpr size_t kMaxRememberedPins = 65536;

policy::Proto protoOf(const SocketInfo& info) {
  if (info.type == SOCK_STREAM) return policy::Proto::Tcp;
  if (info.type == SOCK_DGRAM) return policy::Proto::Udp;
  return policy::Proto::Any;
}

bool isDnsServerOf(const view::BoundPvd& pvd, const policy::IpAddress& a) {
  return std::any_of(pvd.dns.begin(), pvd.dns.end(),
                     [&](const view::DnsServer& s) { return s.addr == a && s.port == 53; });
}

// The PvD's first server that a socket of `socketFamily` can reach.
const view::DnsServer* serverFor(const view::BoundPvd& pvd, int socketFamily) {
  for (const auto& s : pvd.dns) {
    if (s.port != 53) continue;
    if (socketFamily == AF_INET6 || s.addr.family == Family::V4) return &s;
  }
  return nullptr;
}

// What an attempt needs of a PvD (pinSocket, the trace): no list is copied.
view::BoundPvd forAttempt(const view::BoundPvd& b) {
  view::BoundPvd out;
  out.id = b.id;
  out.ifindex = b.ifindex;
  out.ifname = b.ifname;
  out.state = b.state;
  out.hasSource4 = b.hasSource4;
  out.hasSource6 = b.hasSource6;
  out.source4 = b.source4;
  out.source6 = b.source6;
  return out;
}

std::string sourceText(const view::BoundPvd* pvd, Family f) {
  if (!pvd) return "";
  if (f == Family::V4) return pvd->hasSource4 ? pvd->source4.toString() : "";
  return pvd->hasSource6 ? pvd->source6.toString() : "";
}

}  // namespace

Decider::Decider(const policy::Policy& policy, const Trace& trace)
    : policy_(policy), trace_(trace) {
  anyStrict_ = policy.pin().strict || (policy.defaults() && policy.defaults()->strict);
  for (const auto& r : policy.rules()) {
    anyStrict_ = anyStrict_ || r.strict;
    needApp_ = needApp_ || r.app.has_value();
  }
}

Decider::~Decider() {
  if (ownNetns_ >= 0) ::close(ownNetns_);
  if (deadNetns_ >= 0) ::close(deadNetns_);
}

view::LiveView& Decider::view() {
  if (!view_) view_ = std::make_unique<view::LiveView>(policy_);
  return *view_;
}

const view::BoundPvd* Decider::choose(const Decision& d, const view::Snapshot& snap,
                                      Family family) const {
  for (unsigned i = 0; i < d.count; ++i) {
    auto id = d.pvds[i];
    if (id < snap.pvds.size() && snap.pvds[id].state.usable(family)) return &snap.pvds[id];
  }
  return nullptr;
}

// The executable's base name, for `app` rules; read per decision (not cached) because
// the same thread id runs another program after an execve.
std::string Decider::appOf(pid_t tid) const {
  char path[64], exe[4096];
  std::snprintf(path, sizeof path, "/proc/%d/exe", tid);
  ssize_t n = readlink(path, exe, sizeof exe - 1);
  if (n <= 0) return "";
  std::string s(exe, static_cast<size_t>(n));
  return s.substr(s.rfind('/') + 1);
}

bool Decider::pinnedByUs(int fd) const {
  struct stat st {};
  return fstat(fd, &st) == 0 && ourPins_.count({st.st_dev, st.st_ino}) != 0;
}

void Decider::rememberPin(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return;
  // Inode numbers of closed sockets are reused; forgetting everything now and then only
  // means such a socket is treated as the program's own binding.
  if (ourPins_.size() >= kMaxRememberedPins) ourPins_.clear();
  ourPins_.insert({st.st_dev, st.st_ino});
}

void Decider::trace(const char* call, pid_t tid, const Endpoint* to, const Decision* d,
                    const view::BoundPvd* pvd, const char* action, int error) const {
  if (!trace_.enabled()) return;
  TraceRecord r;
  r.call = call;
  r.pid = tid;
  r.destination = to;
  std::string src, rule;
  if (pvd) {
    r.pvd = policy_.pvds()[pvd->id].name;
    r.interface = pvd->ifname;
    src = sourceText(pvd, to ? to->address.family : Family::V4);
  }
  if (d) {
    r.step = policy::stepNumber(d->step);
    if (d->rule >= 0) rule = policy_.rules()[static_cast<size_t>(d->rule)].where.toString();
  }
  r.source = src;
  r.rule = rule;
  r.action = action;
  r.error = error;
  trace_.write(r);
}

Verdict Decider::destination(const char* call, pid_t tid, int fd, const SocketInfo& info,
                             const Endpoint& to, bool apply, std::vector<view::BoundPvd>* order) {
  Verdict v;
  if (staysOnHost(to.address)) {
    // A socket pinned at its creation cannot reach the loopback device: give it back.
    if (apply && info.boundIf != 0 && to.address.bytes != policy::IpAddress{}.bytes &&
        pinnedByUs(fd))
      unpinSocket(fd);
    return v;
  }
  const view::SnapshotRef snap = view().current();
  std::string app = needApp_ ? appOf(tid) : std::string();
  Query q;
  q.kind = std::string_view(call) == "connect" ? Query::Kind::Connect : Query::Kind::Send;
  q.hasAddress = true;
  q.address = to.address;
  q.port = to.port;
  q.proto = protoOf(info);
  q.app = app;
  if (policy_.usesDscp()) q.dscp = view::socketDscp(fd, to.address.family);
  Decision d = policy_.decide(q, snap->view());
  // A failed PvD in its back-off is tried last, within the decision's own list (one relaxed
  // load while every PvD is usable).
  const uint64_t now = view::healthNowMs();
  if (!probes_.path.empty()) pollProbes(tid, now);
  health_.demote(&d, now);
  if (dns_ && d.count >= 2 && q.kind == Query::Kind::Connect && info.type == SOCK_STREAM) {
    // The address is one listed PvD's DNS answer: that PvD stays first (an attempt on any
    // other PvD goes to that PvD's own answer, held_connect.cpp), as the library's tag
    // keeps its PvD first; a new lookup asks a failed PvD last instead (dns_stub.cpp).
    if (auto src = dns_->sourceOf(to.address, d.pvds[0]); src && src->pvd != d.pvds[0]) {
      const auto end = d.pvds.begin() + d.count;
      const auto it = std::find(d.pvds.begin(), end, src->pvd);
      if (it != end) std::rotate(d.pvds.begin(), it, it + 1);
    }
  }
  if (d.unmanaged()) {
    trace(call, tid, &to, &d, nullptr, "unmanaged", 0);
    return v;
  }
  const view::BoundPvd* pvd = d.blocked() ? nullptr : choose(d, *snap, to.address.family);
  if (!pvd) {
    if (!d.strict) return v;
    trace(call, tid, &to, &d, nullptr, "refused", ENETUNREACH);
    return {Verdict::Kind::Refuse, ENETUNREACH, {}};
  }
  if (to.port == 53) {
    // A query to a server of one of the decided PvDs goes through that PvD; a query to
    // any other server goes to the PvD's own (connected UDP, which is how glibc, Go and
    // busybox query), or, under strict, nowhere.
    const view::BoundPvd* owner = nullptr;
    for (unsigned i = 0; i < d.count && !owner; ++i) {
      auto id = d.pvds[i];
      if (id < snap->pvds.size() && isDnsServerOf(snap->pvds[id], to.address) &&
          snap->pvds[id].state.usable(to.address.family))
        owner = &snap->pvds[id];
    }
    if (owner) {
      pvd = owner;
    } else if (!pvd->dns.empty()) {
      const view::DnsServer* s = serverFor(*pvd, info.family);
      if (s && info.type == SOCK_DGRAM && q.kind == Query::Kind::Connect) {
        v.kind = Verdict::Kind::Redirect;
        v.redirect.address = s->addr;
        v.redirect.port = s->port;
      } else if (d.strict) {
        trace(call, tid, &to, &d, pvd, "refused-dns", ENETUNREACH);
        return {Verdict::Kind::Refuse, ENETUNREACH, {}};
      }
    }
  }
  if (!apply) return v;
  bool rebind = false;
  if (info.boundIf != 0 && info.boundIf != pvd->ifindex) {
    if (pinnedByUs(fd)) {
      rebind = true;  // an earlier datagram of ours went elsewhere (see architecture.md)
    } else if (d.strict) {
      trace(call, tid, &to, &d, pvd, "refused-bound-elsewhere", ENETUNREACH);
      return {Verdict::Kind::Refuse, ENETUNREACH, {}};
    } else {
      trace(call, tid, &to, &d, pvd, "program-bound", 0);
      return v;
    }
  }
  int err = pinSocket(fd, info, *pvd, to.address.family, rebind, &v.localPort);
  if (err != 0) {
    if (d.strict) {
      trace(call, tid, &to, &d, pvd, "refused-pin-failed", ENETUNREACH);
      return {Verdict::Kind::Refuse, ENETUNREACH, {}};
    }
    trace(call, tid, &to, &d, pvd, "pin-failed", 0);
    return v;
  }
  if (info.boundIf == 0 || rebind) rememberPin(fd);
  trace(call, tid, &to, &d, pvd, v.kind == Verdict::Kind::Redirect ? "redirected" : "pinned", 0);
  // A strict decision's list is its own: failing over along it never leaves it.
  // A socket bound at its creation (a strict pin's, pinnedByUs) fails over too: its
  // binding stays, the next PvDs' attempts are fresh sockets.
  if (order && d.count >= 2 && info.type == SOCK_STREAM && v.kind == Verdict::Kind::Continue &&
      q.kind == Query::Kind::Connect &&
      (info.boundIf == 0 || (info.boundIf == pvd->ifindex && pinnedByUs(fd)))) {
    bool after = false;
    for (unsigned i = 0; i < d.count; ++i) {
      auto id = d.pvds[i];
      if (id >= snap->pvds.size()) continue;
      const view::BoundPvd& b = snap->pvds[id];
      if (after && b.ifindex != pvd->ifindex && b.state.usable(to.address.family)) {
        if (order->empty()) order->push_back(forAttempt(*pvd));
        order->push_back(forAttempt(b));
      }
      after = after || &b == pvd;
    }
  }
  return v;
}

void Decider::pollProbes(pid_t tid, uint64_t nowMs) {
  if (nowMs < probes_.checkAtMs) return;
  probes_.checkAtMs = nowMs + 500;
  auto traceChange = [&](policy::PvdId id, const view::HealthChange& c, const char* reason) {
    if (c.changed && id < policy_.pvds().size()) trace_.health(tid, policy_.pvds()[id].name, c, reason);
  };
  struct stat st {};
  if (::stat(probes_.path.c_str(), &st) != 0) {
    if (!probes_.existed) return;
    // The prober stopped: what its probes said no longer holds.
    probes_.existed = false;
    for (policy::PvdId id = 0; id < policy_.pvds().size() && id < view::HealthTable::kSlots; ++id) {
      if (health_.byProbe(id))
        traceChange(id, health_.report(id, view::HealthEvent::ProbeOk, nowMs), "probe ended");
    }
    return;
  }
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (probes_.existed && st.st_dev == probes_.dev && st.st_ino == probes_.ino &&
      st.st_size == probes_.size && mtime == probes_.mtimeNs)
    return;
  probes_.existed = true;
  probes_.dev = st.st_dev;
  probes_.ino = st.st_ino;
  probes_.size = st.st_size;
  probes_.mtimeNs = mtime;
  std::ifstream in(probes_.path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  struct Ctx {
    Decider* self;
    const decltype(traceChange)* report;
    uint64_t now;
  } ctx{this, &traceChange, nowMs};
  view::parseProbeResults(
      text,
      [](void* p, const view::ProbeLine& line) {
        Ctx& c = *static_cast<Ctx*>(p);
        const auto& pvds = c.self->policy_.pvds();
        policy::PvdId id = 0;
        while (id < pvds.size() && pvds[id].name != line.name) ++id;
        if (id >= pvds.size() || !pvds[id].probe) return;
        view::HealthEvent e;
        switch (line.verdict) {
          case view::ProbeVerdict::Ok: e = view::HealthEvent::ProbeOk; break;
          case view::ProbeVerdict::Poor: e = view::HealthEvent::ProbePoor; break;
          case view::ProbeVerdict::Down: e = view::HealthEvent::ProbeDown; break;
          default: return;  // not judged
        }
        (*c.report)(id, c.self->health_.report(id, e, c.now), view::probeReason(line.verdict));
      },
      &ctx);
}

Verdict Decider::bind(pid_t tid, int fd, const SocketInfo& info, const Endpoint& local) {
  Verdict v;
  const auto& a = local.address;
  bool wildcard = a.bytes == policy::IpAddress{}.bytes;
  if (!wildcard && staysOnHost(a)) {
    // A loopback listener or client made pinned at creation: loopback never leaves.
    if (info.boundIf != 0 && pinnedByUs(fd)) unpinSocket(fd);
    return v;
  }
  const view::SnapshotRef snap = view().current();
  std::string app = needApp_ ? appOf(tid) : std::string();
  Query q;
  q.kind = Query::Kind::Bind;
  q.hasAddress = !wildcard;
  q.address = a;
  q.port = local.port;
  q.proto = protoOf(info);
  q.app = app;
  Decision d = policy_.decide(q, snap->view());
  if (wildcard) {
    // A listening socket under a strict pin listens on the pinned interface only.
    if (!d.strict || info.boundIf != 0) return v;
    const view::BoundPvd* pvd = choose(d, *snap, a.family);
    if (!pvd) return v;  // nothing usable: its connects and sends are refused later
    if (pinSocket(fd, info, *pvd, a.family, false) == 0) rememberPin(fd);
    trace("bind", tid, &local, &d, pvd, "pinned", 0);
    return v;
  }
  int owner = snap->pvdOfAddress(a);
  if (d.strict) {
    bool allowed = false;
    for (unsigned i = 0; i < d.count; ++i) allowed = allowed || d.pvds[i] == owner;
    if (!allowed) {
      trace("bind", tid, &local, &d, nullptr, "refused", EADDRNOTAVAIL);
      return {Verdict::Kind::Refuse, EADDRNOTAVAIL, {}};
    }
  }
  // Strong host model: an address is valid only on its own interface.
  const view::Interface* itf = snap->ownerOf(a);
  if (itf && info.boundIf == 0 && itf->kind != "loopback") {
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, itf->name.c_str(),
                   static_cast<socklen_t>(itf->name.size())) == 0)
      rememberPin(fd);
  }
  trace("bind", tid, &local, &d, owner >= 0 ? &snap->pvds[static_cast<size_t>(owner)] : nullptr,
        "kept", 0);
  return v;
}

// A network namespace with nothing in it but a down loopback: a socket made there
// reaches nothing, and says so (ENETUNREACH), whatever the host's routes become. Needs
// CAP_SYS_ADMIN; made once, by a short-lived thread, since unshare changes the caller.
int Decider::deadSocket(int domain, int type, int protocol) {
  if (!deadNetnsTried_) {
    deadNetnsTried_ = true;
    ownNetns_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    std::thread([this] {
      if (unshare(CLONE_NEWNET) == 0)
        deadNetns_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    }).join();
  }
  if (deadNetns_ < 0 || ownNetns_ < 0) return -ENETUNREACH;
  if (setns(deadNetns_, CLONE_NEWNET) != 0) return -ENETUNREACH;
  int s = ::socket(domain, type | SOCK_CLOEXEC, protocol);
  int err = errno;
  if (setns(ownNetns_, CLONE_NEWNET) != 0) {
    // Staying in the empty namespace would make every later pinned socket dead too:
    // better to stop supervising loudly than to decide wrongly.
    std::abort();
  }
  return s >= 0 ? s : -err;
}

int Decider::createPinned(pid_t tid, int domain, int type, int protocol) {
  const view::SnapshotRef snap = view().current();
  Family family = domain == AF_INET ? Family::V4 : Family::V6;
  SocketInfo info{domain, type & 0xf, 0};
  Query q;
  q.kind = Query::Kind::Connect;
  q.hasAddress = false;  // no destination yet: a strict pin does not depend on it
  q.proto = protoOf(info);
  std::string app = needApp_ ? appOf(tid) : std::string();
  q.app = app;
  Decision d = policy_.decide(q, snap->view());
  const view::BoundPvd* pvd = d.blocked() ? nullptr : choose(d, *snap, family);
  // A dual-stack AF_INET6 socket may only ever carry IPv4 (mapped) traffic.
  if (!pvd && !d.blocked() && domain == AF_INET6) pvd = choose(d, *snap, Family::V4);
  if (!pvd) {
    int s = deadSocket(domain, type, protocol);
    trace("socket", tid, nullptr, &d, nullptr, "dead", s < 0 ? -s : 0);
    return s;
  }
  int s = ::socket(domain, type | SOCK_CLOEXEC, protocol);
  if (s < 0) return -errno;
  if (setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, pvd->ifname.c_str(),
                 static_cast<socklen_t>(pvd->ifname.size())) != 0) {
    // The interface vanished between the view and now: the socket must not go out unpinned.
    ::close(s);
    s = deadSocket(domain, type, protocol);
    trace("socket", tid, nullptr, &d, pvd, "dead", s < 0 ? -s : 0);
    return s;
  }
  rememberPin(s);
  trace("socket", tid, nullptr, &d, pvd, "pinned", 0);
  return s;
}

}  // namespace mif::enforce
