// gethostbyname, gethostbyname2, their _r forms, and gethostbyaddr(_r) through the right
// PvD: thin translations into the resolve engine (resolve_engine.h) and of its Answer into
// a hostent, errno and h_errno. The _r forms are the core; the classic forms fill a per-thread hostent (glibc's is
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
#include "mif/dns/hostent.h"
#include "real_libc.h"
#include "resolve_engine.h"

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

Query byNameQuery(const char* call, const char* name, int af) {
  Query q;
  q.kind = Query::Kind::Name;
  q.call = call;
  q.name = name;
  q.want4 = af == AF_INET;
  q.want6 = af == AF_INET6;
  if (name == nullptr)
    q.libcBecause = "no name: glibc";
  else if (af != AF_INET && af != AF_INET6)
    q.libcBecause = "not an inet family: glibc";
  return q;
}

Query byAddrQuery(const char* call, const void* addr, socklen_t len, int type) {
  Query q;
  q.kind = Query::Kind::Address;
  q.call = call;
  if (addr != nullptr && type == AF_INET && len == 4) {
    q.address.family = mif::policy::Family::V4;
    std::memcpy(q.address.bytes.data(), addr, 4);
  } else if (addr != nullptr && type == AF_INET6 && len == 16) {
    q.address.family = mif::policy::Family::V6;
    std::memcpy(q.address.bytes.data(), addr, 16);
  } else {
    q.noAddress = true;
    q.libcBecause = "not an inet address: glibc";
  }
  return q;
}

// The _r result for an Answer that is not Verdict::Libc, filling the caller's hostent.
int fill(const Answer& a, bool reverse, int af, const IpAddress& asked, hostent* ret, char* buf,
         size_t buflen, hostent** result, int* herr) {
  switch (a.verdict) {
    case Verdict::Libc:  // the caller's: never here
    case Verdict::Refused:
      return failWith(dns::Status::TryAgain, result, herr);
    case Verdict::Error:
      *result = nullptr;
      *herr = NETDB_INTERNAL;
      return ENOMEM;
    case Verdict::Answered:
      break;
  }
  try {
    int rc;
    if (reverse) {
      if (a.dns.status != dns::Status::Ok || a.dns.names.empty())
        return failWith(a.dns.status == dns::Status::Ok ? dns::Status::NotFound : a.dns.status,
                        result, herr);
      std::vector<std::string> aliases(a.dns.names.begin() + 1, a.dns.names.end());
      rc = dns::fillHostent(ret, buf, buflen, a.dns.names.front(), aliases, af, {asked});
    } else {
      if (a.dns.status != dns::Status::Ok) return failWith(a.dns.status, result, herr);
      const std::string& canon = a.dns.owner.empty() ? a.dns.qname : a.dns.owner;
      std::vector<std::string> aliases;
      if (!a.dns.qname.empty() && !sameName(a.dns.qname, canon)) aliases.push_back(a.dns.qname);
      rc = dns::fillHostent(ret, buf, buflen, canon, aliases, af, a.dns.addresses);
    }
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

// The _r form's result with errno and h_errno as glibc leaves them (resolve_engine.h).
int byName(const Answer& a, int af, hostent* ret, char* buf, size_t buflen, hostent** result,
           int* herr) {
  const int rc = fill(a, false, af, {}, ret, buf, buflen, result, herr);
  errno = rc;
  h_errno = *result != nullptr ? HOST_NOT_FOUND : *herr;
  return rc;
}

int byAddr(const Answer& a, const Query& q, int type, hostent* ret, char* buf, size_t buflen,
           hostent** result, int* herr) {
  const int rc = fill(a, true, type, q.address, ret, buf, buflen, result, herr);
  errno = rc;
  if (*result == nullptr) h_errno = *herr;
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
hostent* classic(Fill&& fill) {
  Store& s = tlsStore;
  hostent* result = nullptr;
  int herr = 0;
  for (;;) {
    int rc = fill(&s.h, s.buf.data(), s.buf.size(), &result, &herr);
    if (rc == ERANGE && herr == NETDB_INTERNAL && s.buf.size() < (1u << 20)) {
      try {
        s.buf.resize(s.buf.size() * 2);
        continue;
      } catch (...) {
      }
    }
    if (rc != 0 || result == nullptr) h_errno = herr;  // a success's h_errno is byName's
    return rc == 0 ? result : nullptr;
  }
}

}  // namespace

extern "C" {

MIF_EXPORT int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf, size_t buflen,
                                hostent** result, int* herr) noexcept {
  const Answer a = resolve::resolve(byNameQuery("gethostbyname2_r", name, af));
  const int rc = a.verdict == Verdict::Libc
                     ? realGhbn2R.get(reinterpret_cast<const void*>(&gethostbyname2_r))(
                           name, af, ret, buf, buflen, result, herr)
                     : byName(a, af, ret, buf, buflen, result, herr);
  a.finish(hostentStatus(*result, *herr));
  return rc;
}

MIF_EXPORT int gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen,
                               hostent** result, int* herr) noexcept {
  const Answer a = resolve::resolve(byNameQuery("gethostbyname_r", name, AF_INET));
  const int rc = a.verdict == Verdict::Libc
                     ? realGhbnR.get(reinterpret_cast<const void*>(&gethostbyname_r))(
                           name, ret, buf, buflen, result, herr)
                     : byName(a, AF_INET, ret, buf, buflen, result, herr);
  a.finish(hostentStatus(*result, *herr));
  return rc;
}

MIF_EXPORT hostent* gethostbyname2(const char* name, int af) noexcept {
  const Answer a = resolve::resolve(byNameQuery("gethostbyname2", name, af));
  hostent* h = a.verdict == Verdict::Libc
                   ? realGhbn2.get(reinterpret_cast<const void*>(&gethostbyname2))(name, af)
                   : classic([&](hostent* r, char* b, size_t l, hostent** res, int* e) {
                       return byName(a, af, r, b, l, res, e);
                     });
  a.finish(hostentStatus(h, h_errno));
  return h;
}

MIF_EXPORT hostent* gethostbyname(const char* name) noexcept {
  const Answer a = resolve::resolve(byNameQuery("gethostbyname", name, AF_INET));
  hostent* h = a.verdict == Verdict::Libc
                   ? realGhbn.get(reinterpret_cast<const void*>(&gethostbyname))(name)
                   : classic([&](hostent* r, char* b, size_t l, hostent** res, int* e) {
                       return byName(a, AF_INET, r, b, l, res, e);
                     });
  a.finish(hostentStatus(h, h_errno));
  return h;
}

MIF_EXPORT int gethostbyaddr_r(const void* addr, socklen_t len, int type, hostent* ret, char* buf,
                               size_t buflen, hostent** result, int* herr) noexcept {
  const Query q = byAddrQuery("gethostbyaddr_r", addr, len, type);
  const Answer a = resolve::resolve(q);
  const int rc = a.verdict == Verdict::Libc
                     ? realGhbaR.get(reinterpret_cast<const void*>(&gethostbyaddr_r))(
                           addr, len, type, ret, buf, buflen, result, herr)
                     : byAddr(a, q, type, ret, buf, buflen, result, herr);
  a.finish(hostentStatus(*result, *herr));
  return rc;
}

MIF_EXPORT hostent* gethostbyaddr(const void* addr, socklen_t len, int type) noexcept {
  const Query q = byAddrQuery("gethostbyaddr", addr, len, type);
  const Answer a = resolve::resolve(q);
  hostent* h = a.verdict == Verdict::Libc
                   ? realGhba.get(reinterpret_cast<const void*>(&gethostbyaddr))(addr, len, type)
                   : classic([&](hostent* r, char* b, size_t l, hostent** res, int* e) {
                       return byAddr(a, q, type, r, b, l, res, e);
                     });
  a.finish(hostentStatus(h, h_errno));
  return h;
}

}  // extern "C"
