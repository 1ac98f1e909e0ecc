#include "captive.h"

#include "decision_order.h"

namespace mif::preload {

bool demoteCaptive(policy::Decision* d, const view::Snapshot& snap, std::string_view name,
                   const policy::IpAddress& dst) noexcept {
  return moveToEnd(d, [&](policy::PvdId id) {
    return id < snap.pvds.size() && !snap.pvds[id].captive.empty() &&
           view::captiveFor(snap.pvds[id], name, dst);
  });
}

}  // namespace mif::preload
