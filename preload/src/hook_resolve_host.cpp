// gethostbyname, gethostbyname2, their _r forms, and gethostbyaddr(_r) through the right
// PvD. The _r forms are the core; the classic forms fill a per-thread hostent (glibc's is
// one static per process; per-thread is at least as safe for every program that works
// with glibc's).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "guard.h"
#include "hook.h"
#include "hook_resolve.h"
#include "mif/dns/hostent.h"
#include "mif/dns/local_names.h"
#include "real_libc.h"

using namespace mif::preload;
using namespace mif::preload::resolve;
namespace dns = mif::dns;
using mif::policy::IpAddress;

namespace {

using Ghbn2RFn = int (*)(const char*, int, hostent*, char*, size_t, hostent**, int*);
using GhbnRFn = int (*)(const char*, hostent*, char*, size_t, hostent**, int*);
using Ghbn2Fn = hostent* (*)(const char*, int);
using GhbnFn = hostent* (*)(const char*);
using GhbaRFn = int (*)(const void*, socklen_t, int, hostent*, char*, size_t, hostent**, int*);
using GhbaFn = hostent* (*)(const void*, socklen_t, int);

real::Symbol<Ghbn2RFn> realGhbn2R{"gethostbyname2_r"};
real::Symbol<GhbnRFn> realGhbnR{"gethostbyname_r"};
real::Symbol<Ghbn2Fn> realGhbn2{"gethostbyname2"};
real::Symbol<GhbnFn> realGhbn{"gethostbyname"};
real::Symbol<GhbaRFn> realGhbaR{"gethostbyaddr_r"};
real::Symbol<GhbaFn> realGhba{"gethostbyaddr"};

constexpr int kToLibc = -1000;

bool sameName(const std::string& a, const std::string& b) {
  return a.size() == b.size() && strncasecmp(a.c_str(), b.c_str(), a.size()) == 0;
}

// h_errno and the _r return value for an outcome that is not a success, as nss's
// getXXbyYY_r reports them: NOTFOUND (no such name, no data) returns 0 with no result,
// TRYAGAIN returns EAGAIN.
int failWith(dns::Status s, hostent** result, int* herr) {
  *result = nullptr;
  switch (s) {
    case dns::Status::NotFound:
      *herr = HOST_NOT_FOUND;
      return 0;
    case dns::Status::NoData:
      *herr = NO_DATA;
      return 0;
    case dns::Status::NoRecovery:
      *herr = NO_RECOVERY;
      return 0;
    default:
      *herr = TRY_AGAIN;
      return EAGAIN;
  }
}

// kToLibc: hand the call to glibc.
int byNameManaged(const char* name, int af, hostent* ret, char* buf, size_t buflen,
                  hostent** result, int* herr, CallTrace* t) {
  if (ReentryGuard::active()) return kToLibc;  // the library's own call: no line
  if (name == nullptr || (af != AF_INET && af != AF_INET6) || dns::leaveToLibc(name)) {
    t->note = name == nullptr ? "no name: glibc"
              : (af != AF_INET && af != AF_INET6) ? "not an inet family: glibc"
                                                  : whyLibc(name);
    return kToLibc;
  }
  Plan& plan = t->plan;
  plan = planForName(name);
  if (plan.route == Route::Libc) {
    t->note = "no PvD decided: system resolver";
    return kToLibc;
  }
  t->decided = true;
  ReentryGuard guard;
  NoCancel noCancel;
  const char* call = t->call;
  if (plan.route == Route::Blocked) {
    t->note = "strict: no usable PvD";
    return failWith(dns::Status::TryAgain, result, herr);
  }
  t->note = "answered by a PvD";
  try {
    std::span<const mif::policy::PvdId> order(plan.decision.pvds.data(), plan.decision.count);
    dns::Answer a =
        plan.resolver->lookup(*plan.snap, order, name, af == AF_INET, af == AF_INET6, call);
    if (a.exhausted) {
      if (plan.decision.strict) {
        t->note = "strict: every PvD failed";
        return failWith(dns::Status::TryAgain, result, herr);
      }
      t->note = "every PvD failed: system resolver";
      return kToLibc;
    }
    if (a.status != dns::Status::Ok) return failWith(a.status, result, herr);
    std::string canon = a.owner.empty() ? a.qname : a.owner;
    std::vector<std::string> aliases;
    if (!a.qname.empty() && !sameName(a.qname, canon)) aliases.push_back(a.qname);
    int rc = dns::fillHostent(ret, buf, buflen, canon, aliases, af, a.addresses);
    if (rc == ERANGE) {
      *result = nullptr;
      *herr = NETDB_INTERNAL;
      return ERANGE;
    }
    *result = ret;
    *herr = NETDB_SUCCESS;
    return 0;
  } catch (...) {
    *result = nullptr;
    *herr = NETDB_INTERNAL;
    return ENOMEM;
  }
}

bool addressOf(const void* addr, socklen_t len, int type, IpAddress* out) {
  if (addr == nullptr) return false;
  if (type == AF_INET && len == 4) {
    out->family = mif::policy::Family::V4;
    std::memcpy(out->bytes.data(), addr, 4);
    return true;
  }
  if (type == AF_INET6 && len == 16) {
    out->family = mif::policy::Family::V6;
    std::memcpy(out->bytes.data(), addr, 16);
    return true;
  }
  return false;
}

// Loopback and link-local addresses name this host or a neighbour: glibc's answer stands.
bool leaveAddressToLibc(const IpAddress& a) {
  IpAddress u = a.unmapped();
  if (u.family == mif::policy::Family::V4)
    return u.bytes[0] == 127 || (u.bytes[0] == 169 && u.bytes[1] == 254) || dns::hostsHasAddress(u);
  static const uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(u.bytes.data(), loop, 16) == 0 ||
         (u.bytes[0] == 0xfe && (u.bytes[1] & 0xc0) == 0x80) || dns::hostsHasAddress(u);
}

int byAddrManaged(const void* addr, socklen_t len, int type, hostent* ret, char* buf,
                  size_t buflen, hostent** result, int* herr, CallTrace* t) {
  IpAddress ip;
  if (ReentryGuard::active()) return kToLibc;  // the library's own call: no line
  if (!addressOf(addr, len, type, &ip)) {
    t->note = "not an inet address: glibc";
    return kToLibc;
  }
  t->setAddress(ip);
  if (leaveAddressToLibc(ip)) {
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
    return failWith(dns::Status::TryAgain, result, herr);
  }
  t->note = "answered by a PvD";
  try {
    std::span<const mif::policy::PvdId> order(plan.decision.pvds.data(), plan.decision.count);
    dns::Answer a = plan.resolver->reverse(*plan.snap, order, ip, "gethostbyaddr");
    if (a.exhausted) {
      if (plan.decision.strict) {
        t->note = "strict: every PvD failed";
        return failWith(dns::Status::TryAgain, result, herr);
      }
      t->note = "every PvD failed: system resolver";
      return kToLibc;
    }
    if (a.status != dns::Status::Ok || a.names.empty())
      return failWith(a.status == dns::Status::Ok ? dns::Status::NotFound : a.status, result, herr);
    std::vector<std::string> aliases(a.names.begin() + 1, a.names.end());
    int rc = dns::fillHostent(ret, buf, buflen, a.names.front(), aliases, type, {ip});
    if (rc == ERANGE) {
      *result = nullptr;
      *herr = NETDB_INTERNAL;
      return ERANGE;
    }
    *result = ret;
    *herr = NETDB_SUCCESS;
    return 0;
  } catch (...) {
    *result = nullptr;
    *herr = NETDB_INTERNAL;
    return ENOMEM;
  }
}

// kToLibc, or the _r result with errno and h_errno as glibc leaves them (hook_resolve.h);
// a call handed to libc gets the program's errno back first.
// The call's trace line is written by the export once the result is known (mif's here,
// or glibc's after kToLibc).
int byName(const char* name, int af, hostent* ret, char* buf, size_t buflen, hostent** result,
           int* herr, CallTrace* t) {
  ErrnoScope keepErrno;
  const int rc = byNameManaged(name, af, ret, buf, buflen, result, herr, t);
  if (rc != kToLibc) {
    keepErrno.leave(rc);
    h_errno = *result != nullptr ? HOST_NOT_FOUND : *herr;
  }
  return rc;
}

int byAddr(const void* addr, socklen_t len, int type, hostent* ret, char* buf, size_t buflen,
           hostent** result, int* herr, CallTrace* t) {
  ErrnoScope keepErrno;
  const int rc = byAddrManaged(addr, len, type, ret, buf, buflen, result, herr, t);
  if (rc != kToLibc) {
    keepErrno.leave(rc);
    if (*result == nullptr) h_errno = *herr;
  }
  return rc;
}

// The status of a hostent call for its trace line: "OK" or the h_errno it reports.
const char* hostentStatus(const hostent* result, int herr) {
  return result != nullptr ? "OK" : herrName(herr);
}

// The classic (non-_r) forms: a per-thread hostent and buffer, grown on ERANGE.
struct Store {
  hostent h{};
  std::vector<char> buf = std::vector<char>(1024);
};
thread_local Store tlsStore;

template <typename Fill>
hostent* classic(Fill&& fill, bool* toLibc) {
  Store& s = tlsStore;
  hostent* result = nullptr;
  int herr = 0;
  for (;;) {
    int rc = fill(&s.h, s.buf.data(), s.buf.size(), &result, &herr);
    if (rc == kToLibc) {
      *toLibc = true;
      return nullptr;
    }
    if (rc == ERANGE && herr == NETDB_INTERNAL && s.buf.size() < (1u << 20)) {
      s.buf.resize(s.buf.size() * 2);
      continue;
    }
    if (rc != 0 || result == nullptr) h_errno = herr;  // a success's h_errno is byName's
    return rc == 0 ? result : nullptr;
  }
}

}  // namespace

extern "C" {

MIF_EXPORT int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf, size_t buflen,
                                hostent** result, int* herr) noexcept {
  CallTrace t;
  t.call = "gethostbyname2_r";
  t.name = name != nullptr ? name : "";
  int rc = byName(name, af, ret, buf, buflen, result, herr, &t);
  if (rc == kToLibc)
    rc = realGhbn2R.get(reinterpret_cast<const void*>(&gethostbyname2_r))(name, af, ret, buf,
                                                                          buflen, result, herr);
  if (t.note != nullptr) t.finish(hostentStatus(*result, *herr));
  return rc;
}

MIF_EXPORT int gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen,
                               hostent** result, int* herr) noexcept {
  CallTrace t;
  t.call = "gethostbyname_r";
  t.name = name != nullptr ? name : "";
  int rc = byName(name, AF_INET, ret, buf, buflen, result, herr, &t);
  if (rc == kToLibc)
    rc = realGhbnR.get(reinterpret_cast<const void*>(&gethostbyname_r))(name, ret, buf, buflen,
                                                                        result, herr);
  if (t.note != nullptr) t.finish(hostentStatus(*result, *herr));
  return rc;
}

MIF_EXPORT hostent* gethostbyname2(const char* name, int af) noexcept {
  CallTrace t;
  t.call = "gethostbyname2";
  t.name = name != nullptr ? name : "";
  bool toLibc = false;
  hostent* h = classic([&](hostent* r, char* b, size_t l, hostent** res,
                           int* e) { return byName(name, af, r, b, l, res, e, &t); },
                       &toLibc);
  if (toLibc) h = realGhbn2.get(reinterpret_cast<const void*>(&gethostbyname2))(name, af);
  if (t.note != nullptr) t.finish(hostentStatus(h, h_errno));
  return h;
}

MIF_EXPORT hostent* gethostbyname(const char* name) noexcept {
  CallTrace t;
  t.call = "gethostbyname";
  t.name = name != nullptr ? name : "";
  bool toLibc = false;
  hostent* h = classic([&](hostent* r, char* b, size_t l, hostent** res,
                           int* e) { return byName(name, AF_INET, r, b, l, res, e, &t); },
                       &toLibc);
  if (toLibc) h = realGhbn.get(reinterpret_cast<const void*>(&gethostbyname))(name);
  if (t.note != nullptr) t.finish(hostentStatus(h, h_errno));
  return h;
}

MIF_EXPORT int gethostbyaddr_r(const void* addr, socklen_t len, int type, hostent* ret, char* buf,
                               size_t buflen, hostent** result, int* herr) noexcept {
  CallTrace t;
  t.call = "gethostbyaddr_r";
  int rc = byAddr(addr, len, type, ret, buf, buflen, result, herr, &t);
  if (rc == kToLibc)
    rc = realGhbaR.get(reinterpret_cast<const void*>(&gethostbyaddr_r))(addr, len, type, ret, buf,
                                                                        buflen, result, herr);
  if (t.note != nullptr) t.finish(hostentStatus(*result, *herr));
  return rc;
}

MIF_EXPORT hostent* gethostbyaddr(const void* addr, socklen_t len, int type) noexcept {
  CallTrace t;
  t.call = "gethostbyaddr";
  bool toLibc = false;
  hostent* h = classic([&](hostent* r, char* b, size_t l, hostent** res,
                           int* e) { return byAddr(addr, len, type, r, b, l, res, e, &t); },
                       &toLibc);
  if (toLibc) h = realGhba.get(reinterpret_cast<const void*>(&gethostbyaddr))(addr, len, type);
  if (t.note != nullptr) t.finish(hostentStatus(h, h_errno));
  return h;
}

}  // extern "C"
