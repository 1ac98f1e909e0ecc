// The resolve engine (resolve_engine.h): resolve(Query) -> Answer for every resolver API.
#include "resolve_engine.h"

#include <netdb.h>
#include <strings.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include "captive.h"
#include "decision_order.h"
#include "guard.h"
#include "health.h"
#include "hook.h"
#include "mif/dns/local_names.h"
#include "mif/dns/nat64.h"
#include "mif/dns/tags.h"
#include "process_pvd.h"
#include "trace.h"

namespace mif::preload::resolve {

using policy::IpAddress;

namespace {

void traceSink(void* ctx, std::string_view line) {
  auto* rt = static_cast<Runtime*>(ctx);
  std::string l(line);
  l += '\n';
  rt->traceSink().write(l.data(), l.size());
}

}  // namespace

dns::Lookups* resolverFor(Runtime* rt) {
  if (dns::Lookups* seam = rt->resolverSeam()) return seam;
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

const view::BoundPvd* Plan::pvd(int id) const {
  if (!snap || id < 0 || size_t(id) >= snap->pvds.size()) return nullptr;
  return &snap->pvds[size_t(id)];
}

const view::BoundPvd* Plan::first() const {
  return decision.count > 0 ? pvd(decision.pvds[0]) : nullptr;
}

namespace {

void planWith(policy::Query& q, Plan* p) noexcept {
  Runtime* rt = Runtime::get();
  if (rt == nullptr) return;
  p->rt = rt;
  const policy::Policy* pol = rt->policyOrNull();
  if (pol == nullptr) {
    if (rt->failClosed()) p->route = Route::Blocked;
    return;
  }
  try {
    p->snap = rt->liveView()->current();
    q.app = rt->app();
    p->decision = pol->decide(q, p->snap->view());
    process::apply(&p->decision, *p->snap);  // mif_process_set_pvd
    if (p->decision.unmanaged()) return;
    // A PvD failed by the process's own traffic is asked last (issue 29), as connects try
    // it last: its server would cost a timeout first. One relaxed load when none failed.
    const bool probing = rt->pollProbes();  // active probes feed health too (probe_watch.h)
    // The PvD whose DNS gave an address (a reverse lookup's tag) stays first, as for its
    // connects (keepTagFirst).
    const bool tagFirst = q.taggedPvd >= 0 && p->decision.count > 0 && p->decision.pvds[0] == q.taggedPvd;
    if (!rt->health().allUsable()) rt->health().demote(&p->decision, healthNowMs());
    // A PvD behind a captive portal not found open is asked last for every name but its
    // portal's (captive.h), as its connects go last: a hotspot's resolver answers every
    // name with its portal's address, which its tag would then take back through it.
    demoteCaptive(&p->decision, *p->snap, q.name, q.address, probing ? &rt->probes() : nullptr);
    keepTagFirst(&p->decision, q.taggedPvd, tagFirst);
    p->resolver = resolverFor(rt);
  } catch (...) {
    // Out of memory while deciding: what could have been strict is refused (no silent
    // fallback to the system resolver); the rest is glibc's as without mif.
    p->route = rt->strictPossible() ? Route::Blocked : Route::Libc;
    return;
  }
  if (p->decision.blocked()) {
    p->route = Route::Blocked;
  } else if (p->decision.count == 0) {
    p->route = Route::Libc;  // non-strict and nothing usable: the system resolver, as usual
  } else {
    p->route = Route::Managed;
  }
}

void planForName(std::string_view n, Plan* p) noexcept {
  policy::Query q;
  q.kind = policy::Query::Kind::Resolve;
  if (!n.empty() && n.back() == '.') n.remove_suffix(1);
  q.name = n;
  planWith(q, p);
}

// The PvD the address's DNS tag names, or whose prefixes hold it.
void planForAddress(const IpAddress& addr, Plan* p) noexcept {
  policy::Query q;
  q.kind = policy::Query::Kind::Connect;
  q.hasAddress = true;
  q.address = addr.unmapped();
  dns::Tag tag;
  if (dns::lookupTag(q.address, &tag)) {
    q.taggedPvd = tag.pvd;
    q.name = tag.name;
  }
  planWith(q, p);
}

const char* whyLibc(const char* name) noexcept {
  if (dns::isNumericHost(name)) return "numeric host: glibc";
  if (dns::isLocalhost(name)) return "localhost: glibc";
  if (!dns::isValidHostname(name)) return "not a valid host name: glibc";
  return "/etc/hosts: glibc";
}

// Loopback and link-local addresses name this host or a neighbour: glibc's answer stands.
bool localAddress(const IpAddress& a) noexcept {
  const IpAddress u = a.unmapped();
  if (u.family == policy::Family::V4)
    return u.bytes[0] == 127 || (u.bytes[0] == 169 && u.bytes[1] == 254) || dns::hostsHasAddress(u);
  static const uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(u.bytes.data(), loop, 16) == 0 ||
         (u.bytes[0] == 0xfe && (u.bytes[1] & 0xc0) == 0x80) || dns::hostsHasAddress(u);
}

// "4.3.2.1.in-addr.arpa" and the 32-nibble ip6.arpa form: the address a PTR query is
// about, so the query goes through the PvD that owns the address.
bool reverseAddress(std::string_view name, IpAddress* out) noexcept {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  auto ends = [&](std::string_view suf) {
    return name.size() > suf.size() &&
           strncasecmp(name.data() + name.size() - suf.size(), suf.data(), suf.size()) == 0;
  };
  if (ends(".in-addr.arpa")) {
    std::string_view rest = name.substr(0, name.size() - 13);
    int octets[4], n = 0;
    size_t start = 0;
    while (n < 4) {
      const size_t dot = rest.find('.', start);
      const std::string_view part =
          rest.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (part.empty() || part.size() > 3 ||
          part.find_first_not_of("0123456789") != std::string_view::npos)
        return false;
      int v = 0;
      for (char c : part) v = v * 10 + (c - '0');
      octets[n++] = v;
      if (v > 255) return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    if (n != 4) return false;
    out->family = policy::Family::V4;
    for (int i = 0; i < 4; ++i) out->bytes[size_t(i)] = uint8_t(octets[3 - i]);
    return true;
  }
  if (ends(".ip6.arpa")) {
    std::string_view rest = name.substr(0, name.size() - 9);
    if (rest.size() != 63) return false;
    out->family = policy::Family::V6;
    for (int i = 0; i < 32; ++i) {
      const char c = rest[size_t(i * 2)];
      const int v = c >= '0' && c <= '9'                     ? c - '0'
                    : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                             : -1;
      if (v < 0 || (i < 31 && rest[size_t(i * 2 + 1)] != '.')) return false;
      const int byte = 15 - i / 2;
      if (i % 2 == 0)
        out->bytes[size_t(byte)] = uint8_t(v);
      else
        out->bytes[size_t(byte)] |= uint8_t(v << 4);
    }
    return true;
  }
  return false;
}

// Why glibc keeps this call before anything is decided, or null.
const char* glibcKeeps(const Query& q, Plan* plan) noexcept {
  if (q.libcBecause != nullptr) return q.libcBecause;
  switch (q.kind) {
    case Query::Kind::Name:
      if (dns::leaveToLibc(q.name)) return whyLibc(q.name);
      planForName(q.name, plan);
      return nullptr;
    case Query::Kind::Address:
      if (localAddress(q.address)) return "loopback, link-local or /etc/hosts: glibc";
      planForAddress(q.address, plan);
      return nullptr;
    case Query::Kind::Record: {
      IpAddress rev;
      if (reverseAddress(q.name, &rev)) {
        planForAddress(rev, plan);
        return nullptr;
      }
      // res_query sends numeric names as they are: only these stay glibc's.
      if (dns::isLocalhost(q.name) || !dns::isValidHostname(q.name) || dns::hostsHasName(q.name))
        return whyLibc(q.name);
      planForName(q.name, plan);
      return nullptr;
    }
  }
  return nullptr;
}

// The lookup itself, once the plan is Managed. May throw (out of memory).
void ask(const Query& asked, Answer* a) {
  Query q = asked;
  if (q.before != nullptr) {
    a->note = "";
    a->asked = true;
    if (const int rc = q.before(q.beforeCtx, a->plan, &q)) {
      a->verdict = Verdict::Error;
      a->error = rc;
      return;
    }
  }
  a->asked = true;
  a->note = "answered by a PvD";
  const Plan& p = a->plan;
  const std::span<const policy::PvdId> order(p.decision.pvds.data(), p.decision.count);
  bool exhausted;
  if (q.kind == Query::Kind::Record) {
    a->raw = p.resolver->raw(*p.snap, order, q.name, q.cls, q.type, q.search, q.call);
    exhausted = a->raw.exhausted;
  } else {
    a->dns = q.kind == Query::Kind::Name
                 ? p.resolver->lookup(*p.snap, order, q.name, q.want4, q.want6, q.call)
                 : p.resolver->reverse(*p.snap, order, q.address, q.call);
    exhausted = a->dns.exhausted;
  }
  a->note = "answered by a PvD";
  // An IPv6-only PvD's NAT64 prefix (PREF64): AAAA for an IPv4-only name (dns/nat64.h).
  if (q.kind == Query::Kind::Name && dns::applyPref64(*p.snap, q.want6, a->dns) > 0)
    a->note = "answered by a PvD, AAAA synthesized from its PREF64";
  // An IPv6-only lookup asked no A records to synthesize from: ask that PvD for them.
  if (q.kind == Query::Kind::Name && dns::needsARecords(*p.snap, q.want4, q.want6, a->dns)) {
    const policy::PvdId id = static_cast<policy::PvdId>(a->dns.pvd);
    dns::Answer four =
        p.resolver->lookup(*p.snap, std::span<const policy::PvdId>(&id, 1), q.name, true, false,
                           q.call);
    if (four.status == dns::Status::Ok && dns::replaceWithPref64(*p.snap, four) > 0) {
      a->dns = std::move(four);
      a->note = "answered by a PvD, AAAA synthesized from its PREF64";
    }
  }
  a->verdict = Verdict::Answered;
  if (!exhausted) return;
  if (p.decision.strict) {
    a->note = "strict: every PvD failed";
    a->verdict = Verdict::Refused;
  } else {
    a->note = "every PvD failed: system resolver";
    a->verdict = Verdict::Libc;
  }
}

}  // namespace

Answer resolve(const Query& q) noexcept {
  Answer a;
  a.call_ = q.call;
  a.name_ = q.name;
  a.start_ = tracingUs();
  a.plan.startUs = a.start_;
  if (ReentryGuard::active()) return a;  // the library's own call: glibc's, no line
  // Whatever the engine does (a stat of /etc/hosts, the view, the lookup's sockets) leaves
  // errno as the program had it.
  const ErrnoScope keepErrno;
  if (q.kind == Query::Kind::Address && !q.noAddress) {
    try {
      const std::string t = q.address.toString();
      a.textLen_ = std::min(t.size(), sizeof a.text_ - 1);
      std::memcpy(a.text_, t.data(), a.textLen_);
    } catch (...) {
    }
  }
  if (const char* why = glibcKeeps(q, &a.plan)) {
    a.note = why;
    return a;
  }
  if (a.plan.route == Route::Libc) {
    a.note = "no PvD decided: system resolver";
    return a;
  }
  a.decided = true;
  ReentryGuard guard;
  NoCancel noCancel;
  if (a.plan.route == Route::Blocked) {
    a.note = "strict: no usable PvD";
    a.verdict = Verdict::Refused;
    return a;
  }
  try {
    ask(q, &a);
  } catch (const std::bad_alloc&) {
    a.verdict = Verdict::Error;
    a.outOfMemory = true;
  } catch (...) {
    a.verdict = Verdict::Error;  // unexpected: never a fallback that could leak
  }
  return a;
}

}  // namespace mif::preload::resolve
