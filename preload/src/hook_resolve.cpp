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
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "guard.h"
#include "hook.h"
#include "mif/dns/addrinfo.h"
#include "mif/dns/addrinfo_memo.h"
#include "mif/dns/local_names.h"
#include "mif/dns/tags.h"
#include "process_pvd.h"
#include "real_libc.h"
#include "trace.h"

namespace mif::preload::resolve {
namespace {

void traceSink(void* ctx, std::string_view line) {
  auto* rt = static_cast<Runtime*>(ctx);
  std::string l(line);
  l += '\n';
  rt->traceSink().write(l.data(), l.size());
}

}  // namespace

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

namespace {

Plan planWith(policy::Query& q) noexcept {
  Plan p;
  p.startUs = tracingUs();
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
    process::apply(&p.decision, *p.snap);  // mif_process_set_pvd
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

const char* eaiName(int rc) noexcept {
  switch (rc) {
    case 0: return "OK";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
    case EAI_NODATA: return "EAI_NODATA";
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
    default: return "EAI_OTHER";
  }
}

const char* herrName(int herr) noexcept {
  switch (herr) {
    case NETDB_SUCCESS: return "OK";
    case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
    case TRY_AGAIN: return "TRY_AGAIN";
    case NO_RECOVERY: return "NO_RECOVERY";
    case NO_DATA: return "NO_DATA";
    case NETDB_INTERNAL: return "NETDB_INTERNAL";
    default: return "H_ERRNO_OTHER";
  }
}

int64_t tracingUs() noexcept {
  const Runtime* rt = Runtime::peek();
  return rt != nullptr && rt->traceSink().enabled() ? monotonicUs() : 0;
}

int64_t monotonicUs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

namespace {

void writeCallLine(Runtime* rt, const Plan* p, std::string_view call, std::string_view name,
                   std::string_view note, std::string_view status, int64_t startUs) noexcept {
  if (rt == nullptr || !rt->traceSink().enabled()) return;
  TraceLine line(call);
  auto& j = line.o();
  j.str("name", name);
  j.str("note", note);
  j.str("status", status);
  if (p != nullptr) {
    const policy::Policy* pol = rt->policyOrNull();
    const char* names[policy::kMaxListed];
    size_t n = 0;
    for (unsigned i = 0; pol != nullptr && i < p->decision.count && n < std::size(names); ++i)
      if (p->decision.pvds[i] < pol->pvds().size()) names[n++] = pol->pvds()[p->decision.pvds[i]].name.c_str();
    j.strings("pvds", std::span<const char* const>(names, n));
    j.boolean("strict", p->decision.strict);
    j.str("step_name", policy::stepName(p->decision.step));
  }
  if (startUs != 0) j.num("us", monotonicUs() - startUs);
  line.emit(rt->traceSink());
}

}  // namespace

void traceNote(const Plan& p, std::string_view call, std::string_view name, std::string_view note,
               std::string_view status) noexcept {
  writeCallLine(p.rt, &p, call, name, note, status, p.startUs);
}

void traceLibc(std::string_view call, std::string_view name, std::string_view why,
               std::string_view status, int64_t startUs) noexcept {
  if (ReentryGuard::active()) return;
  writeCallLine(Runtime::get(), nullptr, call, name, why, status, startUs);
}

void CallTrace::setAddress(const policy::IpAddress& a) noexcept {
  try {
    const std::string t = a.toString();
    const size_t n = std::min(t.size(), sizeof text - 1);
    std::memcpy(text, t.data(), n);
    text[n] = '\0';
    name = std::string_view(text, n);
  } catch (...) {
  }
}

void CallTrace::finish(std::string_view status) noexcept {
  if (note == nullptr) return;
  if (decided)
    traceNote(plan, call, name, note, status);
  else
    traceLibc(call, name, note, status, start);
}

const char* whyLibc(const char* name) noexcept {
  if (dns::isNumericHost(name)) return "numeric host: glibc";
  if (dns::isLocalhost(name)) return "localhost: glibc";
  if (!dns::isValidHostname(name)) return "not a valid host name: glibc";
  return "/etc/hosts: glibc";
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

// Each thread's finished answers (mif/dns/addrinfo_memo.h): a name asked again while the
// view, /etc/hosts, the records' TTL and the address tags are unchanged is answered from
// here, before any decision, lock or sort. On the heap, made by the thread's first managed
// answer: the engine's TLS is initial-exec, and 12 KiB of it per thread would not fit the
// static TLS that the loader keeps for a library opened after start-up.
thread_local std::unique_ptr<dns::AddrinfoMemo> tlsMemo;

// The memo applies to a process whose runtime exists, with a policy and a live view, and
// is not traced (a traced call writes its lines from the full path).
Runtime* memoRuntime() noexcept {
  Runtime* rt = Runtime::peek();
  if (rt == nullptr || rt->traceSink().enabled() || rt->policyOrNull() == nullptr ||
      rt->liveView() == nullptr)
    return nullptr;
  return rt;
}

int64_t monotonicNs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// 0 and *res when the memo answers; -1 otherwise (EAI_MEMORY when it could not allocate).
int memoFind(const char* node, const char* service, const addrinfo& hints,
             addrinfo** res) noexcept {
  Runtime* rt = memoRuntime();
  if (rt == nullptr || !tlsMemo || !dns::AddrinfoMemo::memoisable(service)) return -1;
  dns::AddrinfoMemo::State st;
  st.hostsGeneration = dns::hostsGeneration();
  {
    const mif::view::SnapshotRef snap = rt->liveView()->current();
    if (!snap) return -1;
    // The process's default PvD (mif_process_set_pvd) decides too: a new default misses.
    st.viewGeneration = process::cacheKey(snap->generation);
  }
  st.nowNs = monotonicNs();
  return tlsMemo->find(node, service, hints, st, res);
}

// What the memo's entry for this call is remembered under, read before the call decided.
struct MemoFill {
  uint32_t hostsGeneration = 0;
  uint64_t defaultKey = 0;  // process::cacheKey(0): the process default's epoch
};

int managedGetaddrinfo(const Plan& plan, const char* node, const char* service,
                       const addrinfo* hints, addrinfo** res, dns::GetaddrinfoFn libcGai,
                       const char** note, const MemoFill* fill) {
  // glibc's own checks (flags, family, service, socktype, AI_NUMERICSERV) come before any
  // lookup; asking glibc with a numeric placeholder gives its exact answer and expansion.
  std::vector<dns::ServTuple> services;
  int probe = ::probe(libcGai, service, *hints, &services);
  if (probe == EAI_BADFLAGS || probe == EAI_FAMILY) return probe;

  // AI_ADDRCONFIG judged on the PvD's own interface, not on every interface of the host.
  addrinfo eff = *hints;
  if (int rc = dns::applyAddrconfig(*plan.snap, plan.first(), &eff)) return rc;
  if (probe != 0) return probe;

  const bool want4 = eff.ai_family != AF_INET6 || (eff.ai_flags & AI_V4MAPPED);
  const bool want6 = eff.ai_family != AF_INET;
  std::span<const mif::policy::PvdId> order(plan.decision.pvds.data(), plan.decision.count);
  dns::Answer a = plan.resolver->lookup(*plan.snap, order, node, want4, want6, "getaddrinfo");
  if (a.exhausted) {
    if (plan.decision.strict) {
      *note = "strict: every PvD failed";
      return EAI_AGAIN;
    }
    *note = "every PvD failed: system resolver";
    return -1000;  // the caller hands the call to libc
  }
  *note = "answered by a PvD";
  if (a.status != dns::Status::Ok) return dns::eaiFor(a.status);
  int rc = dns::buildAddrinfo(node, eff, a, services, plan.snap.get(), plan.pvd(a.pvd), res);
  if (rc == 0 && fill != nullptr && memoRuntime() != nullptr) {
    dns::AddrinfoMemo::State st;
    st.viewGeneration = fill->defaultKey + plan.snap->generation;
    st.hostsGeneration = fill->hostsGeneration;
    st.nowNs = monotonicNs();
    if (!tlsMemo) tlsMemo.reset(new (std::nothrow) dns::AddrinfoMemo());
    if (tlsMemo) tlsMemo->remember(node, service, *hints, st, a, *res);
  }
  return rc;
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
  {
    const int hit = memoFind(node, service, *h, res);
    if (hit == 0) {
      errno = 0;  // see hook_resolve.h: what glibc leaves after a success
      h_errno = NETDB_SUCCESS;
      return 0;
    }
    if (hit == EAI_MEMORY) {
      keep.restore();
      h_errno = herrnoForEai(hit);
      return hit;
    }
  }
  // Read before the /etc/hosts check and the decision below: an answer remembered under
  // these was given while the name was not in /etc/hosts and under this process default.
  MemoFill fill;
  fill.hostsGeneration = dns::hostsGeneration();
  fill.defaultKey = process::cacheKey(0);
  const int64_t start = tracingUs();
  const char* why = (h->ai_flags & AI_NUMERICHOST) ? "AI_NUMERICHOST: glibc"
                    : (h->ai_family != AF_UNSPEC && h->ai_family != AF_INET &&
                       h->ai_family != AF_INET6)
                        ? "not an inet family: glibc"
                    : dns::leaveToLibc(node) ? whyLibc(node)
                                             : nullptr;
  Plan plan;
  if (why == nullptr) plan = planForName(node);
  if (why != nullptr || plan.route == Route::Libc) {
    keep.restore();
    const int rc = libcGai(node, service, hints, res);
    traceLibc("getaddrinfo", node, why != nullptr ? why : "no PvD decided: system resolver",
              eaiName(rc), start);
    return rc;
  }
  int rc;
  const char* note = "";
  {
    ReentryGuard guard;
    NoCancel noCancel;
    if (plan.route == Route::Blocked) {
      note = "strict: no usable PvD";
      rc = EAI_AGAIN;
    } else {
      try {
        rc = managedGetaddrinfo(plan, node, service, h, res, libcGai, &note, &fill);
      } catch (const std::bad_alloc&) {
        rc = EAI_MEMORY;
      } catch (...) {
        rc = EAI_FAIL;  // unexpected: non-recoverable, never a fallback that could leak
      }
    }
  }
  keep.restore();
  if (rc == -1000) {
    rc = libcGai(node, service, hints, res);
    traceNote(plan, "getaddrinfo", node, note, eaiName(rc));
    return rc;
  }
  if (rc == 0) errno = 0;  // see hook_resolve.h: what glibc leaves
  h_errno = herrnoForEai(rc);
  traceNote(plan, "getaddrinfo", node, note, eaiName(rc));
  return rc;
}

}  // extern "C"
