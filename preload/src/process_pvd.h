#pragma once
// The process's default PvD (mif_process_set_pvd inside `mif run`, as Android's
// android_setprocnetwork): every new socket's connect and datagram, and every lookup, of
// the process goes to that PvD instead of what the policy would pick, unless the policy's
// decision is strict or comes from a locked system rule (those are never escaped). It is
// a default, not a strict pin: when its PvD is not usable, the socket is left to the
// kernel and the name to the system resolver, as for `mif run --pvd NAME` without
// --strict. A socket bound to a device (by mif_socket_set_pvd or the program) keeps it.
//
// Lock-free: one atomic word, read with one relaxed load per decision.
#include <cstdint>

#include "mif/policy/policy.h"
#include "mif/view/snapshot.h"

namespace mif::preload::process {

// -1: none.
void set(int32_t pvd) noexcept;
int32_t get() noexcept;
// Applies the default to a decision of the policy (Connect, Send and Resolve queries).
void apply(policy::Decision* d, const view::Snapshot& snap) noexcept;
// The datagram cache's key for `generation`: changes when the default changes, so a
// datagram decided under the previous default is decided again.
uint64_t cacheKey(uint64_t generation) noexcept;

}  // namespace mif::preload::process
