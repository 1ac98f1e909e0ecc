// getnameinfo: the host part is looked up in reverse through the PvD that owns the
// address (its DNS tag, or the PvD whose prefixes hold it); the service part, numeric
// forms and everything local stay glibc's own. A thin translation into the resolve engine
// (resolve_engine.h) and of its Answer into getnameinfo's result.
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "guard.h"
#include "hook.h"
#include "real_libc.h"
#include "resolve_engine.h"

using namespace mif::preload;
using namespace mif::preload::resolve;
namespace dns = mif::dns;
using mif::policy::IpAddress;

namespace {

using GetnameinfoFn = int (*)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
real::Symbol<GetnameinfoFn> realGetnameinfo{"getnameinfo"};

// The address to look up, unmapped; false when glibc keeps the call without a line (not
// an inet address, or a link-scoped one: the program names the link).
bool addressOf(const sockaddr* sa, socklen_t len, IpAddress* out) {
  if (sa == nullptr) return false;
  if (sa->sa_family == AF_INET && len >= socklen_t(sizeof(sockaddr_in))) {
    out->family = mif::policy::Family::V4;
    std::memcpy(out->bytes.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    return true;
  }
  if (sa->sa_family == AF_INET6 && len >= socklen_t(sizeof(sockaddr_in6))) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (s6->sin6_scope_id != 0) return false;  // link-scoped: the program names the link
    out->family = mif::policy::Family::V6;
    std::memcpy(out->bytes.data(), &s6->sin6_addr, 16);
    *out = out->unmapped();
    return true;
  }
  return false;
}

// NI_NOFQDN: glibc strips the host's own domain (from gethostname) from the name.
void stripOwnDomain(std::string* name) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return;
  const char* dot = std::strchr(host, '.');
  if (dot == nullptr) return;
  std::string suffix(dot);
  if (name->size() > suffix.size() &&
      strcasecmp(name->c_str() + name->size() - suffix.size(), suffix.c_str()) == 0)
    name->resize(name->size() - suffix.size());
}

// getnameinfo's arguments, and its `before` step: the service part is glibc's own (no
// DNS involved), asked once the decision lets the host part be looked up.
struct NameinfoCall {
  GetnameinfoFn libc;
  const sockaddr* sa;
  socklen_t salen;
  char* host;
  socklen_t hostlen;
  char* serv;
  socklen_t servlen;
  int flags;

  static int service(void* ctx, const Plan&, Query*) {
    const auto* c = static_cast<const NameinfoCall*>(ctx);
    if (c->serv == nullptr || c->servlen == 0) return 0;
    return c->libc(c->sa, c->salen, nullptr, 0, c->serv, c->servlen, c->flags);
  }
  int numericHost(bool withService) const {
    return libc(sa, salen, host, hostlen, withService ? serv : nullptr, withService ? servlen : 0,
                flags | NI_NUMERICHOST);
  }
};

// getnameinfo's result for an Answer that is not Verdict::Libc.
int result(const Answer& a, const NameinfoCall& c) {
  switch (a.verdict) {
    case Verdict::Libc:  // the caller's: never here
    case Verdict::Refused:
      // Refused before the service was asked: the numeric form gives both parts.
      if (!a.asked) return (c.flags & NI_NAMEREQD) ? EAI_AGAIN : c.numericHost(true);
      break;
    case Verdict::Error:
      return a.error != 0 ? a.error : EAI_MEMORY;
    case Verdict::Answered:
      break;
  }
  try {
    if (a.dns.status == dns::Status::Ok && !a.dns.names.empty()) {
      std::string name = a.dns.names.front();
      if (c.flags & NI_NOFQDN) stripOwnDomain(&name);
      if (name.size() + 1 > c.hostlen) return EAI_OVERFLOW;
      std::memcpy(c.host, name.c_str(), name.size() + 1);
      return 0;
    }
  } catch (...) {
    return EAI_MEMORY;
  }
  if (c.flags & NI_NAMEREQD) return a.dns.status == dns::Status::TryAgain ? EAI_AGAIN : EAI_NONAME;
  return c.numericHost(false);
}

}  // namespace

extern "C" {

MIF_EXPORT int getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen,
                           char* serv, socklen_t servlen, int flags) noexcept {
  GetnameinfoFn libc = realGetnameinfo.get(reinterpret_cast<const void*>(&getnameinfo));
  if (libc == nullptr) {
    errno = ENOSYS;
    return EAI_SYSTEM;
  }
  Query q;
  q.kind = Query::Kind::Address;
  q.call = "getnameinfo";
  if (ReentryGuard::active() || !addressOf(sa, salen, &q.address))
    return libc(sa, salen, host, hostlen, serv, servlen, flags);  // no line
  if (host == nullptr || hostlen == 0 || (flags & NI_NUMERICHOST))
    q.libcBecause = "no name asked: glibc";
  NameinfoCall c{libc, sa, salen, host, hostlen, serv, servlen, flags};
  q.before = &NameinfoCall::service;
  q.beforeCtx = &c;
  const Answer a = resolve::resolve(q);  // leaves errno as the program had it
  int rc;
  if (a.verdict == Verdict::Libc) {
    rc = libc(sa, salen, host, hostlen, serv, servlen, flags);
  } else {
    rc = result(a, c);
    errno = 0;  // see resolve_engine.h: what glibc leaves
  }
  a.finish(eaiName(rc));
  return rc;
}

}  // extern "C"
