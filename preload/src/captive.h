#pragma once
// A PvD behind a captive portal (RFC 8910's option in its router's advertisements) that
// `mif probe` has not found open carries nothing but the portal's own traffic: for every
// other destination it counts as failed (issue 29 item 1, issue 31 item 2), so a list
// that names it tries it last. Never dropped: a list whose every PvD is captive keeps its
// order, and a strict list stays within itself.
#include <string_view>

#include "mif/policy/address.h"
#include "mif/policy/policy.h"
#include "mif/view/captive.h"
#include "mif/view/snapshot.h"
#include "probe_watch.h"

namespace mif::preload {

// Moves the captive PvDs of `d` to its end, in order (a stable partition, as health's
// demotion). True when the order changed. One pass over the list when no PvD is captive.
// `probes` (null when no PvD is probed): what an active probe found of a PvD's portal
// overrides what the view knows (open: not captive; captive: captive for every
// destination but a portal the view knows of the PvD).
bool demoteCaptive(policy::Decision* d, const view::Snapshot& snap, std::string_view name,
                   const policy::IpAddress& dst, const ProbeWatch* probes = nullptr) noexcept;

}  // namespace mif::preload
