// getaddrinfo's part of the resolve engine: see resolve_addrinfo.h.
#include "resolve_addrinfo.h"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#include "mif/dns/addrinfo_memo.h"
#include "mif/dns/local_names.h"
#include "process_pvd.h"
#include "real_libc.h"

namespace mif::preload::resolve {
namespace {

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

}  // namespace

int memoAnswer(const char* node, const char* service, const addrinfo& hints,
               addrinfo** res) noexcept {
  Runtime* rt = memoRuntime();
  if (rt == nullptr || !tlsMemo || !dns::AddrinfoMemo::memoisable(service)) return -1;
  return tlsMemo->find(
      node, service, hints,
      [rt](dns::AddrinfoMemo::State* st) noexcept {
        st->hostsGeneration = dns::hostsGeneration();
        const view::SnapshotRef snap = rt->liveView()->current();
        if (!snap) return false;
        // The process's default PvD (mif_process_set_pvd) decides too: a new default misses.
        st->viewGeneration = process::cacheKey(snap->generation);
        st->nowNs = monotonicNs();
        return true;
      },
      res);
}

AddrinfoCall::AddrinfoCall(const char* node, const char* service, const addrinfo& hints,
                           dns::GetaddrinfoFn libc) noexcept
    : node_(node), service_(service), hints_(hints), libc_(libc),
      // Read before the /etc/hosts check and the decision: an answer remembered under these
      // was given while the name was not in /etc/hosts and under this process default.
      hostsGeneration_(dns::hostsGeneration()), defaultKey_(process::cacheKey(0)) {
  q_.kind = Query::Kind::Name;
  q_.call = "getaddrinfo";
  q_.name = node;
  if (hints.ai_flags & AI_NUMERICHOST)
    q_.libcBecause = "AI_NUMERICHOST: glibc";
  else if (hints.ai_family != AF_UNSPEC && hints.ai_family != AF_INET &&
           hints.ai_family != AF_INET6)
    q_.libcBecause = "not an inet family: glibc";
  q_.before = &AddrinfoCall::before;
  q_.beforeCtx = this;
}

int AddrinfoCall::before(void* ctx, const Plan& plan, Query* q) {
  auto* self = static_cast<AddrinfoCall*>(ctx);
  // glibc's own checks (flags, family, service, socktype, AI_NUMERICSERV) come before any
  // lookup; asking glibc with a numeric placeholder gives its exact answer and expansion.
  const int rc = probe(self->libc_, self->service_, self->hints_, &self->services_);
  if (rc == EAI_BADFLAGS || rc == EAI_FAMILY) return rc;
  // AI_ADDRCONFIG judged on the PvD's own interface, not on every interface of the host.
  self->eff_ = self->hints_;
  if (int ac = dns::applyAddrconfig(*plan.snap, plan.first(), &self->eff_)) return ac;
  if (rc != 0) return rc;
  q->want4 = self->eff_.ai_family != AF_INET6 || (self->eff_.ai_flags & AI_V4MAPPED);
  q->want6 = self->eff_.ai_family != AF_INET;
  return 0;
}

int AddrinfoCall::result(const Answer& a, addrinfo** res) noexcept {
  switch (a.verdict) {
    case Verdict::Libc:  // the caller's: never here
    case Verdict::Refused:
      return EAI_AGAIN;
    case Verdict::Error:
      return a.error != 0 ? a.error : a.outOfMemory ? EAI_MEMORY : EAI_FAIL;
    case Verdict::Answered:
      break;
  }
  if (a.dns.status != dns::Status::Ok) return dns::eaiFor(a.dns.status);
  const Plan& plan = a.plan;
  try {
    const int rc = dns::buildAddrinfo(node_, eff_, a.dns, services_, plan.snap.get(),
                                      plan.pvd(a.dns.pvd), res);
    if (rc == 0 && memoRuntime() != nullptr) {
      dns::AddrinfoMemo::State st;
      st.viewGeneration = defaultKey_ + plan.snap->generation;
      st.hostsGeneration = hostsGeneration_;
      st.nowNs = monotonicNs();
      if (!tlsMemo) tlsMemo.reset(new (std::nothrow) dns::AddrinfoMemo());
      if (tlsMemo) tlsMemo->remember(node_, service_, hints_, st, a.dns, *res);
    }
    return rc;
  } catch (const std::bad_alloc&) {
    return EAI_MEMORY;
  } catch (...) {
    return EAI_FAIL;
  }
}

}  // namespace mif::preload::resolve
