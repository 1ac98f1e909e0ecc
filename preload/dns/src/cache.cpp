#include "cache.h"

#include <time.h>

#include <functional>
#include <mutex>

namespace mif::dns {

int64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string Cache::keyOf(std::string_view name, uint16_t qtype) {
  std::string k(name);
  k.push_back('\0');
  k.push_back(char(qtype >> 8));
  k.push_back(char(qtype & 0xff));
  return k;
}

Cache::Shard& Cache::shardOf(const std::string& key) const {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

bool Cache::get(std::string_view name, uint16_t qtype, int64_t nowNs, CacheEntry* out) const {
  std::string key = keyOf(name, qtype);
  Shard& s = shardOf(key);
  std::shared_lock lock(s.mutex);
  auto it = s.map.find(key);
  if (it == s.map.end() || it->second.expiryNs <= nowNs) return false;
  if (out) *out = it->second;
  return true;
}

void Cache::put(std::string_view name, uint16_t qtype, CacheEntry entry, int64_t nowNs) {
  if (entry.expiryNs <= nowNs) return;
  std::string key = keyOf(name, qtype);
  Shard& s = shardOf(key);
  std::unique_lock lock(s.mutex);
  if (s.map.size() >= kShardEntries && !s.map.count(key)) {
    std::erase_if(s.map, [&](const auto& kv) { return kv.second.expiryNs <= nowNs; });
    if (s.map.size() >= kShardEntries) {
      auto victim = s.map.begin();
      for (auto it = s.map.begin(); it != s.map.end(); ++it)
        if (it->second.expiryNs < victim->second.expiryNs) victim = it;
      s.map.erase(victim);
    }
  }
  s.map[std::move(key)] = std::move(entry);
}

void Cache::clear() {
  for (Shard& s : shards_) {
    std::unique_lock lock(s.mutex);
    s.map.clear();
  }
}

size_t Cache::size() const {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::shared_lock lock(s.mutex);
    n += s.map.size();
  }
  return n;
}

}  // namespace mif::dns
