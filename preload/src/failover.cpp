// Failover across PvDs (issue 29): per-PvD health fed by the program's connects, and a
// blocking connect that failed on its first PvD tried again on the decision's next PvD
// before the program sees the error. The hook (hook_connect.cpp) runs the attempts; what
// is here prepares and judges them. Nothing here runs when the first PvD works but
// connectResult's one relaxed load (docs/architecture.md, "Failover").
//
// A socket bound to one device cannot be moved to another without CAP_NET_RAW, and its
// source address cannot be unbound: every attempt after the first uses a fresh socket,
// given the options the program set that can be carried (mif/view/carry_options.h),
// pinned to the next PvD, and put in place of the program's descriptor with dup3 once it
// is connected. When every attempt fails the program's own socket is untouched and the
// first error is returned, as without failover.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mif/sys/calls.h"
#include "mif/view/carry_options.h"
#include "real_libc.h"
#include "runtime.h"
#include "sockaddr.h"
#if MIF_HAVE_DNS
#include "mif/dns/resolver.h"
#include "resolve_engine.h"
#endif

namespace mif::preload {

namespace {

// Whether the socket holds a local port of the program's own (bind() with a port, or a
// wildcard bind that picked one). After a failed connect the kernel has given back a port
// it picked itself for the connect, but getsockname still reports it; a port the program
// bound stays held. A probe socket binding the same address and port tells them apart
// (EADDRINUSE: held). Another socket sharing that port makes it look held: no failover,
// never a wrong one. Only on the failure path.
bool holdsOwnPort(int fd) noexcept {
  sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) return true;
  const int family = ss.ss_family;
  if (family != AF_INET && family != AF_INET6) return true;
  const in_port_t port = family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port;
  if (port == 0) return false;
  auto realSocket = real::socket.get();
  if (realSocket == nullptr) return true;
  const int probe = realSocket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return true;
  if (family == AF_INET6) {
    int v6only = 0;
    socklen_t len = sizeof v6only;
    if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0) {
      setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
  }
  const bool held = real::bind.get()(probe, reinterpret_cast<sockaddr*>(&ss), sl) != 0;
  real::close.get()(probe);
  return held;
}

// An attempt on PvD `id` for a destination that another PvD's DNS gave (first.taggedPvd):
// the tag's name resolved through `id` alone, with the destination's family, and its first
// address of that family written to next->endpoint and next->answerTo. False when `id` has
// no such answer (NXDOMAIN, NODATA, no servers, timeout): the attempt is skipped. Off the
// success path: it runs only for a second attempt, and allocates (the resolver's answer).
bool answerThrough(Runtime* rt, const view::Snapshot& snap, policy::PvdId id,
                   const Outcome& first, Outcome* next) noexcept {
#if MIF_HAVE_DNS
  // The name lives in the resolver's per-thread tag copy, which the lookup may overwrite.
  char name[256];
  const size_t nl = first.name != nullptr ? strnlen(first.name, sizeof name - 1) : 0;
  if (nl == 0) return false;
  std::memcpy(name, first.name, nl);
  name[nl] = '\0';
  const policy::Family family = first.endpoint.addr.family;
  const resolve::NoCancel noCancel;  // c-ares state and locks must not be unwound halfway
  try {
    dns::Lookups* lookups = resolve::resolverFor(rt);
    if (lookups == nullptr) return false;
    const dns::Answer a = lookups->lookup(snap, std::span<const policy::PvdId>(&id, 1),
                                          std::string_view(name, nl), family == policy::Family::V4,
                                          family == policy::Family::V6, "failover");
    if (a.status != dns::Status::Ok) return false;
    for (const policy::IpAddress& addr : a.addresses) {
      if (addr.family != family) continue;
      sockaddr_storage ss;
      const socklen_t len = toSockaddr(addr, first.endpoint.port, first.endpoint.socketFamily, &ss);
      if (len == 0 || len > sizeof next->answerTo) return false;
      std::memcpy(&next->answerTo, &ss, len);
      next->answerLen = len;
      next->endpoint.addr = addr;
      next->note = "address from this PvD's DNS";
      return true;
    }
  } catch (...) {
  }
  return false;
#else
  (void)rt;
  (void)snap;
  (void)id;
  (void)first;
  (void)next;
  return false;
#endif
}

}  // namespace

void Runtime::connectResult(const Outcome& o, int err, bool broken) noexcept {
  if (!o.decided || o.ifname[0] == '\0' || o.redirectLen != 0 || o.decision.count == 0) return;
  HealthEvent e;
  if (err == 0) {
    e = HealthEvent::Success;
  } else if (err == ETIMEDOUT) {
    e = HealthEvent::Timeout;
  } else if (err == ENETUNREACH || err == EHOSTUNREACH || broken) {
    e = HealthEvent::PathBroken;
  } else {
    return;  // EINPROGRESS, EINTR, the server's refusal, a local error: nothing said of the path
  }
  const policy::PvdId pvd = o.decision.pvds[0];
  // A success on a PvD that never failed: one relaxed load, no clock.
  if (e == HealthEvent::Success && health_.allUsable()) return;
  const HealthChange c = health_.report(pvd, e, healthNowMs());
  if (!c.changed || !trace_.enabled()) return;
  char reason[48];
  const char* name = err != 0 ? strerrorname_np(err) : nullptr;
  std::snprintf(reason, sizeof reason, "connect %s%s", name != nullptr ? name : "succeeded",
                broken && !pathBroken(err) ? " (ICMP on the way)" : "");
  traceHealth(pvd, c, reason);
}

void Runtime::raceLost(const Outcome& o) noexcept {
  if (!o.decided || o.decision.count == 0) return;
  const policy::PvdId pvd = o.decision.pvds[0];
  const HealthChange c = health_.report(pvd, HealthEvent::Timeout, healthNowMs());
  if (c.changed) traceHealth(pvd, c, "connect lost the race");
}

void Runtime::listenToResolver() noexcept {
#if MIF_HAVE_DNS
  dns::setHealthSink(
      [](void* ctx, policy::PvdId pvd, bool answered) {
        Runtime* rt = static_cast<Runtime*>(ctx);
        // An answer proves the PvD's first hops work, not the paths its connects failed on:
        // it ends a degradation by DNS timeouts but not a failure or its back-off.
        if (answered && (rt->health_.allUsable() || rt->health_.state(pvd) == HealthState::Failed)) return;
        const HealthChange c = rt->health_.report(
            pvd, answered ? HealthEvent::Success : HealthEvent::Timeout, healthNowMs());
        if (c.changed) rt->traceHealth(pvd, c, answered ? "DNS answered" : "DNS timeout");
      },
      this);
#endif
}

bool Runtime::mayFailOver(const Outcome& o, int fd, int err) const noexcept {
  if (err == 0 || o.call != Call::Connect || !o.decided || o.error != 0) return false;
  if (o.ifname[0] == '\0' || o.redirectLen != 0 || o.decision.count < 2) return false;
  // A non-blocking connect reports its failure later (poll, SO_ERROR): not retried here.
  // (ETIMEDOUT from a blocking connect is the kernel's SYN retries, not SO_SNDTIMEO, which
  // ends a blocking connect with EINPROGRESS.)
  const int fl = sys::fcntl(fd, F_GETFL, 0);
  if (fl < 0 || (fl & O_NONBLOCK) != 0) return false;
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
  // A port the program bound itself would be lost on a fresh socket.
  return !holdsOwnPort(fd);
}

int Runtime::freshSocketFor(int fd, const Outcome& first, unsigned index, Outcome* next,
                            int flags) noexcept {
  const policy::PvdId id = first.decision.pvds[index];
  if (health_.avoid(id, healthNowMs())) return -1;
  const view::SnapshotRef pinned = view_->current();
  const view::Snapshot* snap = pinned.get();
  if (id >= snap->pvds.size()) return -1;
  const view::BoundPvd* bp = &snap->pvds[id];
  if (bp->ifname.empty() || !bp->state.usable(first.endpoint.addr.family)) return -1;
  int domain = 0, type = 0, protocol = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return -1;
  len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return -1;
  len = sizeof protocol;
  if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) != 0) return -1;
  auto realSocket = real::socket.get();
  if (realSocket == nullptr) return -1;
  *next = begin(Call::Connect, first.endpoint);
  next->decided = true;
  next->name = first.name;
  next->decision = first.decision;
  next->taggedPvd = first.taggedPvd;
  // The destination came from another PvD's DNS: this PvD's own answer, or no attempt.
  if (first.taggedPvd >= 0 && id != first.taggedPvd && !answerThrough(this, *snap, id, first, next))
    return -1;
  const int fresh = realSocket(domain, type | SOCK_CLOEXEC | flags, protocol);
  if (fresh < 0) return -1;
  view::carryOptions(fd, fresh, domain);
  // The PvD tried first in the line (the trace's `pvd`, the health fed).
  std::rotate(next->decision.pvds.begin(), next->decision.pvds.begin() + index,
              next->decision.pvds.begin() + next->decision.count);
  if (!pinToPvd(fresh, bp, first.endpoint.addr.family, first.endpoint.socketFamily, next)) {
    real::close.get()(fresh);
    return -1;
  }
  return fresh;
}

bool Runtime::adoptSocket(int fresh, int fd) noexcept {
  const int fdFlags = sys::fcntl(fd, F_GETFD, 0);
  auto realDup3 = real::dup3.get();
  bool ok = fdFlags >= 0 && realDup3 != nullptr &&
            realDup3(fresh, fd, (fdFlags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0) == fd;
  real::close.get()(fresh);
  return ok;
}

void Runtime::traceHealth(policy::PvdId pvd, const HealthChange& c, const char* reason) const noexcept {
  if (!trace_.enabled()) return;
  const int savedErrno = errno;
  TraceLine line("health");
  auto& j = line.o();
  const char* name = policy_ && pvd < policy_->pvds().size() ? policy_->pvds()[pvd].name.c_str() : "";
  j.str("pvd", name);
  j.str("from", healthName(c.from));
  j.str("to", healthName(c.to));
  j.str("reason", reason);
  j.unum("failures", c.failures);
  // Failed by a probe: until a probe succeeds, no back-off (probe_watch.h).
  if (c.to == HealthState::Failed && !c.untilProbe) j.unum("retry_in_ms", c.retryInMs);
  line.emit(trace_);
  errno = savedErrno;
}

}  // namespace mif::preload
