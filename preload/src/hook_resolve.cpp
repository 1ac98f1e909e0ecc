// getaddrinfo through the right PvD (issue 6), and the plan every resolver hook shares.
//
// getaddrinfo_a is deliberately not interposed. Since glibc 2.34 it lives in libc.so and
// its helper threads call libc's internal getaddrinfo, not the PLT, so its lookups go to
// the system resolver; re-implementing it would mean re-implementing gai_suspend,
// gai_error and gai_cancel too, which share libc-private request lists. Programs that use
// it (rare: a few mail and monitoring tools) resolve as without mif; their connects are
// still pinned by the socket hooks (policy steps 1-3, 5-6 apply to the address).
#include "hook_resolve.h"

#include <dlfcn.h>
#include <netdb.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "guard.h"
#include "hook.h"
#include "mif/dns/addrinfo.h"
#include "mif/dns/local_names.h"
#include "mif/dns/tags.h"
#include "real_libc.h"

namespace mif::preload::resolve {
namespace {

void traceSink(void* ctx, std::string_view line) {
  auto* rt = static_cast<Runtime*>(ctx);
  std::string l(line);
  l += '\n';
  rt->traceSink().write(l.data(), l.size());
}

dns::Resolver* resolverFor(Runtime* rt) {
  // One per process, made on the first managed resolution and never destroyed (threads
  // may be resolving while the process exits).
  static std::once_flag once;
  static dns::Resolver* resolver = nullptr;
  std::call_once(once, [rt] {
    dns::ResolverOptions o;
    o.policy = rt->policyOrNull();
    if (rt->traceSink().enabled()) {
      o.trace = traceSink;
      o.traceCtx = rt;
    }
    resolver = new dns::Resolver(o);
  });
  return resolver;
}

Plan planWith(policy::Query& q) noexcept {
  Plan p;
  Runtime* rt = Runtime::get();
  if (rt == nullptr) return p;
  p.rt = rt;
  const policy::Policy* pol = rt->policyOrNull();
  if (pol == nullptr) {
    if (rt->failClosed()) p.route = Route::Blocked;
    return p;
  }
  try {
    p.snap = rt->liveView()->current();
    q.app = rt->app();
    p.decision = pol->decide(q, p.snap->view());
    if (p.decision.unmanaged()) return p;
    p.resolver = resolverFor(rt);
  } catch (...) {
    // Out of memory while deciding: what could have been strict is refused (no silent
    // fallback to the system resolver); the rest is glibc's as without mif.
    p.route = rt->strictPossible() ? Route::Blocked : Route::Libc;
    return p;
  }
  if (p.decision.blocked()) {
    p.route = Route::Blocked;
  } else if (p.decision.count == 0) {
    p.route = Route::Libc;  // non-strict and nothing usable: the system resolver, as usual
  } else {
    p.route = Route::Managed;
  }
  return p;
}

}  // namespace

const view::BoundPvd* Plan::pvd(int id) const {
  if (!snap || id < 0 || size_t(id) >= snap->pvds.size()) return nullptr;
  return &snap->pvds[size_t(id)];
}

const view::BoundPvd* Plan::first() const {
  return decision.count > 0 ? pvd(decision.pvds[0]) : nullptr;
}

Plan planForName(const char* name) noexcept {
  policy::Query q;
  q.kind = policy::Query::Kind::Resolve;
  std::string_view n(name);
  if (!n.empty() && n.back() == '.') n.remove_suffix(1);
  q.name = n;
  return planWith(q);
}

Plan planForAddress(const policy::IpAddress& addr) noexcept {
  policy::Query q;
  q.kind = policy::Query::Kind::Connect;
  q.hasAddress = true;
  q.address = addr.unmapped();
  dns::Tag tag;
  if (dns::lookupTag(q.address, &tag)) {
    q.taggedPvd = tag.pvd;
    q.name = tag.name;
  }
  return planWith(q);
}

int herrnoForEai(int eai) noexcept {
  switch (eai) {
    case 0:
      return NETDB_SUCCESS;
    case EAI_NONAME:
      return HOST_NOT_FOUND;
    case EAI_NODATA:
      return NO_DATA;
    case EAI_AGAIN:
      return TRY_AGAIN;
    case EAI_FAIL:
      return NO_RECOVERY;
    default:
      return h_errno;
  }
}

void traceNote(const Plan& p, std::string_view call, std::string_view name,
               std::string_view note) noexcept {
  if (p.rt == nullptr || !p.rt->traceSink().enabled()) return;
  const ErrnoKeeper keep;
  try {
    timespec rt{};
    clock_gettime(CLOCK_REALTIME, &rt);
    tm t{};
    gmtime_r(&rt.tv_sec, &t);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", t.tm_year + 1900,
             t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
             long(rt.tv_nsec / 1000) % 1000000);
    std::string line = "{\"time\":\"" + std::string(when) +
                       "\",\"pid\":" + std::to_string(getpid()) + ",\"call\":\"" +
                       std::string(call) + "\",\"name\":\"" + std::string(name) + "\",\"note\":\"" +
                       std::string(note) + "\"";
    if (const policy::Policy* pol = p.rt->policyOrNull()) {
      line += ",\"pvds\":[";
      for (unsigned i = 0; i < p.decision.count; ++i)
        line += (i ? ",\"" : "\"") + pol->pvds()[p.decision.pvds[i]].name + "\"";
      line += "]";
    }
    line += ",\"strict\":";
    line += p.decision.strict ? "true" : "false";
    line += ",\"step\":\"";
    line += policy::stepName(p.decision.step);
    line += "\"}\n";
    p.rt->traceSink().write(line.data(), line.size());
  } catch (...) {
  }
  keep.restore();
}

}  // namespace mif::preload::resolve

using namespace mif::preload;
using namespace mif::preload::resolve;
namespace dns = mif::dns;

namespace {

real::Symbol<dns::GetaddrinfoFn> realGetaddrinfo{"getaddrinfo"};
real::Symbol<dns::FreeaddrinfoFn> realFreeaddrinfo{"freeaddrinfo"};

// The probe's answer depends only on its inputs when the service is numeric (or absent):
// each thread remembers its last few, so a cached resolution does not ask glibc again.
// Named services are always probed (glibc reads /etc/services on every call; so do we).
struct ProbeMemo {
  struct Entry {
    bool used = false;
    char service[8] = {};
    bool hasService = false;
    int flags = 0, family = 0, socktype = 0, protocol = 0, rc = 0;
    size_t count = 0;
    dns::ServTuple tuples[8];
  };
  Entry entries[8];
  unsigned next = 0;
};
thread_local ProbeMemo tlsProbeMemo;

bool memoisable(const char* service) {
  if (service == nullptr) return true;
  size_t n = std::strlen(service);
  if (n == 0 || n > 5) return false;
  for (size_t i = 0; i < n; ++i)
    if (service[i] < '0' || service[i] > '9') return false;
  return true;
}

int probe(dns::GetaddrinfoFn libcGai, const char* service, const addrinfo& hints,
          std::vector<dns::ServTuple>* out) {
  const int flags = hints.ai_flags & ~(AI_ADDRCONFIG | AI_CANONNAME);
  const bool memo = memoisable(service);
  if (memo) {
    for (const auto& e : tlsProbeMemo.entries) {
      if (!e.used || e.flags != flags || e.family != hints.ai_family ||
          e.socktype != hints.ai_socktype || e.protocol != hints.ai_protocol ||
          e.hasService != (service != nullptr) ||
          (service != nullptr && std::strcmp(e.service, service) != 0))
        continue;
      out->assign(e.tuples, e.tuples + e.count);
      return e.rc;
    }
  }
  int rc = dns::probeService(libcGai, realFreeaddrinfo.get(), service, hints, out);
  if (memo && out->size() <= 8) {
    auto& e = tlsProbeMemo.entries[tlsProbeMemo.next++ % 8];
    e.used = true;
    e.hasService = service != nullptr;
    std::memset(e.service, 0, sizeof e.service);
    if (service) std::memcpy(e.service, service, std::strlen(service));
    e.flags = flags;
    e.family = hints.ai_family;
    e.socktype = hints.ai_socktype;
    e.protocol = hints.ai_protocol;
    e.rc = rc;
    e.count = out->size();
    std::copy(out->begin(), out->end(), e.tuples);
  }
  return rc;
}

int managedGetaddrinfo(const Plan& plan, const char* node, const char* service,
                       const addrinfo* hints, addrinfo** res, dns::GetaddrinfoFn libcGai) {
  // glibc's own checks (flags, family, service, socktype, AI_NUMERICSERV) come before any
  // lookup; asking glibc with a numeric placeholder gives its exact answer and expansion.
  std::vector<dns::ServTuple> services;
  int probe = ::probe(libcGai, service, *hints, &services);
  if (probe == EAI_BADFLAGS || probe == EAI_FAMILY) return probe;

  addrinfo eff = *hints;
  if (hints->ai_flags & AI_ADDRCONFIG) {
    // Judged on the PvD's own interface, not on every interface of the host.
    bool v4 = false, v6 = false;
    if (const auto* first = plan.first()) dns::addrconfigSeen(*plan.snap, *first, &v4, &v6);
    if (eff.ai_family == AF_UNSPEC && (v4 || v6)) {
      if (v4 != v6) eff.ai_family = v4 ? AF_INET : AF_INET6;
    } else if ((eff.ai_family == AF_INET && !v4) || (eff.ai_family == AF_INET6 && !v6)) {
      return EAI_NONAME;
    }
  }
  if (probe != 0) return probe;

  const bool want4 = eff.ai_family != AF_INET6 || (eff.ai_flags & AI_V4MAPPED);
  const bool want6 = eff.ai_family != AF_INET;
  std::span<const mif::policy::PvdId> order(plan.decision.pvds.data(), plan.decision.count);
  dns::Answer a = plan.resolver->lookup(*plan.snap, order, node, want4, want6, "getaddrinfo");
  if (a.exhausted) {
    if (plan.decision.strict) return EAI_AGAIN;
    traceNote(plan, "getaddrinfo", node, "every PvD failed: system resolver");
    return -1000;  // the caller hands the call to libc
  }
  if (a.status != dns::Status::Ok) return dns::eaiFor(a.status);
  return dns::buildAddrinfo(node, eff, a, services, plan.snap.get(), plan.pvd(a.pvd), res);
}

}  // namespace

extern "C" {

MIF_EXPORT int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                           addrinfo** res) noexcept {
  dns::GetaddrinfoFn libcGai = realGetaddrinfo.get(reinterpret_cast<const void*>(&getaddrinfo));
  if (libcGai == nullptr) {
    errno = ENOSYS;
    return EAI_SYSTEM;
  }
  if (node == nullptr || ReentryGuard::active()) return libcGai(node, service, hints, res);
  // Whatever mif does (a stat of /etc/hosts, the view, the lookup's sockets) leaves errno
  // as the program had it: every return below restores it, and a call handed to libc
  // gets it back first.
  const ErrnoKeeper keep;
  static const addrinfo kDefaultHints = [] {
    addrinfo h{};
    h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;  // glibc's default_hints (AI_DEFAULT)
    return h;
  }();
  const addrinfo* h = hints != nullptr ? hints : &kDefaultHints;
  const bool libcs = (h->ai_flags & AI_NUMERICHOST) || dns::leaveToLibc(node) ||
                     (h->ai_family != AF_UNSPEC && h->ai_family != AF_INET && h->ai_family != AF_INET6);
  Plan plan;
  if (!libcs) plan = planForName(node);
  if (libcs || plan.route == Route::Libc) {
    keep.restore();
    return libcGai(node, service, hints, res);
  }
  int rc;
  {
    ReentryGuard guard;
    NoCancel noCancel;
    if (plan.route == Route::Blocked) {
      traceNote(plan, "getaddrinfo", node, "strict: no usable PvD");
      rc = EAI_AGAIN;
    } else {
      try {
        rc = managedGetaddrinfo(plan, node, service, h, res, libcGai);
      } catch (const std::bad_alloc&) {
        rc = EAI_MEMORY;
      } catch (...) {
        rc = EAI_FAIL;  // unexpected: non-recoverable, never a fallback that could leak
      }
    }
  }
  keep.restore();
  if (rc == -1000) return libcGai(node, service, hints, res);
  if (rc == 0) errno = 0;  // see hook_resolve.h: what glibc leaves
  h_errno = herrnoForEai(rc);
  return rc;
}

}  // extern "C"
