#pragma once
// Address -> PvD tags (precedence step 4): every address that a PvD's DNS returned is
// remembered, for its record's TTL, with the PvD and the name it came from, so that a
// later connect/sendto to that address uses that PvD.
//
// lookupTag() is called on the connect/sendto hot path: lock-free, allocation-free and
// async-signal-safe. Writers (the resolver) serialise among themselves.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mif/policy/address.h"

namespace mif::dns {

struct Tag {
  int pvd = -1;           // policy::PvdId
  const char* name = "";  // the name the address was an answer for; valid while the tag is
                          // (copy it out if it must outlive the call). lookupTag() points
                          // it at a per-thread copy, stable until that thread's next call.
};

// True and *out filled when `addr` (unmapped) was returned by a PvD's DNS and its TTL has
// not expired.
bool lookupTag(const policy::IpAddress& addr, Tag* out) noexcept;

// --- Writer side (the resolver). Writers take one mutex among themselves; readers never.
//
// The table has kTagCapacity slots (open addressing, linear probing over a window of
// kTagProbe slots). A record replaces the entry for the same address; otherwise it takes
// an empty or expired slot of the window, and when the whole window is live it evicts the
// entry that expires soonest. `name` longer than kTagNameMax-1 bytes is truncated.
// A slot is ~300 bytes, so the table is ~600 KiB of zero-filled static storage of which
// only the touched pages become resident.
inline constexpr size_t kTagCapacity = 2048;
inline constexpr size_t kTagProbe = 16;
inline constexpr size_t kTagNameMax = 256;
// The resolver keeps a tag at least this long, whatever the record's TTL: a TTL of 0
// (common for local zones, dnsmasq's default) still means the answer is used for the
// connection the program is about to make (RFC 1035 3.2.1), and that connect must find it.
inline constexpr uint32_t kTagMinTtl = 30;

// Remembers that `addr` (unmapped) came from PvD `pvd` as an answer for `name`, for
// `ttlSeconds` from now (0 = not remembered at all, as the record may not be cached).
void recordTag(const policy::IpAddress& addr, int pvd, std::string_view name,
               uint32_t ttlSeconds) noexcept;
// Forgets every tag of `pvd` (the PvD went down or its servers changed).
void dropTagsForPvd(int pvd) noexcept;
// Forgets every tag (tests).
void clearTags() noexcept;

}  // namespace mif::dns
