#pragma once
// Whether a PvD behind a captive portal (RFC 8910's option in its router's advertisements)
// that `mif probe` has not found open may carry a destination: only the portal's own
// (issue 29, issue 31 item 2). Shared by the library, which tries a captive PvD last
// (preload/src/captive.h), and `mif explain`/`mif show`, which say so.
#include <string_view>

#include "mif/policy/address.h"
#include "mif/view/snapshot.h"

namespace mif::view {

// The host of a portal URI ("https://portal.example:8443/x" -> "portal.example",
// "http://[2001:db8::1]/" -> "2001:db8::1"); empty when there is none.
std::string_view portalHost(std::string_view uri) noexcept;

// True when `pvd` is captive for a destination `dst` whose DNS name is `name` (empty:
// not known): a portal of the PvD is not open, and neither the name nor the address is
// that portal's host.
bool captiveFor(const BoundPvd& pvd, std::string_view name, const policy::IpAddress& dst) noexcept;

// True when the destination is one of the PvD's portals, open or not: its name is a
// portal URI's host, or its address that host's literal. What a probe's "captive" verdict
// still lets through the PvD (the library's captive rule, `mif explain`).
bool toPortal(const BoundPvd& pvd, std::string_view name, const policy::IpAddress& dst) noexcept;

// A portal of the PvD that no probe found open (the first such), or null.
const CaptivePortal* closedPortal(const BoundPvd& pvd) noexcept;

}  // namespace mif::view
