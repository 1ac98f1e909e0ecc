#pragma once
// getaddrinfo results in glibc's own memory layout and order, so that the program (and
// glibc's own freeaddrinfo) cannot tell them from glibc's: one malloc per node holding the
// addrinfo and its sockaddr (ai_addr points just past the node), ai_canonname a separate
// malloc on the first node only, ai_flags copied from the hints into every node.
//
// Ordering: glibc sorts with RFC 3484/6724 destination address selection (its
// rfc3484_sort, default tables of glibc 2.36 with no /etc/gai.conf), asking the kernel for
// the source address of each destination. mif asks the PvD instead: the source is the
// PvD's own address the kernel would pick on that interface. Then, as RFC 8305 section 4
// asks (Happy Eyeballs, issue 30), the address families are interleaved: the first
// address's family, then the first address of the other, and so on, each family keeping
// glibc's order. An answer comes from one PvD's DNS, so the interleaving is within that
// PvD. A list of one family (AF_INET or AF_INET6 hints, AI_V4MAPPED's mapped addresses,
// a name with one family) stays glibc's exactly.
#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <span>
#include <vector>

#include "mif/dns/resolver.h"
#include "mif/view/snapshot.h"

namespace mif::dns {

using GetaddrinfoFn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
using FreeaddrinfoFn = void (*)(addrinfo*);

// One (socktype, protocol, port) combination of glibc's service expansion.
struct ServTuple {
  int socktype = 0;
  int protocol = 0;
  uint16_t portNet = 0;  // network order
};

// Asks glibc itself (the real getaddrinfo, with a numeric placeholder host and without
// AI_ADDRCONFIG) which combinations `service` and `hints` expand to. Returns 0, or the
// EAI_* code glibc gives for those hints and that service (EAI_BADFLAGS, EAI_FAMILY,
// EAI_SERVICE, EAI_SOCKTYPE, EAI_NONAME for AI_NUMERICSERV ...): these checks come before
// any name lookup in glibc, so no query is ever sent for a call that fails them.
int probeService(GetaddrinfoFn realGetaddrinfo, FreeaddrinfoFn realFreeaddrinfo,
                 const char* service, const addrinfo& hints, std::vector<ServTuple>* out);

// What the sort knows of the source address for one destination.
struct SortSource {
  bool ok = false;  // a source exists (glibc: the UDP connect succeeded)
  policy::IpAddress addr;
  uint8_t prefixLength = 0;
  bool deprecated = false;
  int ifindex = 0;
};

// The PvD's source address for `dst`, as the kernel's source selection would choose it
// among the PvD's own addresses on its interface (its fixed source when it has one).
SortSource pvdSource(const view::Snapshot& snap, const view::BoundPvd& pvd,
                     const policy::IpAddress& dst);

// glibc's AI_ADDRCONFIG test (__check_pf), on the PvD's interface only: an IPv4 address
// other than 127.0.0.1, an IPv6 address other than ::1 (link-local counts, as in glibc).
void addrconfigSeen(const view::Snapshot& snap, const view::BoundPvd& pvd, bool* v4, bool* v6);

// AI_ADDRCONFIG applied to `hints` (a copy the caller will ask with), judged on `pvd`'s
// interface (null: nothing seen): AF_UNSPEC narrows to the one family the PvD has; a
// family the PvD lacks is EAI_NONAME. 0 otherwise, or when the flag is not set.
int applyAddrconfig(const view::Snapshot& snap, const view::BoundPvd* pvd, addrinfo* hints);

// The EAI_* code glibc's getaddrinfo gives for a failed DNS outcome.
int eaiFor(Status s);

// Builds the result list for `name` from `answer` (status Ok) with glibc's rules:
// address family filtering and AI_V4MAPPED/AI_ALL mapping for `hints.ai_family`, one node
// per address and ServTuple, AI_CANONNAME on the first node, then the RFC 3484 sort when
// more than one address remains. `hints` are the effective hints (after AI_ADDRCONFIG
// narrowed the family). Returns 0, EAI_NODATA when no address of the family remains, or
// EAI_MEMORY.
int buildAddrinfo(const char* name, const addrinfo& hints, const Answer& answer,
                  std::span<const ServTuple> services, const view::Snapshot* snap,
                  const view::BoundPvd* pvd, addrinfo** res);

// Sorts an addrinfo list in place exactly as glibc's rfc3484_sort does, with `pvd` giving
// each destination's source, then interleaves the families (interleaveFamilies; the nodes
// of one address, one per socktype, move together). Exposed for tests.
void sortAddrinfo(addrinfo** list, const view::Snapshot* snap, const view::BoundPvd* pvd);

// RFC 8305 section 4's interleaving (First Address Family Count 1) of a sorted list whose
// i-th address has family `families[i]`: the order to take them in, as indexes. The first
// address stays first; then the first address of the other family, then the next of the
// first's, alternating; when one family runs out the other's rest follow. Each family keeps
// its relative order, so a list of one family is returned unchanged. Pure.
std::vector<size_t> interleaveFamilies(std::span<const int> families);

}  // namespace mif::dns
