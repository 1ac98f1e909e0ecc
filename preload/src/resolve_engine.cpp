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

#include "guard.h"
#include "hook.h"
#include "mif/dns/local_names.h"
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

void Answer::finish(std::string_view status) const noexcept {
  if (note == nullptr) return;
  const std::string_view name = textLen_ > 0       ? std::string_view(text_, textLen_)
                                : name_ != nullptr ? std::string_view(name_)
                                                   : std::string_view();
  if (decided) {
    traceNote(plan, call_, name, note, status);
  } else if (!ReentryGuard::active()) {
    // Left to glibc before anything was decided: the line without a decision, once the
    // runtime exists.
    writeCallLine(Runtime::get(), nullptr, call_, name, note, status, start_);
  }
}

}  // namespace mif::preload::resolve
