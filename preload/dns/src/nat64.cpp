#include "mif/dns/nat64.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "mif/dns/tags.h"

namespace mif::dns {
namespace {

bool in(const policy::IpAddress& a, uint8_t b0, uint8_t b1, int bits) {
  uint32_t v = uint32_t(a.bytes[0]) << 24 | uint32_t(a.bytes[1]) << 16 |
               uint32_t(a.bytes[2]) << 8 | a.bytes[3];
  uint32_t p = uint32_t(b0) << 24 | uint32_t(b1) << 16;
  uint32_t mask = bits == 0 ? 0 : ~uint32_t(0) << (32 - bits);
  return (v & mask) == (p & mask);
}

bool wellKnown(const policy::Prefix& p) {
  static const policy::Prefix wkp = *policy::Prefix::parse("64:ff9b::/96").prefix;
  return p == wkp;
}

}  // namespace

std::optional<policy::IpAddress> embedIpv4(const policy::Prefix& prefix,
                                           const policy::IpAddress& v4) {
  const int len = prefix.length;
  if (prefix.addr.family != policy::Family::V6 || v4.family != policy::Family::V4) return {};
  if (len != 32 && len != 40 && len != 48 && len != 56 && len != 64 && len != 96) return {};
  if (in(v4, 0, 0, 8) || in(v4, 127, 0, 8) || in(v4, 169, 254, 16) ||
      (v4.bytes[0] == 255 && v4.bytes[1] == 255 && v4.bytes[2] == 255 && v4.bytes[3] == 255))
    return {};
  if (wellKnown(prefix) &&
      (in(v4, 10, 0, 8) || in(v4, 172, 16, 12) || in(v4, 192, 168, 16) || in(v4, 100, 64, 10)))
    return {};
  policy::IpAddress out;
  out.family = policy::Family::V6;
  std::copy(prefix.addr.bytes.begin(), prefix.addr.bytes.begin() + len / 8, out.bytes.begin());
  size_t pos = static_cast<size_t>(len / 8);
  for (int k = 0; k < 4; ++k) {
    if (pos == 8) ++pos;  // bits 64-71, the "u" octet, are zero
    out.bytes[pos++] = v4.bytes[static_cast<size_t>(k)];
  }
  return out;
}

size_t synthesizeAaaa(const view::BoundPvd& pvd, bool want6, Answer& answer) {
  if (!want6 || answer.status != Status::Ok || pvd.pref64.empty() || pvd.state.v4) return 0;
  const auto& addrs = answer.addresses;
  if (std::any_of(addrs.begin(), addrs.end(),
                  [](const policy::IpAddress& a) { return a.family == policy::Family::V6; }))
    return 0;  // the name has IPv6 addresses of its own
  const policy::Prefix& prefix = pvd.pref64.front().prefix;
  const size_t n = addrs.size();
  size_t added = 0;
  for (size_t k = 0; k < n; ++k) {
    if (auto a = embedIpv4(prefix, answer.addresses[k])) {
      answer.addresses.push_back(*a);
      ++added;
    }
  }
  return added;
}

size_t applyPref64(const view::Snapshot& snap, bool want6, Answer& answer) {
  if (answer.pvd < 0 || static_cast<size_t>(answer.pvd) >= snap.pvds.size()) return 0;
  const size_t before = answer.addresses.size();
  const size_t added = synthesizeAaaa(snap.pvds[static_cast<size_t>(answer.pvd)], want6, answer);
  std::string name = answer.qname;
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t k = before; k < answer.addresses.size(); ++k)
    recordTag(answer.addresses[k], answer.pvd, name, std::max(answer.ttl, kTagMinTtl));
  return added;
}

bool needsARecords(const view::Snapshot& snap, bool want4, bool want6, const Answer& answer) {
  if (want4 || !want6 || answer.pvd < 0 || static_cast<size_t>(answer.pvd) >= snap.pvds.size())
    return false;
  const view::BoundPvd& pvd = snap.pvds[static_cast<size_t>(answer.pvd)];
  if (pvd.pref64.empty() || pvd.state.v4) return false;
  if (answer.status == Status::NoData) return true;
  return answer.status == Status::Ok &&
         std::none_of(answer.addresses.begin(), answer.addresses.end(),
                      [](const policy::IpAddress& a) { return a.family == policy::Family::V6; });
}

size_t replaceWithPref64(const view::Snapshot& snap, Answer& answer) {
  const size_t added = applyPref64(snap, true, answer);
  if (added == 0) return 0;
  answer.addresses.erase(
      std::remove_if(answer.addresses.begin(), answer.addresses.end(),
                     [](const policy::IpAddress& a) { return a.family != policy::Family::V6; }),
      answer.addresses.end());
  return added;
}

}  // namespace mif::dns
