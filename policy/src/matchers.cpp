#include "matchers.h"

#include <algorithm>
#include <bit>

namespace mif::policy::detail {

// --- PrefixTrie ---------------------------------------------------------------------

PrefixTrie::Key PrefixTrie::keyOf(const IpAddress& a) noexcept {
  Key k;
  for (int i = 0; i < 8; ++i) k.hi = k.hi << 8 | a.bytes[static_cast<size_t>(i)];
  for (int i = 8; i < 16; ++i) k.lo = k.lo << 8 | a.bytes[static_cast<size_t>(i)];
  return k;  // an IPv4 address sits in the top 32 bits; the rest of its bytes are zero
}

bool PrefixTrie::bitAt(const Key& k, unsigned i) noexcept {
  return i < 64 ? (k.hi >> (63 - i)) & 1 : (k.lo >> (127 - i)) & 1;
}

PrefixTrie::Key PrefixTrie::masked(const Key& k, unsigned len) noexcept {
  Key m;
  m.hi = len >= 64 ? k.hi : (len == 0 ? 0 : k.hi & (~uint64_t{0} << (64 - len)));
  m.lo = len <= 64 ? 0 : (len >= 128 ? k.lo : k.lo & (~uint64_t{0} << (128 - len)));
  return m;
}

unsigned PrefixTrie::commonLength(const Key& a, const Key& b, unsigned max) noexcept {
  unsigned n;
  if (uint64_t x = a.hi ^ b.hi)
    n = static_cast<unsigned>(std::countl_zero(x));
  else if (uint64_t y = a.lo ^ b.lo)
    n = 64 + static_cast<unsigned>(std::countl_zero(y));
  else
    n = 128;
  return n < max ? n : max;
}

int32_t PrefixTrie::newNode(const Key& k, unsigned len) {
  Node n;
  n.key = masked(k, len);
  n.len = static_cast<uint8_t>(len);
  nodes_.push_back(std::move(n));
  return static_cast<int32_t>(nodes_.size() - 1);
}

void PrefixTrie::insert(const Prefix& p, uint32_t id) {
  const Key key = masked(keyOf(p.addr), p.length);
  const unsigned len = p.length;
  int32_t parent = -1;
  int parentBit = 0;
  auto link = [&](int32_t node) {
    if (parent < 0)
      root_ = node;
    else
      nodes_[static_cast<size_t>(parent)].child[parentBit] = node;
  };
  int32_t idx = root_;
  while (true) {
    if (idx < 0) {
      int32_t n = newNode(key, len);
      nodes_[static_cast<size_t>(n)].hasIds = true;
      nodes_[static_cast<size_t>(n)].ids.push_back(id);
      link(n);
      return;
    }
    const Key nodeKey = nodes_[static_cast<size_t>(idx)].key;
    const unsigned nodeLen = nodes_[static_cast<size_t>(idx)].len;
    unsigned common = commonLength(key, nodeKey, std::min(len, nodeLen));
    if (common < nodeLen) {
      if (common == len) {
        // The new prefix contains the node's: it becomes the node's parent.
        int32_t n = newNode(key, len);
        nodes_[static_cast<size_t>(n)].hasIds = true;
        nodes_[static_cast<size_t>(n)].ids.push_back(id);
        nodes_[static_cast<size_t>(n)].child[bitAt(nodeKey, len)] = idx;
        link(n);
      } else {
        // They diverge at `common`: a branch node without ids holds both.
        int32_t branch = newNode(key, common);
        int32_t leaf = newNode(key, len);
        nodes_[static_cast<size_t>(leaf)].hasIds = true;
        nodes_[static_cast<size_t>(leaf)].ids.push_back(id);
        nodes_[static_cast<size_t>(branch)].child[bitAt(key, common)] = leaf;
        nodes_[static_cast<size_t>(branch)].child[bitAt(nodeKey, common)] = idx;
        link(branch);
      }
      return;
    }
    if (len == nodeLen) {
      nodes_[static_cast<size_t>(idx)].hasIds = true;
      nodes_[static_cast<size_t>(idx)].ids.push_back(id);
      return;
    }
    parent = idx;
    parentBit = bitAt(key, nodeLen);
    idx = nodes_[static_cast<size_t>(idx)].child[parentBit];
  }
}

int PrefixTrie::collect(const IpAddress& a, std::array<uint32_t, kMaxPath>& out) const noexcept {
  const Key key = keyOf(a);
  int n = 0;
  int32_t idx = root_;
  while (idx >= 0) {
    const Node& node = nodes_[static_cast<size_t>(idx)];
    Key m = masked(key, node.len);
    if (m.hi != node.key.hi || m.lo != node.key.lo) break;
    if (node.hasIds) out[static_cast<size_t>(n++)] = static_cast<uint32_t>(idx);
    if (node.len >= 128) break;
    idx = node.child[bitAt(key, node.len)];
  }
  return n;
}

// --- DomainIndex --------------------------------------------------------------------

void DomainIndex::insert(std::string_view domain, uint32_t id) {
  uint32_t node = 0;
  size_t end = domain.size();
  while (true) {
    size_t dot = end == 0 ? std::string_view::npos : domain.rfind('.', end - 1);
    size_t start = dot == std::string_view::npos ? 0 : dot + 1;
    std::string_view label = domain.substr(start, end - start);
    auto it = nodes_[node].children.find(label);
    uint32_t next;
    if (it == nodes_[node].children.end()) {
      next = static_cast<uint32_t>(nodes_.size());
      nodes_[node].children.emplace(std::string(label), next);
      nodes_.emplace_back();
    } else {
      next = it->second;
    }
    node = next;
    if (dot == std::string_view::npos) break;
    end = dot;
  }
  nodes_[node].ids.push_back(id);
}

int DomainIndex::collect(std::string_view name, std::array<uint32_t, kMaxLabels>& out) const noexcept {
  int n = 0;
  if (name.empty() || nodes_.size() <= 1) return 0;
  uint32_t node = 0;
  size_t end = name.size();
  while (n < kMaxLabels) {
    size_t dot = end == 0 ? std::string_view::npos : name.rfind('.', end - 1);
    size_t start = dot == std::string_view::npos ? 0 : dot + 1;
    std::string_view label = name.substr(start, end - start);
    const auto& children = nodes_[node].children;
    auto it = children.find(label);
    if (it == children.end()) break;
    node = it->second;
    if (!nodes_[node].ids.empty()) out[static_cast<size_t>(n++)] = node;
    if (dot == std::string_view::npos) break;
    end = dot;
  }
  return n;
}

// --- PortIndex ----------------------------------------------------------------------

void PortIndex::insert(uint16_t lo, uint16_t hi, uint32_t id) {
  uint32_t l = lo + kLeaves, r = hi + kLeaves + 1;
  while (l < r) {
    if (l & 1) pending_.emplace_back(l++, id);
    if (r & 1) pending_.emplace_back(--r, id);
    l >>= 1;
    r >>= 1;
  }
}

void PortIndex::finish() {
  if (pending_.empty()) return;
  // Stable by node, then by id: each node's list stays in rule-priority order.
  std::sort(pending_.begin(), pending_.end());
  offsets_.assign(2 * kLeaves + 1, 0);
  for (const auto& [node, id] : pending_) ++offsets_[node + 1];
  for (size_t i = 1; i < offsets_.size(); ++i) offsets_[i] += offsets_[i - 1];
  ids_.reserve(pending_.size());
  for (const auto& [node, id] : pending_) ids_.push_back(id);
  pending_.clear();
  pending_.shrink_to_fit();
}

int PortIndex::collect(uint16_t port, std::array<std::span<const uint32_t>, kLevels>& out) const noexcept {
  if (offsets_.empty()) return 0;
  int n = 0;
  for (uint32_t i = port + kLeaves; i >= 1; i >>= 1) {
    uint32_t b = offsets_[i], e = offsets_[i + 1];
    if (b != e) out[static_cast<size_t>(n++)] = std::span<const uint32_t>(ids_.data() + b, e - b);
  }
  return n;
}

}  // namespace mif::policy::detail
