// The source address the kernel would pick for a destination on the PvD's interface:
// what glibc's sort learns with a UDP connect + getsockname, asked of the PvD instead of
// the host's routing table (RFC 6724 section 5, the rules Linux applies).
#include <algorithm>

#include "mif/dns/addrinfo.h"

namespace mif::dns {
namespace {

int v6Scope(const policy::IpAddress& a) {
  const auto& b = a.bytes;
  if (b[0] == 0xff) return b[1] & 0xf;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return 2;
  bool loop = b[15] == 1;
  for (int i = 0; i < 15 && loop; ++i) loop = b[size_t(i)] == 0;
  if (loop) return 2;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return 5;
  return 14;
}

unsigned commonPrefix(const policy::IpAddress& a, const policy::IpAddress& b) {
  unsigned n = 0, bits = a.bitLength();
  while (n < bits && a.bit(n) == b.bit(n)) ++n;
  return n;
}

// RFC 6724 label of an IPv6 address (the kernel's default policy table).
int label6(const policy::IpAddress& a) {
  const auto& b = a.bytes;
  bool zero10 = true;
  for (int i = 0; i < 10; ++i) zero10 = zero10 && b[size_t(i)] == 0;
  if (zero10 && b[10] == 0xff && b[11] == 0xff) return 4;
  if (b[0] == 0x20 && b[1] == 0x02) return 2;
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) return 5;
  if ((b[0] & 0xfe) == 0xfc) return 13;
  return 1;
}

}  // namespace

SortSource pvdSource(const view::Snapshot& snap, const view::BoundPvd& pvd,
                     const policy::IpAddress& dst) {
  SortSource out;
  out.ifindex = pvd.ifindex;
  const view::Interface* itf = snap.interfaceByIndex(pvd.ifindex);
  auto details = [&](const policy::IpAddress& a, SortSource* s) {
    s->ok = true;
    s->addr = a;
    s->prefixLength = a.family == policy::Family::V4 ? 32 : 128;
    if (itf)
      for (const view::Address& x : itf->addresses)
        if (x.addr == a) {
          s->prefixLength = x.prefixLength;
          s->deprecated = x.deprecated();
        }
  };
  if (dst.family == policy::Family::V4 && pvd.hasSource4) {
    details(pvd.source4, &out);
    return out;
  }
  if (dst.family == policy::Family::V6 && pvd.hasSource6 && v6Scope(dst) > 2) {
    details(pvd.source6, &out);
    return out;
  }
  // Candidates: the PvD's own addresses of the family; for a link-local destination the
  // interface's link-local addresses too (the kernel picks one of those).
  std::vector<const view::Address*> cands;
  if (itf) {
    for (const view::Address& x : itf->addresses) {
      if (x.addr.family != dst.family || x.tentative()) continue;
      // Host-scoped addresses (127.0.0.1 on lo) are never a source for another host.
      bool mine = x.usable() &&
                  (pvd.addresses.empty() || std::find(pvd.addresses.begin(), pvd.addresses.end(),
                                                      x.addr) != pvd.addresses.end());
      bool linkLocal = x.addr.family == policy::Family::V6 && v6Scope(x.addr) == 2;
      if (mine || (linkLocal && v6Scope(dst) == 2)) cands.push_back(&x);
    }
  }
  if (cands.empty()) {
    for (const policy::IpAddress& a : pvd.addresses)
      if (a.family == dst.family) {
        details(a, &out);
        return out;
      }
    return out;
  }
  const view::Address* best = cands.front();
  if (dst.family == policy::Family::V4) {
    // Linux: the primary address of the subnet that holds the destination, else the
    // interface's first (primary) address.
    for (const view::Address* c : cands) {
      policy::Prefix p{c->addr, c->prefixLength};
      if (p.contains(dst)) {
        best = c;
        break;
      }
    }
  } else {
    const int dscope = v6Scope(dst);
    auto better = [&](const view::Address* a, const view::Address* b) {  // a preferred over b?
      if ((a->addr == dst) != (b->addr == dst)) return a->addr == dst;   // rule 1
      int sa = v6Scope(a->addr), sb = v6Scope(b->addr);                  // rule 2
      if (sa != sb) return sa < sb ? sa >= dscope : sb < dscope;
      if (a->deprecated() != b->deprecated()) return !a->deprecated();  // rule 3
      bool la = label6(a->addr) == label6(dst), lb = label6(b->addr) == label6(dst);
      if (la != lb) return la;                                         // rule 6
      if (a->temporary() != b->temporary()) return !a->temporary();    // rule 7 (use_tempaddr < 2)
      return commonPrefix(a->addr, dst) > commonPrefix(b->addr, dst);  // rule 8
    };
    for (const view::Address* c : cands)
      if (better(c, best)) best = c;
  }
  details(best->addr, &out);
  return out;
}

}  // namespace mif::dns
