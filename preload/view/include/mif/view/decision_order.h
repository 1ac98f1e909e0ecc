#pragma once
// Moving a decision's PvDs that should be tried last to the end of its list, in order (a
// stable partition): health's demotion (health.cpp) and the captive portal rule
// (captive.cpp), in the library and in `mif run --enforce`'s supervisor. Nothing is dropped, and when every PvD would move the order stands.
#include "mif/policy/policy.h"

namespace mif::view {

// True when the order changed. `last(id)`: whether the PvD goes to the end.
template <typename Last>
bool moveToEnd(policy::Decision* d, Last last) noexcept {
  if (d->count < 2) return false;
  policy::PvdId keep[policy::kMaxListed];
  policy::PvdId end[policy::kMaxListed];
  unsigned nk = 0, ne = 0;
  for (unsigned i = 0; i < d->count; ++i) (last(d->pvds[i]) ? end[ne++] : keep[nk++]) = d->pvds[i];
  if (ne == 0 || nk == 0) return false;
  bool moved = false;
  for (unsigned i = 0; i < nk; ++i) {
    moved |= d->pvds[i] != keep[i];
    d->pvds[i] = keep[i];
  }
  for (unsigned i = 0; i < ne; ++i) d->pvds[nk + i] = end[i];
  return moved;
}

// A destination from a PvD's DNS (its tag) that this PvD decided first keeps it first
// whatever moveToEnd did: the address is that PvD's answer, and the program's own connect
// or datagram goes to that address (an attempt on a later PvD connects to that PvD's own
// answer, failover.cpp). `wasFirst`: the tag's PvD headed the list before the moves.
inline void keepTagFirst(policy::Decision* d, int tag, bool wasFirst) noexcept {
  if (!wasFirst || d->count < 2 || d->pvds[0] == tag) return;
  for (unsigned i = 1; i < d->count; ++i) {
    if (d->pvds[i] != tag) continue;
    for (unsigned k = i; k > 0; --k) d->pvds[k] = d->pvds[k - 1];
    d->pvds[0] = static_cast<policy::PvdId>(tag);
    return;
  }
}

}  // namespace mif::view
