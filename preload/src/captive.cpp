#include "captive.h"

#include "decision_order.h"

namespace mif::preload {

namespace {

bool sameHost(std::string_view a, std::string_view b) noexcept {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  if (a.size() != b.size() || a.empty()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

// Whether the destination is a portal of the PvD (by name or literal address).
bool toPortal(const view::BoundPvd& b, std::string_view name, const policy::IpAddress& dst) noexcept {
  for (const view::CaptivePortal& c : b.captive) {
    const std::string_view host = view::portalHost(c.uri);
    if (sameHost(host, name)) return true;
    if (const auto literal = policy::IpAddress::parse(host); literal && *literal == dst) return true;
  }
  return false;
}

}  // namespace

bool demoteCaptive(policy::Decision* d, const view::Snapshot& snap, std::string_view name,
                   const policy::IpAddress& dst, const ProbeWatch* probes) noexcept {
  return moveToEnd(d, [&](policy::PvdId id) {
    if (id >= snap.pvds.size()) return false;
    const view::BoundPvd& b = snap.pvds[id];
    const view::PortalVerdict probed = probes != nullptr ? probes->portal(id) : view::PortalVerdict::None;
    if (probed == view::PortalVerdict::Open) return false;
    if (probed == view::PortalVerdict::Captive) return !toPortal(b, name, dst);
    return !b.captive.empty() && view::captiveFor(b, name, dst);
  });
}

}  // namespace mif::preload
