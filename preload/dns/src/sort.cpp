// glibc's destination address sort (rfc3484_sort in sysdeps/posix/getaddrinfo.c, 2.36),
// rule for rule, with its built-in tables (the defaults /etc/gai.conf documents), fed with
// the PvD's source addresses instead of the kernel's route lookup; then the families
// interleaved as RFC 8305 section 4 asks (interleaveFamilies).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "mif/dns/addrinfo.h"

namespace mif::dns {
namespace {

struct PrefixEntry {
  uint8_t prefix[16];
  unsigned bits;
  int val;
};

// glibc default_labels / default_precedence, in glibc's order (first match wins).
const PrefixEntry kLabels[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 0},
    {{0x20, 0x02}, 16, 2},
    {{0}, 96, 3},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 4},
    {{0xfe, 0xc0}, 10, 5},
    {{0xfc, 0x00}, 7, 6},
    {{0x20, 0x01}, 32, 7},
    {{0}, 0, 1},
};
const PrefixEntry kPrecedence[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 50},
    {{0x20, 0x02}, 16, 30},
    {{0}, 96, 20},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 10},
    {{0}, 0, 40},
};

// An address as glibc's sort sees it: a sockaddr family and 16 bytes (IPv4 in bytes 0..3).
struct SockAddr {
  int family = AF_UNSPEC;
  uint8_t b[16] = {};
};

SockAddr fromAddrinfo(const addrinfo* ai) {
  SockAddr s;
  s.family = ai->ai_family;
  if (ai->ai_family == AF_INET6)
    std::memcpy(s.b, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, 16);
  else
    std::memcpy(s.b, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, 4);
  return s;
}

// v4 -> ::ffff:a.b.c.d, as match_prefix does.
void asV6(const SockAddr& s, uint8_t out[16]) {
  if (s.family == AF_INET) {
    std::memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    std::memcpy(out + 12, s.b, 4);
  } else {
    std::memcpy(out, s.b, 16);
  }
}

int matchPrefix(const SockAddr& s, const PrefixEntry* list, int defaultVal) {
  if (s.family != AF_INET && s.family != AF_INET6) return defaultVal;
  uint8_t a[16];
  asV6(s, a);
  for (size_t idx = 0;; ++idx) {
    unsigned bits = list[idx].bits;
    const uint8_t* mask = list[idx].prefix;
    const uint8_t* val = a;
    while (bits >= 8) {
      if (*mask != *val) break;
      ++mask;
      ++val;
      bits -= 8;
    }
    // bits == 0: every byte matched (a /128 reads nothing past the 16 bytes).
    if (bits == 0) return list[idx].val;
    if (bits < 8 && (*mask & (0xff00 >> bits)) == (*val & (0xff00 >> bits))) return list[idx].val;
  }
}

int getLabel(const SockAddr& s) { return matchPrefix(s, kLabels, INT_MAX); }
int getPrecedence(const SockAddr& s) { return matchPrefix(s, kPrecedence, 0); }

int getScope(const SockAddr& s) {
  if (s.family == AF_INET6) {
    const uint8_t* a = s.b;
    if (a[0] != 0xff) {
      static const uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
      if ((a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || std::memcmp(a, loop, 16) == 0) return 2;
      if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return 5;
      return 14;
    }
    return a[1] & 0xf;
  }
  if (s.family == AF_INET) {
    // default_scopes: 169.254/16 and 127/8 link-local (2), everything else global (14).
    if (s.b[0] == 169 && s.b[1] == 254) return 2;
    if (s.b[0] == 127) return 2;
    return 14;
  }
  return 15;
}

int fls32(uint32_t v) { return v == 0 ? 0 : 32 - __builtin_clz(v); }

uint32_t word(const uint8_t* b, int i) {
  return uint32_t(b[i * 4]) << 24 | uint32_t(b[i * 4 + 1]) << 16 | uint32_t(b[i * 4 + 2]) << 8 |
         b[i * 4 + 3];
}

struct SortResult {
  addrinfo* dest = nullptr;
  SockAddr dst;
  bool gotSource = false;
  SockAddr source;
  bool deprecated = false;
  uint8_t prefixLen = 0;
  int index = 0;
};

// rfc3484_sort: negative when a1 goes first.
int compare(const SortResult& a1, size_t idx1, const SortResult& a2, size_t idx2) {
  // Rule 1: avoid unusable destinations.
  if (a1.gotSource && !a2.gotSource) return -1;
  if (!a1.gotSource && a2.gotSource) return 1;
  // Rule 2: prefer matching scope.
  int a1DstScope = getScope(a1.dst), a2DstScope = getScope(a2.dst);
  if (a1.gotSource) {
    int a1SrcScope = getScope(a1.source), a2SrcScope = getScope(a2.source);
    if (a1DstScope == a1SrcScope && a2DstScope != a2SrcScope) return -1;
    if (a1DstScope != a1SrcScope && a2DstScope == a2SrcScope) return 1;
  }
  // Rule 3: avoid deprecated addresses.
  if (a1.gotSource) {
    if (!a1.deprecated && a2.deprecated) return -1;
    if (a1.deprecated && !a2.deprecated) return 1;
  }
  // Rule 4 (home addresses) never applies on Linux. Rule 5: prefer matching label.
  if (a1.gotSource) {
    int a1DstLabel = getLabel(a1.dst), a1SrcLabel = getLabel(a1.source);
    int a2DstLabel = getLabel(a2.dst), a2SrcLabel = getLabel(a2.source);
    if (a1DstLabel == a1SrcLabel && a2DstLabel != a2SrcLabel) return -1;
    if (a1DstLabel != a1SrcLabel && a2DstLabel == a2SrcLabel) return 1;
  }
  // Rule 6: prefer higher precedence.
  int a1Prec = getPrecedence(a1.dst), a2Prec = getPrecedence(a2.dst);
  if (a1Prec > a2Prec) return -1;
  if (a1Prec < a2Prec) return 1;
  // Rule 7 (native transport) only separates destinations reached through different
  // interfaces; within one PvD there is one interface.
  // Rule 8: prefer smaller scope.
  if (a1DstScope < a2DstScope) return -1;
  if (a1DstScope > a2DstScope) return 1;
  // Rule 9: longest matching prefix, computed exactly as glibc computes it.
  if (a1.gotSource && a1.dest->ai_family == a2.dest->ai_family) {
    int bit1 = 0, bit2 = 0;
    if (a1.dest->ai_family == AF_INET) {
      // glibc masks both pairs with the source's prefix length first, but it has no prefix
      // length for IPv4 sources (0), and its `0xffffffff << (32 - 0)` is a shift by 32,
      // which x86 reduces to a shift by 0: the mask is /32 and two different addresses
      // never match, so this rule never separates IPv4 destinations and the server's
      // order stands. Measured against glibc 2.36 in the differential test.
      uint32_t d1 = word(a1.dst.b, 0), s1 = word(a1.source.b, 0);
      uint32_t d2 = word(a2.dst.b, 0), s2 = word(a2.source.b, 0);
      if (d1 == s1) bit1 = fls32(d1 ^ s1);
      if (d2 == s2) bit2 = fls32(d2 ^ s2);
    } else if (a1.dest->ai_family == AF_INET6) {
      int i;
      for (i = 0; i < 4; ++i)
        if (word(a1.dst.b, i) != word(a1.source.b, i) || word(a2.dst.b, i) != word(a2.source.b, i))
          break;
      if (i < 4) {
        bit1 = fls32(word(a1.dst.b, i) ^ word(a1.source.b, i));
        bit2 = fls32(word(a2.dst.b, i) ^ word(a2.source.b, i));
      }
    }
    // More differing bits (a higher first differing bit) is a shorter match.
    if (bit1 > bit2) return 1;
    if (bit1 < bit2) return -1;
  }
  // Rule 10: leave the order unchanged.
  return idx1 < idx2 ? -1 : 1;
}

policy::IpAddress toIp(const SockAddr& s) {
  policy::IpAddress a;
  a.family = s.family == AF_INET6 ? policy::Family::V6 : policy::Family::V4;
  std::memcpy(a.bytes.data(), s.b, s.family == AF_INET6 ? 16 : 4);
  return a;
}

}  // namespace

std::vector<size_t> interleaveFamilies(std::span<const int> families) {
  const size_t n = families.size();
  std::vector<size_t> out;
  out.reserve(n);
  if (n == 0) return out;
  const int first = families[0];
  // The index of the next address from `i` on whose family is (`ofFirst`) or is not the
  // first address's.
  auto skip = [&](size_t i, bool ofFirst) {
    while (i < n && (families[i] == first) != ofFirst) ++i;
    return i;
  };
  size_t same = skip(0, true), other = skip(0, false);
  bool turnSame = true;
  while (same < n || other < n) {
    if ((turnSame && same < n) || other == n) {
      out.push_back(same);
      same = skip(same + 1, true);
    } else {
      out.push_back(other);
      other = skip(other + 1, false);
    }
    turnSame = !turnSame;
  }
  return out;
}

void sortAddrinfo(addrinfo** list, const view::Snapshot* snap, const view::BoundPvd* pvd) {
  std::vector<SortResult> results;
  for (addrinfo* q = *list; q != nullptr; q = q->ai_next) {
    SortResult r;
    r.dest = q;
    r.dst = fromAddrinfo(q);
    if (!results.empty() && results.back().dest->ai_addrlen == q->ai_addrlen &&
        std::memcmp(results.back().dest->ai_addr, q->ai_addr, q->ai_addrlen) == 0) {
      SortResult prev = results.back();
      prev.dest = q;
      results.push_back(prev);
      continue;
    }
    if (snap != nullptr && pvd != nullptr) {
      policy::IpAddress dst = toIp(r.dst);
      SortSource s = pvdSource(*snap, *pvd, dst.unmapped());
      if (s.ok) {
        r.gotSource = true;
        r.deprecated = s.deprecated;
        r.prefixLen = s.prefixLength;
        r.index = s.ifindex;
        // A v4-mapped destination was "connected" from an IPv6 socket: its source comes
        // back v4-mapped, and glibc compares it in that form.
        if (r.dst.family == AF_INET6 && s.addr.family == policy::Family::V4) {
          r.source.family = AF_INET6;
          uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
          std::memcpy(m + 12, s.addr.bytes.data(), 4);
          std::memcpy(r.source.b, m, 16);
        } else {
          r.source.family = s.addr.family == policy::Family::V6 ? AF_INET6 : AF_INET;
          std::memcpy(r.source.b, s.addr.bytes.data(), 16);
        }
      }
    }
    results.push_back(r);
  }
  std::vector<size_t> order(results.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return compare(results[a], a, results[b], b) < 0; });
  // RFC 8305 section 4 on glibc's order: the nodes of one address (one per socktype) stay
  // together and move as one.
  std::vector<size_t> groupStart;
  std::vector<int> groupFamily;
  bool mixed = false;
  for (size_t i = 0; i < order.size(); ++i) {
    const addrinfo* q = results[order[i]].dest;
    if (i > 0) {
      const addrinfo* p = results[order[i - 1]].dest;
      if (p->ai_addrlen == q->ai_addrlen && std::memcmp(p->ai_addr, q->ai_addr, q->ai_addrlen) == 0)
        continue;
    }
    groupStart.push_back(i);
    groupFamily.push_back(q->ai_family);
    mixed = mixed || q->ai_family != groupFamily.front();
  }
  if (mixed) {
    groupStart.push_back(order.size());
    std::vector<size_t> interleaved;
    interleaved.reserve(order.size());
    for (size_t g : interleaveFamilies(groupFamily))
      for (size_t i = groupStart[g]; i < groupStart[g + 1]; ++i) interleaved.push_back(order[i]);
    order.swap(interleaved);
  }
  char* canon = (*list)->ai_canonname;
  (*list)->ai_canonname = nullptr;
  addrinfo* head = results[order[0]].dest;
  addrinfo* q = head;
  for (size_t i = 1; i < order.size(); ++i) q = q->ai_next = results[order[i]].dest;
  q->ai_next = nullptr;
  head->ai_canonname = canon;
  *list = head;
}

}  // namespace mif::dns
