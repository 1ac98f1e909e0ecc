// getnameinfo: the host part is looked up in reverse through the PvD that owns the
// address (its DNS tag, or the PvD whose prefixes hold it); the service part, numeric
// forms and everything local stay glibc's own.
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "guard.h"
#include "hook.h"
#include "hook_resolve.h"
#include "mif/dns/local_names.h"
#include "real_libc.h"

using namespace mif::preload;
using namespace mif::preload::resolve;
namespace dns = mif::dns;
using mif::policy::IpAddress;

namespace {

using GetnameinfoFn = int (*)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
real::Symbol<GetnameinfoFn> realGetnameinfo{"getnameinfo"};
constexpr int kToLibc = -1000;

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

bool local(const IpAddress& u) {
  if (u.family == mif::policy::Family::V4)
    return u.bytes[0] == 127 || (u.bytes[0] == 169 && u.bytes[1] == 254) || dns::hostsHasAddress(u);
  static const uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(u.bytes.data(), loop, 16) == 0 ||
         (u.bytes[0] == 0xfe && (u.bytes[1] & 0xc0) == 0x80) || dns::hostsHasAddress(u);
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

int nameinfo(GetnameinfoFn libc, const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen,
             char* serv, socklen_t servlen, int flags, CallTrace* t) {
  IpAddress ip;
  if (ReentryGuard::active() || !addressOf(sa, salen, &ip)) return kToLibc;  // no line
  t->setAddress(ip);
  if (host == nullptr || hostlen == 0 || (flags & NI_NUMERICHOST)) {
    t->note = "no name asked: glibc";
    return kToLibc;
  }
  if (local(ip)) {
    t->note = "loopback, link-local or /etc/hosts: glibc";
    return kToLibc;
  }
  Plan& plan = t->plan;
  plan = planForAddress(ip);
  if (plan.route == Route::Libc) {
    t->note = "no PvD decided: system resolver";
    return kToLibc;
  }
  t->decided = true;
  ReentryGuard guard;
  NoCancel noCancel;
  if (plan.route == Route::Blocked) {
    t->note = "strict: no usable PvD";
    return (flags & NI_NAMEREQD)
               ? EAI_AGAIN
               : libc(sa, salen, host, hostlen, serv, servlen, flags | NI_NUMERICHOST);
  }
  // The service part is glibc's own (no DNS involved).
  if (serv != nullptr && servlen > 0) {
    int rc = libc(sa, salen, nullptr, 0, serv, servlen, flags);
    if (rc != 0) return rc;
  }
  try {
    std::span<const mif::policy::PvdId> order(plan.decision.pvds.data(), plan.decision.count);
    dns::Answer a = plan.resolver->reverse(*plan.snap, order, ip, "getnameinfo");
    t->note = "answered by a PvD";
    if (a.exhausted && !plan.decision.strict) {
      t->note = "every PvD failed: system resolver";
      return kToLibc;
    }
    if (a.exhausted) t->note = "strict: every PvD failed";
    if (a.status == dns::Status::Ok && !a.names.empty()) {
      std::string name = a.names.front();
      if (flags & NI_NOFQDN) stripOwnDomain(&name);
      if (name.size() + 1 > hostlen) return EAI_OVERFLOW;
      std::memcpy(host, name.c_str(), name.size() + 1);
      return 0;
    }
    if (flags & NI_NAMEREQD) return a.status == dns::Status::TryAgain ? EAI_AGAIN : EAI_NONAME;
    return libc(sa, salen, host, hostlen, nullptr, 0, flags | NI_NUMERICHOST);
  } catch (...) {
    return EAI_MEMORY;
  }
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
  ErrnoKeeper keep;
  CallTrace t;
  t.call = "getnameinfo";
  int rc = nameinfo(libc, sa, salen, host, hostlen, serv, servlen, flags, &t);
  keep.restore();
  if (rc == kToLibc) {
    rc = libc(sa, salen, host, hostlen, serv, servlen, flags);
  } else {
    errno = 0;  // see hook_resolve.h: what glibc leaves
  }
  t.finish(eaiName(rc));
  return rc;
}

}  // extern "C"
