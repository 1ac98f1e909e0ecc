#pragma once
// What the run's DNS stub (dns_stub.h) has learnt: for each PvD, name and record type
// (A, AAAA), the addresses that PvD's servers answered, or that they answered none. A held
// connect whose destination was one PvD's answer for a name finds the name here, and the
// next PvD's own answer for it (docs/architecture.md, "DNS through the supervisor").
//
// Bounded (kCapacity entries: a full table drops its expired entries, then the one that
// expires soonest) and TTL-limited: an answer is kept for its records' TTL, at least
// kMinTtlMs (the library's tag minimum: a TTL of 0 still means the answer is used for the
// connect about to be made) and at most kMaxTtlMs; a PvD without an answer (NXDOMAIN,
// NODATA, an error, no server answering) for kNoAnswerMs. No clock of its own: every call
// takes the time (milliseconds, monotonic), so tests drive it.
// Owned and used by the supervisor's notification thread only.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "mif/policy/address.h"
#include "mif/policy/policy.h"

namespace mif::enforce {

class DnsMemory {
 public:
  static constexpr size_t kCapacity = 1024;
  static constexpr uint64_t kMinTtlMs = 30'000;
  static constexpr uint64_t kMaxTtlMs = 86'400'000;
  static constexpr uint64_t kNoAnswerMs = 5'000;

  // PvD `pvd`'s answer for `name` (any case, trailing dot optional) of `type` (1 = A,
  // 28 = AAAA): `addresses` in the answer's order, empty when it had none.
  void record(policy::PvdId pvd, std::string_view name, uint16_t type,
              const std::vector<policy::IpAddress>& addresses, uint32_t ttlSeconds, uint64_t nowMs);

  enum class Known : uint8_t { Unknown, Address, NoAddress };
  // PvD `pvd`'s answer for `name` of `family`: Address (*out its first address), NoAddress
  // (it answered without one), Unknown (never asked, or expired).
  Known answer(policy::PvdId pvd, std::string_view name, policy::Family family, uint64_t nowMs,
               policy::IpAddress* out) const;

  struct Source {
    policy::PvdId pvd = 0;
    std::string name;  // normalised
  };
  // The PvD and name `address` was an answer of, preferring PvD `prefer`'s answers (the
  // first attempt's PvD); nullopt when no live answer holds it.
  std::optional<Source> sourceOf(const policy::IpAddress& address, policy::PvdId prefer,
                                 uint64_t nowMs) const;

  size_t size() const { return entries_.size(); }

 private:
  using Key = std::tuple<policy::PvdId, std::string, uint16_t>;
  struct Entry {
    std::vector<policy::IpAddress> addresses;
    uint64_t expiresMs = 0;
  };
  void makeRoom(uint64_t nowMs);
  std::map<Key, Entry> entries_;
};

}  // namespace mif::enforce
