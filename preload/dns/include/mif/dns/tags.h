#pragma once
// Address -> PvD tags (precedence step 4): every address that a PvD's DNS returned is
// remembered, for its record's TTL, with the PvD and the name it came from, so that a
// later connect/sendto to that address uses that PvD.
//
// lookupTag() is called on the connect/sendto hot path: lock-free, allocation-free and
// async-signal-safe. Writers (the resolver) serialise among themselves.
#include <cstdint>

#include "mif/policy/address.h"

namespace mif::dns {

struct Tag {
  int pvd = -1;            // policy::PvdId
  const char* name = "";   // the name the address was an answer for; valid while the tag is
                           // (copy it out if it must outlive the call)
};

// True and *out filled when `addr` (unmapped) was returned by a PvD's DNS and its TTL has
// not expired.
bool lookupTag(const policy::IpAddress& addr, Tag* out) noexcept;

}  // namespace mif::dns
