#pragma once
// One PvD's answer cache: positive answers for their TTL, NXDOMAIN and NODATA for the
// negative TTL of RFC 2308 (min of the SOA record's TTL and its MINIMUM field; a negative
// answer without SOA is not cached, as RFC 2308 section 5 says). Caches are never shared
// between PvDs: an NXDOMAIN seen on one is not assumed on another (RFC 6418 4.1 item 5).
//
// Sharded by name hash, each shard behind its own reader-writer lock, so concurrent
// lookups of different names do not contend. Capacity: kShards x kShardEntries entries;
// a full shard first drops its expired entries, then the entry expiring soonest.
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mif/policy/address.h"

namespace mif::dns {

enum class CacheKind : uint8_t { Positive, NoData, NxDomain };

struct CacheEntry {
  CacheKind kind = CacheKind::Positive;
  std::string owner;                         // canonical name (positive)
  std::vector<policy::IpAddress> addresses;  // in the order received
  std::vector<std::string> names;            // PTR targets
  int64_t expiryNs = 0;                      // CLOCK_MONOTONIC
  uint32_t remaining(int64_t nowNs) const {  // seconds of TTL left, for tags
    return expiryNs > nowNs ? uint32_t((expiryNs - nowNs + 999999999) / 1000000000) : 0;
  }
};

class Cache {
 public:
  static constexpr size_t kShards = 16;
  static constexpr size_t kShardEntries = 256;

  // `key` is wire::normalise(name) of the fully qualified query name.
  bool get(std::string_view key, uint16_t qtype, int64_t nowNs, CacheEntry* out) const;
  void put(std::string_view key, uint16_t qtype, CacheEntry entry, int64_t nowNs);
  void clear();
  size_t size() const;

 private:
  struct Shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<std::string, CacheEntry> map;
  };
  static std::string keyOf(std::string_view name, uint16_t qtype);
  Shard& shardOf(const std::string& key) const;
  mutable Shard shards_[kShards];
};

int64_t monotonicNs();

}  // namespace mif::dns
