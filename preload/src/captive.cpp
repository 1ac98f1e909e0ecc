#include "captive.h"

#include "decision_order.h"

namespace mif::preload {

bool demoteCaptive(policy::Decision* d, const view::Snapshot& snap, std::string_view name,
                   const policy::IpAddress& dst, const ProbeWatch* probes) noexcept {
  return moveToEnd(d, [&](policy::PvdId id) {
    if (id >= snap.pvds.size()) return false;
    const view::BoundPvd& b = snap.pvds[id];
    const view::PortalVerdict probed = probes != nullptr ? probes->portal(id) : view::PortalVerdict::None;
    if (probed == view::PortalVerdict::Open) return false;
    if (probed == view::PortalVerdict::Captive) return !view::toPortal(b, name, dst);
    return !b.captive.empty() && view::captiveFor(b, name, dst);
  });
}

}  // namespace mif::preload
