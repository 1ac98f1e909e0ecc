// The engine's side of the C API inside `mif run` (engine_api.h): libmif-api.so, finding
// the table through libmif.so's mif_preload_api, pins sockets, resolves and lists PvDs
// with this engine's policy, view, resolver (its cache and DNS tags), datagram cache and
// trace, and sets the process default every hook applies (process_pvd.h).
//
// Under a strict `mif run` (or a strict rule for the program, or the default) nothing here
// escapes the pin: a socket pinned to, a lookup through, or a process default of a PvD the
// strict decision does not allow is refused with EPERM (Android's answer to a network the
// app may not use), before anything is bound or asked.
#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "datagram_cache.h"
#include "engine_api.h"
#include "guard.h"
#include "known_fds.h"
#include "hook.h"
#include "process_pvd.h"
#include "real_libc.h"
#include "runtime.h"
#include "sockaddr.h"
#include "trace.h"
#if MIF_HAVE_DNS
#include "resolve_engine.h"
#include "mif/dns/addrinfo.h"
#endif

namespace mif::preload::api {
namespace {

using engine_api::copyName;

void say(char* why, size_t len, const char* fmt, ...) noexcept __attribute__((format(printf, 3, 4)));
void say(char* why, size_t len, const char* fmt, ...) noexcept {
  if (why == nullptr || len == 0) return;
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(why, len, fmt, ap);
  va_end(ap);
}

int fail(int err) noexcept {
  errno = err;
  return -1;
}

// The runtime with a policy, or null with *err set (EPERM: strict and nothing loaded).
const policy::Policy* policyOf(Runtime* rt, const char* pvd, int* err, char* why,
                               size_t len) noexcept {
  if (rt == nullptr) {
    *err = EINVAL;
    say(why, len, "mif: PvD '%s': mif run has no policy loaded", pvd);
    return nullptr;
  }
  const policy::Policy* pol = rt->policyOrNull();
  if (pol == nullptr) {
    *err = rt->failClosed() ? EPERM : EINVAL;
    say(why, len, "mif: PvD '%s': %s", pvd,
        rt->failClosed() ? "strict, and the policy of mif run did not load: nothing is allowed"
                         : "mif run has no policy loaded");
  }
  return pol;
}

// A PvD of the engine's policy (ad hoc PvDs included: `mif run --pvd IFNAME`); when there
// is none of that name, false with the reason in `why` (the caller's error is ENOENT).
bool findPvd(const policy::Policy& pol, const char* name, policy::PvdId* id, char* why,
             size_t len) noexcept {
  try {
    if (auto found = pol.findPvd(name)) {
      *id = *found;
      return true;
    }
  } catch (...) {
  }
  say(why, len,
      "mif: PvD '%s': not a PvD of the policy mif run loaded (an interface is a PvD "
      "under mif run only when named with --pvd)",
      name);
  return false;
}

bool listed(const policy::Decision& d, policy::PvdId id) noexcept {
  for (unsigned i = 0; i < d.count; ++i)
    if (d.pvds[i] == id) return true;
  return false;
}

// The strict decision a socket (or, kind Resolve, a name) of this program is under, if
// any: a strict rule matching without a destination (app, proto), the strict command-line
// pin or a strict default. Destination rules are judged again at connect.
bool strictForbids(Runtime* rt, const policy::Policy& pol, const view::Snapshot& snap,
                   policy::Query::Kind kind, std::string_view name, policy::PvdId id,
                   policy::Decision* out) noexcept {
  policy::Query q;
  q.kind = kind;
  q.app = rt->app();
  q.name = name;
  *out = pol.decide(q, snap.view());
  return out->strict && !listed(*out, id);
}

// "wifi, cell" for a message.
void allowedNames(const policy::Policy& pol, const policy::Decision& d, char* buf,
                  size_t len) noexcept {
  size_t used = 0;
  buf[0] = '\0';
  for (unsigned i = 0; i < d.count && used + 1 < len; ++i) {
    const int n = std::snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                                pol.pvds()[d.pvds[i]].name.c_str());
    if (n < 0) break;
    used += static_cast<size_t>(n);
  }
  if (buf[0] == '\0') copyName("none usable", buf, len);
}

void traceSetPvd(Runtime* rt, const char* call, int fd, const char* pvd, const char* ifname,
                 const policy::IpAddress* source, int err) noexcept {
  if (rt == nullptr || !rt->traceSink().enabled()) return;
  TraceLine line(call);
  auto& j = line.o();
  if (fd >= 0) j.num("fd", fd);
  j.str("pvd", pvd != nullptr ? pvd : "");
  j.str("interface", ifname);
  char addr[64];
  j.str("source", source != nullptr ? formatAddress(*source, addr, sizeof addr) : "");
  j.num("errno", err);
  const char* errName = err != 0 ? strerrorname_np(err) : nullptr;
  j.str("error", errName != nullptr ? errName : "");
  line.emit(rt->traceSink());
}

int traced(Runtime* rt, int fd, const char* pvd, const char* ifname,
           const policy::IpAddress* source, int err) noexcept {
  traceSetPvd(rt, "mif_socket_set_pvd", fd, pvd, ifname, source, err);
  return err == 0 ? 0 : fail(err);
}

int ready() noexcept { return Runtime::get() != nullptr ? 1 : 0; }

int socketSetPvd(int fd, const char* pvd, char* why, size_t len) noexcept {
  Runtime* rt = Runtime::get();
  ReentryGuard guard;  // our own bind and getsockopt are not the program's
  // Whatever this socket's last datagram decided no longer holds once it is bound to a
  // device (or unbound): the next one is decided again (datagram_cache.h).
  dgram::forget(fd);
  knownfd::programBound();  // a device binding and a source of the program's choosing
  if (pvd == nullptr) {
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "", 0) != 0) {
      const int err = errno;
      say(why, len, "mif: socket %d: unbinding from its device: %s", fd, std::strerror(err));
      return traced(rt, fd, pvd, "", nullptr, err);
    }
    return traced(rt, fd, pvd, "", nullptr, 0);
  }
  int err = 0;
  const policy::Policy* pol = policyOf(rt, pvd, &err, why, len);
  if (pol == nullptr) return traced(rt, fd, pvd, "", nullptr, err);
  const view::SnapshotRef snap = rt->liveView()->current();
  policy::PvdId id = 0;
  if (!findPvd(*pol, pvd, &id, why, len)) {
    return traced(rt, fd, pvd, "", nullptr, ENOENT);
  }
  policy::Decision d;
  if (strictForbids(rt, *pol, *snap, policy::Query::Kind::Bind, {}, id, &d)) {
    char allowed[128];
    allowedNames(*pol, d, allowed, sizeof allowed);
    say(why, len, "mif: PvD '%s': mif run is strict and allows only %s", pvd, allowed);
    return traced(rt, fd, pvd, "", nullptr, EPERM);
  }
  const view::BoundPvd* bp = id < snap->pvds.size() ? &snap->pvds[id] : nullptr;
  if (bp == nullptr || !bp->state.present || bp->ifname.empty()) {
    say(why, len, "mif: PvD '%s': no interface matches it", pvd);
    return traced(rt, fd, pvd, "", nullptr, ENETDOWN);
  }
  if (!bp->state.anyUsable()) {
    say(why, len, "mif: PvD '%s': interface %s is down or has no usable address", pvd,
        bp->ifname.c_str());
    return traced(rt, fd, pvd, bp->ifname.c_str(), nullptr, ENETDOWN);
  }
  int domain = AF_INET;
  socklen_t dl = sizeof domain;
  getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl);
  const policy::IpAddress* source = nullptr;
  err = engine_api::pinSocket(fd, domain, *bp, real::bind.get(), &source);
  if (err != 0)
    say(why, len, "mif: PvD '%s': binding socket %d to %s: %s", pvd, fd, bp->ifname.c_str(),
        std::strerror(err));
  return traced(rt, fd, pvd, bp->ifname.c_str(), source, err);
}

#if MIF_HAVE_DNS
real::Symbol<dns::GetaddrinfoFn> libcGetaddrinfo{"getaddrinfo"};
real::Symbol<dns::FreeaddrinfoFn> libcFreeaddrinfo{"freeaddrinfo"};

int resolveThrough(const resolve::Plan& plan, policy::PvdId id, const char* pvd,
                   const char* node, const char* service, const addrinfo* hints,
                   addrinfo** res, const char** note, char* why, size_t len) {
  std::vector<dns::ServTuple> services;
  const int probe = dns::probeService(libcGetaddrinfo.get(), libcFreeaddrinfo.get(), service,
                                      *hints, &services);
  if (probe == EAI_BADFLAGS || probe == EAI_FAMILY) return probe;
  const view::BoundPvd* bp = plan.pvd(static_cast<int>(id));
  addrinfo eff = *hints;
  if (bp != nullptr)
    if (int rc = dns::applyAddrconfig(*plan.snap, bp, &eff)) return rc;
  if (probe != 0) return probe;
  const bool want4 = eff.ai_family != AF_INET6 || (eff.ai_flags & AI_V4MAPPED);
  const bool want6 = eff.ai_family != AF_INET;
  const policy::PvdId order[1] = {id};
  dns::Answer a = plan.resolver->lookup(*plan.snap, order, node, want4, want6, "mif_getaddrinfo");
  if (a.exhausted) {
    *note = "mif_getaddrinfo: no server of the PvD answered";
    say(why, len, "mif: PvD '%s': no DNS server of the PvD answered for %s (%s)", pvd, node,
        a.why.empty() ? "no answer" : a.why.c_str());
    return EAI_AGAIN;
  }
  *note = "mif_getaddrinfo: answered by the PvD";
  if (a.status != dns::Status::Ok) return dns::eaiFor(a.status);
  return dns::buildAddrinfo(node, eff, a, services, plan.snap.get(), plan.pvd(a.pvd), res);
}

int getaddrinfoThrough(const char* pvd, const char* node, const char* service,
                       const addrinfo* hints, addrinfo** res, char* why, size_t len) noexcept {
  Runtime* rt = Runtime::get();
  const int saved = errno;
  int err = 0;
  const policy::Policy* pol = policyOf(rt, pvd, &err, why, len);
  if (pol == nullptr) {
    errno = err;
    return EAI_SYSTEM;
  }
  policy::PvdId id = 0;
  if (!findPvd(*pol, pvd, &id, why, len)) {
    errno = ENOENT;
    return EAI_SYSTEM;
  }
  // The plan every resolver hook makes, with this PvD alone as its decision: the same
  // resolver (cache, tags), the trace's lines.
  resolve::Plan plan;
  plan.rt = rt;
  plan.startUs = resolve::tracingUs();
  int rc;
  const char* note = "";
  {
    ReentryGuard guard;
    resolve::NoCancel noCancel;
    try {
      plan.snap = rt->liveView()->current();
      policy::Decision strict;
      if (strictForbids(rt, *pol, *plan.snap, policy::Query::Kind::Resolve, node, id, &strict)) {
        char allowed[128];
        allowedNames(*pol, strict, allowed, sizeof allowed);
        say(why, len, "mif: PvD '%s': mif run is strict and resolves %s only through %s", pvd,
            node, allowed);
        plan.decision = strict;
        resolve::traceNote(plan, "mif_getaddrinfo", node, "refused: the strict pin forbids the PvD",
                           "EAI_SYSTEM");
        errno = EPERM;
        return EAI_SYSTEM;
      }
      plan.decision = policy::Decision{};
      plan.decision.pvds[0] = id;
      plan.decision.count = 1;
      plan.decision.strict = true;  // this PvD only: never the system resolver
      plan.decision.step = policy::Step::Pin;
      plan.resolver = resolve::resolverFor(rt);
      rc = resolveThrough(plan, id, pvd, node, service, hints, res, &note, why, len);
    } catch (const std::bad_alloc&) {
      rc = EAI_MEMORY;
    } catch (...) {
      rc = EAI_FAIL;
    }
  }
  errno = saved;
  resolve::traceNote(plan, "mif_getaddrinfo", node, note, resolve::eaiName(rc));
  return rc;
}
#else
int getaddrinfoThrough(const char* pvd, const char*, const char*, const addrinfo*, addrinfo**,
                       char* why, size_t len) noexcept {
  say(why, len, "mif: PvD '%s': this libmif-engine.so was built without its resolver", pvd);
  errno = ENOSYS;
  return EAI_SYSTEM;
}
#endif

int processSetPvd(const char* pvd, char* why, size_t len) noexcept {
  Runtime* rt = Runtime::get();
  if (pvd == nullptr) {
    process::set(-1);
    traceSetPvd(rt, "mif_process_set_pvd", -1, pvd, "", nullptr, 0);
    return 0;
  }
  int err = 0;
  const policy::Policy* pol = policyOf(rt, pvd, &err, why, len);
  if (pol == nullptr) return fail(err);
  policy::PvdId id = 0;
  if (!findPvd(*pol, pvd, &id, why, len)) {
    return fail(ENOENT);
  }
  const view::SnapshotRef snap = rt->liveView()->current();
  policy::Decision d;
  if (strictForbids(rt, *pol, *snap, policy::Query::Kind::Bind, {}, id, &d)) {
    char allowed[128];
    allowedNames(*pol, d, allowed, sizeof allowed);
    say(why, len, "mif: PvD '%s': mif run is strict and allows only %s", pvd, allowed);
    traceSetPvd(rt, "mif_process_set_pvd", -1, pvd, "", nullptr, EPERM);
    return fail(EPERM);
  }
  process::set(static_cast<int32_t>(id));
  const view::BoundPvd* bp = id < snap->pvds.size() ? &snap->pvds[id] : nullptr;
  traceSetPvd(rt, "mif_process_set_pvd", -1, pvd, bp != nullptr ? bp->ifname.c_str() : "",
              nullptr, 0);
  return 0;
}

int processGetPvd(char* buf, size_t len) noexcept {
  const int32_t id = process::get();
  Runtime* rt = Runtime::peek();
  const policy::Policy* pol = rt != nullptr ? rt->policyOrNull() : nullptr;
  const char* name = "";
  if (id >= 0 && pol != nullptr && static_cast<size_t>(id) < pol->pvds().size())
    name = pol->pvds()[static_cast<size_t>(id)].name.c_str();
  if (buf != nullptr && len > 0) copyName(name, buf, len);
  return static_cast<int>(std::strlen(name));
}

int pvdList(mif_pvd* out, size_t max) noexcept {
  Runtime* rt = Runtime::get();
  const policy::Policy* pol = rt != nullptr ? rt->policyOrNull() : nullptr;
  if (pol == nullptr) return fail(EINVAL);
  const view::SnapshotRef snap = rt->liveView()->current();
  const int n = engine_api::fillPvdList(*pol, *snap, out, max);
  // What the process's own connects and lookups said of each PvD (health.h).
  for (size_t i = 0; i < static_cast<size_t>(n) && i < max; ++i) {
    const HealthState h = rt->health().state(static_cast<policy::PvdId>(i));
    if (h == HealthState::Degraded) out[i].flags |= MIF_PVD_DEGRADED;
    if (h == HealthState::Failed) out[i].flags |= MIF_PVD_FAILED;
  }
  return n;
}

uint64_t viewGeneration() noexcept {
  Runtime* rt = Runtime::get();
  if (rt == nullptr || rt->liveView() == nullptr) return 0;
  return rt->liveView()->current()->generation;
}

}  // namespace
}  // namespace mif::preload::api

// Found by the libmif.so stub with dlsym on the engine's handle and handed out by its
// mif_preload_api (the engine is loaded RTLD_LOCAL: nothing else sees this symbol).
extern "C" MIF_EXPORT const struct mif_engine_api mif_engine_table = {
    MIF_ENGINE_API_VERSION,
    sizeof(struct mif_engine_api),
    mif::preload::api::ready,
    mif::preload::api::socketSetPvd,
    mif::preload::api::getaddrinfoThrough,
    mif::preload::api::processSetPvd,
    mif::preload::api::processGetPvd,
    mif::preload::api::pvdList,
    mif::preload::api::viewGeneration,
};
