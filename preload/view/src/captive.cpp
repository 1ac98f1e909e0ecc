#include "mif/view/captive.h"

#include <cctype>

namespace mif::view {

namespace {

bool sameName(std::string_view a, std::string_view b) noexcept {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  if (a.size() != b.size() || a.empty()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

std::string_view portalHost(std::string_view uri) noexcept {
  const size_t scheme = uri.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = uri.substr(scheme + 3);
  const size_t at = rest.find_first_of("@/?#");
  if (at != std::string_view::npos && rest[at] == '@') rest.remove_prefix(at + 1);  // userinfo
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string_view() : rest.substr(1, close - 1);
  }
  return rest.substr(0, rest.find_first_of(":/?#"));
}

bool captiveFor(const BoundPvd& pvd, std::string_view name, const policy::IpAddress& dst) noexcept {
  bool captive = false;
  for (const CaptivePortal& c : pvd.captive) {
    if (c.open) continue;
    const std::string_view host = portalHost(c.uri);
    if (sameName(host, name)) return false;  // the portal itself
    if (const auto literal = policy::IpAddress::parse(host); literal && *literal == dst)
      return false;
    captive = true;
  }
  return captive;
}

const CaptivePortal* closedPortal(const BoundPvd& pvd) noexcept {
  for (const CaptivePortal& c : pvd.captive)
    if (!c.open) return &c;
  return nullptr;
}

}  // namespace mif::view
