// The libresolv-style query functions (res_query, res_search, res_querydomain, their
// res_n* forms and the __res_* names older binaries link against): the query is sent by
// mif through the chosen PvD's servers and the raw answer handed back, so dig-style tools
// and mail servers get their records from the right PvD too. The res_state's own server
// list is not used (it is the host's, i.e. possibly another PvD's).
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>

#include <algorithm>
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

constexpr int kToLibc = -1000;

// "4.3.2.1.in-addr.arpa" and the 32-nibble ip6.arpa form: the address a PTR query is
// about, so the query goes through the PvD that owns the address.
bool reverseAddress(std::string_view name, IpAddress* out) {
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
      size_t dot = rest.find('.', start);
      std::string part(
          rest.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      if (part.empty() || part.size() > 3 ||
          part.find_first_not_of("0123456789") != std::string::npos)
        return false;
      octets[n++] = std::stoi(part);
      if (octets[n - 1] > 255) return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    if (n != 4) return false;
    out->family = mif::policy::Family::V4;
    for (int i = 0; i < 4; ++i) out->bytes[size_t(i)] = uint8_t(octets[3 - i]);
    return true;
  }
  if (ends(".ip6.arpa")) {
    std::string_view rest = name.substr(0, name.size() - 9);
    if (rest.size() != 63) return false;
    out->family = mif::policy::Family::V6;
    for (int i = 0; i < 32; ++i) {
      char c = rest[size_t(i * 2)];
      int v = c >= '0' && c <= '9'                     ? c - '0'
              : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                       : -1;
      if (v < 0 || (i < 31 && rest[size_t(i * 2 + 1)] != '.')) return false;
      int byte = 15 - i / 2;
      if (i % 2 == 0)
        out->bytes[size_t(byte)] = uint8_t(v);
      else
        out->bytes[size_t(byte)] |= uint8_t(v << 4);
    }
    return true;
  }
  return false;
}

int query(res_state statp, const char* name, int cls, int type, unsigned char* answer, int anslen,
          bool search, CallTrace* t) {
  const char* call = t->call;
  const int programErrno = errno;
  ErrnoScope keepErrno;  // the program's errno, or what glibc leaves (hook_resolve.h)
  if (ReentryGuard::active()) return kToLibc;  // the library's own call: no line
  if (name == nullptr || answer == nullptr || anslen < 0) {
    t->note = "invalid arguments: glibc";
    return kToLibc;
  }
  IpAddress rev;
  Plan& plan = t->plan;
  std::string_view n(name);
  if (reverseAddress(n, &rev)) {
    plan = planForAddress(rev);
  } else {
    if (dns::isLocalhost(name) || !dns::isValidHostname(name) || dns::hostsHasName(name)) {
      t->note = whyLibc(name);
      return kToLibc;
    }
    plan = planForName(name);
  }
  if (plan.route == Route::Libc) {
    t->note = "no PvD decided: system resolver";
    return kToLibc;
  }
  t->decided = true;
  ReentryGuard guard;
  NoCancel noCancel;
  keepErrno.leave(0);
  auto fail = [&](int herr) {
    h_errno = herr;
    if (statp != nullptr) statp->res_h_errno = herr;
    return -1;
  };
  if (plan.route == Route::Blocked) {
    t->note = "strict: no usable PvD";
    return fail(TRY_AGAIN);
  }
  t->note = "answered by a PvD";
  try {
    std::span<const mif::policy::PvdId> order(plan.decision.pvds.data(), plan.decision.count);
    dns::RawAnswer r = plan.resolver->raw(*plan.snap, order, name, cls, type, search, call);
    if (r.exhausted && !plan.decision.strict) {
      t->note = "every PvD failed: system resolver";
      keepErrno.leave(programErrno);
      return kToLibc;
    }
    if (r.exhausted) t->note = "strict: every PvD failed";
    int len = int(std::min<size_t>(r.response.size(), size_t(anslen)));
    if (len > 0) std::memcpy(answer, r.response.data(), size_t(len));
    switch (r.status) {
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
  } catch (...) {
    return fail(NETDB_INTERNAL);
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
  CallTrace t;
  t.call = call;
  t.name = name != nullptr ? name : "";
  int rc = query(statp, name, cls, type, answer, anslen, search, &t);
  if (rc == kToLibc) rc = libc();
  if (t.note != nullptr)
    t.finish(rc >= 0 ? "OK" : herrName(statp != nullptr ? statp->res_h_errno : h_errno));
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
