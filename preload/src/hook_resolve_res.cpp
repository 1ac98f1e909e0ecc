// The libresolv-style query functions (res_query, res_search, res_querydomain, their
// res_n* forms and the __res_* names older binaries link against): the query is sent by
// mif through the chosen PvD's servers and the raw answer handed back, so dig-style tools
// and mail servers get their records from the right PvD too. The res_state's own server
// list is not used (it is the host's, i.e. possibly another PvD's). Thin translations into
// the resolve engine (resolve_engine.h), which also decides a reverse name (in-addr.arpa,
// ip6.arpa) by the PvD that owns its address.
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "guard.h"
#include "hook.h"
#include "real_libc.h"
#include "resolve_engine.h"

using namespace mif::preload;
using namespace mif::preload::resolve;
namespace dns = mif::dns;

namespace {

using QueryFn = int (*)(const char*, int, int, unsigned char*, int);
using QueryDomainFn = int (*)(const char*, const char*, int, int, unsigned char*, int);
using NQueryFn = int (*)(res_state, const char*, int, int, unsigned char*, int);
using NQueryDomainFn = int (*)(res_state, const char*, const char*, int, int, unsigned char*, int);

real::Symbol<QueryFn> realResQuery{"res_query"};
real::Symbol<QueryFn> realResSearch{"res_search"};
real::Symbol<QueryDomainFn> realResQueryDomain{"res_querydomain"};
real::Symbol<NQueryFn> realResNQuery{"res_nquery"};
real::Symbol<NQueryFn> realResNSearch{"res_nsearch"};
real::Symbol<NQueryDomainFn> realResNQueryDomain{"res_nquerydomain"};

Query recordQuery(const char* call, const char* name, int cls, int type, unsigned char* answer,
                  int anslen, bool search) {
  Query q;
  q.kind = Query::Kind::Record;
  q.call = call;
  q.name = name;
  q.cls = cls;
  q.type = type;
  q.search = search;
  if (name == nullptr || answer == nullptr || anslen < 0) q.libcBecause = "invalid arguments: glibc";
  return q;
}

// The result of a call mif answered (or refused): the response copied out, h_errno (and the
// state's res_h_errno) as glibc sets them, errno 0 (resolve_engine.h).
int answered(const Answer& a, res_state statp, unsigned char* answer, int anslen, bool search) {
  errno = 0;
  auto fail = [&](int herr) {
    h_errno = herr;
    if (statp != nullptr) statp->res_h_errno = herr;
    return -1;
  };
  if (a.verdict == Verdict::Error) return fail(NETDB_INTERNAL);
  // Refused before asking leaves `raw` empty with TryAgain: nothing copied, TRY_AGAIN.
  const int len = int(std::min<size_t>(a.raw.response.size(), size_t(anslen)));
  if (len > 0) std::memcpy(answer, a.raw.response.data(), size_t(len));
  switch (a.raw.status) {
    case dns::Status::Ok:
      if (search) {
        h_errno = HOST_NOT_FOUND;
        if (statp != nullptr) statp->res_h_errno = HOST_NOT_FOUND;
      }
      return len;
    case dns::Status::NotFound:
      return fail(HOST_NOT_FOUND);
    case dns::Status::NoData:
      return fail(NO_DATA);
    case dns::Status::NoRecovery:
      return fail(NO_RECOVERY);
    default:
      return fail(TRY_AGAIN);
  }
}

std::string joined(const char* name, const char* domain) {
  std::string s(name != nullptr ? name : "");
  if (domain != nullptr && *domain) {
    if (!s.empty() && s.back() == '.') s.pop_back();
    s += '.';
    s += domain;
  }
  return s;
}

// One resolver call: mif's answer, or glibc's (`libc`), and the trace line for it.
template <typename Libc>
int traced(const char* call, const char* name, res_state statp, int cls, int type,
           unsigned char* answer, int anslen, bool search, Libc&& libc) {
  const Answer a = resolve::resolve(recordQuery(call, name, cls, type, answer, anslen, search));
  const int rc = a.verdict == Verdict::Libc ? libc() : answered(a, statp, answer, anslen, search);
  a.finish(rc >= 0 ? "OK" : herrName(statp != nullptr ? statp->res_h_errno : h_errno));
  return rc;
}

}  // namespace

extern "C" {

MIF_EXPORT int res_query(const char* name, int cls, int type, unsigned char* answer,
                         int anslen) noexcept {
  return traced("res_query", name, nullptr, cls, type, answer, anslen, false, [&] {
    return realResQuery.get(reinterpret_cast<const void*>(&res_query))(name, cls, type, answer, anslen);
  });
}
MIF_EXPORT int __res_query(const char* name, int cls, int type, unsigned char* answer,
                           int anslen) noexcept {
  return res_query(name, cls, type, answer, anslen);
}

MIF_EXPORT int res_search(const char* name, int cls, int type, unsigned char* answer,
                          int anslen) noexcept {
  return traced("res_search", name, nullptr, cls, type, answer, anslen, true, [&] {
    return realResSearch.get(reinterpret_cast<const void*>(&res_search))(name, cls, type, answer, anslen);
  });
}
MIF_EXPORT int __res_search(const char* name, int cls, int type, unsigned char* answer,
                            int anslen) noexcept {
  return res_search(name, cls, type, answer, anslen);
}

MIF_EXPORT int res_querydomain(const char* name, const char* domain, int cls, int type,
                               unsigned char* answer, int anslen) noexcept {
  std::string full;
  try {
    full = joined(name, domain);
  } catch (...) {
    return realResQueryDomain.get(reinterpret_cast<const void*>(&res_querydomain))(
        name, domain, cls, type, answer, anslen);
  }
  return traced("res_querydomain", full.c_str(), nullptr, cls, type, answer, anslen, false, [&] {
    return realResQueryDomain.get(reinterpret_cast<const void*>(&res_querydomain))(name, domain, cls, type, answer, anslen);
  });
}
MIF_EXPORT int __res_querydomain(const char* name, const char* domain, int cls, int type,
                                 unsigned char* answer, int anslen) noexcept {
  return res_querydomain(name, domain, cls, type, answer, anslen);
}

MIF_EXPORT int res_nquery(res_state statp, const char* name, int cls, int type,
                          unsigned char* answer, int anslen) noexcept {
  return traced("res_nquery", name, statp, cls, type, answer, anslen, false, [&] {
    return realResNQuery.get(reinterpret_cast<const void*>(&res_nquery))(statp, name, cls, type, answer, anslen);
  });
}
MIF_EXPORT int __res_nquery(res_state statp, const char* name, int cls, int type,
                            unsigned char* answer, int anslen) noexcept {
  return res_nquery(statp, name, cls, type, answer, anslen);
}

MIF_EXPORT int res_nsearch(res_state statp, const char* name, int cls, int type,
                           unsigned char* answer, int anslen) noexcept {
  return traced("res_nsearch", name, statp, cls, type, answer, anslen, true, [&] {
    return realResNSearch.get(reinterpret_cast<const void*>(&res_nsearch))(statp, name, cls, type, answer, anslen);
  });
}
MIF_EXPORT int __res_nsearch(res_state statp, const char* name, int cls, int type,
                             unsigned char* answer, int anslen) noexcept {
  return res_nsearch(statp, name, cls, type, answer, anslen);
}

MIF_EXPORT int res_nquerydomain(res_state statp, const char* name, const char* domain, int cls,
                                int type, unsigned char* answer, int anslen) noexcept {
  std::string full;
  try {
    full = joined(name, domain);
  } catch (...) {
    return realResNQueryDomain.get(reinterpret_cast<const void*>(&res_nquerydomain))(
        statp, name, domain, cls, type, answer, anslen);
  }
  return traced("res_nquerydomain", full.c_str(), statp, cls, type, answer, anslen, false, [&] {
    return realResNQueryDomain.get(reinterpret_cast<const void*>(&res_nquerydomain))(statp, name, domain, cls, type, answer, anslen);
  });
}
MIF_EXPORT int __res_nquerydomain(res_state statp, const char* name, const char* domain, int cls,
                                  int type, unsigned char* answer, int anslen) noexcept {
  return res_nquerydomain(statp, name, domain, cls, type, answer, anslen);
}

}  // extern "C"
