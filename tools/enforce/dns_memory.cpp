#include "enforce/dns_memory.h"

#include <algorithm>

#include "mif/dns/wire.h"

namespace mif::enforce {

namespace {

uint16_t typeOf(policy::Family f) { return f == policy::Family::V4 ? dns::wire::kTypeA : dns::wire::kTypeAaaa; }

}  // namespace

void DnsMemory::makeRoom(uint64_t nowMs) {
  if (entries_.size() < kCapacity) return;
  for (auto it = entries_.begin(); it != entries_.end();)
    it = it->second.expiresMs <= nowMs ? entries_.erase(it) : std::next(it);
  if (entries_.size() < kCapacity) return;
  auto soonest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
    return a.second.expiresMs < b.second.expiresMs;
  });
  entries_.erase(soonest);
}

void DnsMemory::record(policy::PvdId pvd, std::string_view name, uint16_t type,
                       const std::vector<policy::IpAddress>& addresses, uint32_t ttlSeconds,
                       uint64_t nowMs) {
  if (type != dns::wire::kTypeA && type != dns::wire::kTypeAaaa) return;
  Key key{pvd, dns::wire::normalise(name), type};
  uint64_t keep = kNoAnswerMs;
  if (!addresses.empty())
    keep = std::clamp<uint64_t>(uint64_t{ttlSeconds} * 1000, kMinTtlMs, kMaxTtlMs);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    makeRoom(nowMs);
    it = entries_.emplace(std::move(key), Entry{}).first;
  }
  it->second.addresses = addresses;
  it->second.expiresMs = nowMs + keep;
}

DnsMemory::Known DnsMemory::answer(policy::PvdId pvd, std::string_view name, policy::Family family,
                                   uint64_t nowMs, policy::IpAddress* out) const {
  auto it = entries_.find(Key{pvd, dns::wire::normalise(name), typeOf(family)});
  if (it == entries_.end() || it->second.expiresMs <= nowMs) return Known::Unknown;
  for (const auto& a : it->second.addresses) {
    if (a.family != family) continue;
    *out = a;
    return Known::Address;
  }
  return Known::NoAddress;
}

std::optional<DnsMemory::Source> DnsMemory::sourceOf(const policy::IpAddress& address,
                                                     policy::PvdId prefer, uint64_t nowMs) const {
  std::optional<Source> found;
  for (const auto& [key, e] : entries_) {
    if (e.expiresMs <= nowMs) continue;
    if (std::find(e.addresses.begin(), e.addresses.end(), address) == e.addresses.end()) continue;
    const policy::PvdId pvd = std::get<0>(key);
    if (pvd == prefer) return Source{pvd, std::get<1>(key)};
    if (!found) found = Source{pvd, std::get<1>(key)};
  }
  return found;
}

}  // namespace mif::enforce
