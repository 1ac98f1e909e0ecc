#pragma once
// Is a PvD's captive portal open? (`mif probe`, issue 31.) RFC 8910 announces the URI of
// the portal's API (RFC 8908): a GET for it with `Accept: application/captive+json`
// answers a JSON object whose "captive" member says whether the host is still held.
// Asked through the PvD only (its interface and source address, as every probe). Only
// http URIs whose host is an address are asked: mif has no TLS, and a name would have to
// be resolved through the PvD first; for the others the caller judges by its probe.
#include <chrono>
#include <string>

#include "mif/view/snapshot.h"

namespace mif::probe {

struct PortalAnswer {
  bool asked = false;    // the API answered with a "captive" member
  bool captive = true;   // what it said
  std::string why;       // when not asked: why not ("https: no TLS in mif", "timeout" ...)
};

PortalAnswer askPortalApi(const view::BoundPvd& pvd, const std::string& uri,
                          std::chrono::milliseconds timeout);

// Whether the portal `c` of `pvd` is open, asked as `mif probe` asks: its API when it can
// be asked, else `probeOk` (the PvD's probe verdict was ok: the portal lets traffic
// through). Recorded in the RA state (mif/view/ra_state.h) for `mif show` and programs
// started later. `by`: "api" or "probe"; `why`: why not the API, why not recorded.
struct PortalCheck {
  bool open = false;
  std::string by;
  std::string why;
};
PortalCheck checkPortal(const view::BoundPvd& pvd, const view::CaptivePortal& c, bool probeOk,
                        std::chrono::milliseconds timeout);

// The value of the member "captive" of a JSON object `body` (RFC 8908 5): 1 true, 0 false,
// -1 absent or not a boolean. A scan, not a parser: enough for one top-level boolean.
int captiveMember(const std::string& body);

}  // namespace mif::probe
