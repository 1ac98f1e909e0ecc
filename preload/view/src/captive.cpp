#include "mif/view/captive.h"

namespace mif::view {

namespace {

bool sameName(std::string_view a, std::string_view b) noexcept {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  if (a.size() != b.size() || a.empty()) return false;
  // ASCII only: the program's locale (a library inside it may be called under any) has
  // no say in how a host name compares.
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
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

bool toPortal(const BoundPvd& pvd, std::string_view name, const policy::IpAddress& dst) noexcept {
  for (const CaptivePortal& c : pvd.captive) {
    const std::string_view host = portalHost(c.uri);
    if (sameName(host, name)) return true;
    if (const auto literal = policy::IpAddress::parse(host); literal && *literal == dst) return true;
  }
  return false;
}

const CaptivePortal* closedPortal(const BoundPvd& pvd) noexcept {
  for (const CaptivePortal& c : pvd.captive)
    if (!c.open) return &c;
  return nullptr;
}

}  // namespace mif::view
