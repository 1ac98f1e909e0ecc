#pragma once
// AAAA answers synthesized from a PvD's NAT64 prefix (PREF64, RFC 8781), on the host, as
// RFC 8880 lets a node do instead of relying on a DNS64 server: a name that has only IPv4
// addresses, resolved through an IPv6-only PvD whose router announced a PREF64, gets an
// IPv6 address per IPv4 address, embedded in the prefix as RFC 6052 2.2 says. Pure: no
// I/O; called from one place in the resolve path (resolve_engine.cpp).
#include <optional>

#include "mif/dns/resolver.h"
#include "mif/policy/address.h"
#include "mif/view/snapshot.h"

namespace mif::dns {

// `v4` embedded in `prefix` (length 32, 40, 48, 56, 64 or 96; bits 64-71 stay zero, RFC
// 6052 2.2). Nothing for another length or family, or for an IPv4 address RFC 6052 3.1
// and RFC 6147 5.1.4 exclude: 0/8, 127/8, 169.254/16, 255.255.255.255, and with the
// well-known prefix 64:ff9b::/96 the private ranges (10/8, 172.16/12, 192.168/16,
// 100.64/10).
std::optional<policy::IpAddress> embedIpv4(const policy::Prefix& prefix,
                                           const policy::IpAddress& v4);

// Adds to `answer` (an Ok answer of `pvd`, A records first as the resolver gives them) one
// AAAA per A record, in the PvD's first NAT64 prefix, when AAAA records were wanted and
// none came, the PvD announced a prefix and has no usable IPv4 (where it has IPv4 the A
// records are used as they are). Returns how many it added (0: answer unchanged).
// Tagging the added addresses with the PvD (tags.h) is the caller's business.
size_t synthesizeAaaa(const view::BoundPvd& pvd, bool want6, Answer& answer);

// The resolve path's one call: synthesizeAaaa for the PvD that answered (answer.pvd in
// `snap`), and each synthesized address tagged with that PvD and the name, for the
// answer's TTL (at least kTagMinTtl), as the resolver tags what it received — so a connect
// to it goes through that PvD, where the NAT64 is. Returns how many were added.
size_t applyPref64(const view::Snapshot& snap, bool want6, Answer& answer);

// An IPv6-only lookup (AAAA wanted, A not: getaddrinfo with AF_INET6, gethostbyname2 with
// AF_INET6) asks no A records, so there is nothing to synthesize from. True when `answer`
// (of such a lookup) found no AAAA through a PvD of `snap` that would synthesize: the
// caller then asks that PvD (answer.pvd) for the A records and hands the answer to
// replaceWithPref64.
bool needsARecords(const view::Snapshot& snap, bool want4, bool want6, const Answer& answer);

// For that A lookup's answer: each A record replaced by its AAAA in the PvD's prefix
// (applyPref64, tags included), the A records dropped (IPv6 only was asked). Returns how
// many were synthesized; 0 leaves `answer` unchanged.
size_t replaceWithPref64(const view::Snapshot& snap, Answer& answer);

}  // namespace mif::dns
