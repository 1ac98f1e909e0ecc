#include "matchers.h"

#include <algorithm>
#include <bit>
#include <cstring>

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
  BuildNode n;
  n.key = masked(k, len);
  n.len = static_cast<uint8_t>(len);
  build_.push_back(std::move(n));
  return static_cast<int32_t>(build_.size() - 1);
}

void PrefixTrie::reserve(size_t prefixes) {
  build_.reserve(build_.size() + 2 * prefixes);
  buildIds_.reserve(buildIds_.size() + prefixes);
}

void PrefixTrie::addId(int32_t node, uint32_t id) {
  const int32_t at = static_cast<int32_t>(buildIds_.size());
  buildIds_.push_back(BuildId{id, -1});
  BuildNode& n = build_[static_cast<size_t>(node)];
  if (n.lastId < 0)
    n.firstId = at;
  else
    buildIds_[static_cast<size_t>(n.lastId)].next = at;
  n.lastId = at;
}

void PrefixTrie::insert(const Prefix& p, uint32_t id) {
  const Key key = masked(keyOf(p.addr), p.length);
  const unsigned len = p.length;
  maxLen_ = std::max(maxLen_, len);
  int32_t parent = -1;
  int parentBit = 0;
  auto link = [&](int32_t node) {
    if (parent < 0)
      buildRoot_ = node;
    else
      build_[static_cast<size_t>(parent)].child[parentBit] = node;
  };
  auto leafWithId = [&]() {
    int32_t n = newNode(key, len);
    addId(n, id);
    return n;
  };
  int32_t idx = buildRoot_;
  while (true) {
    if (idx < 0) {
      link(leafWithId());
      return;
    }
    const Key nodeKey = build_[static_cast<size_t>(idx)].key;
    const unsigned nodeLen = build_[static_cast<size_t>(idx)].len;
    unsigned common = commonLength(key, nodeKey, std::min(len, nodeLen));
    if (common < nodeLen) {
      if (common == len) {
        // The new prefix contains the node's: it becomes the node's parent.
        int32_t n = leafWithId();
        build_[static_cast<size_t>(n)].child[bitAt(nodeKey, len)] = idx;
        link(n);
      } else {
        // They diverge at `common`: a branch node without ids holds both.
        int32_t branch = newNode(key, common);
        int32_t leaf = leafWithId();
        build_[static_cast<size_t>(branch)].child[bitAt(key, common)] = leaf;
        build_[static_cast<size_t>(branch)].child[bitAt(nodeKey, common)] = idx;
        link(branch);
      }
      return;
    }
    if (len == nodeLen) {
      addId(idx, id);
      return;
    }
    parent = idx;
    parentBit = bitAt(key, nodeLen);
    idx = build_[static_cast<size_t>(idx)].child[parentBit];
  }
}

int32_t PrefixTrie::layOut(int32_t b) {
  if (b < 0) return -1;
  const int32_t at = static_cast<int32_t>(nodes_.size());
  nodes_.emplace_back();
  const BuildNode& src = build_[static_cast<size_t>(b)];
  Node n;
  n.key = src.key;
  n.len = src.len;
  if (src.firstId >= 0) {
    const auto begin = static_cast<uint32_t>(ids_.size());
    for (int32_t e = src.firstId; e >= 0; e = buildIds_[static_cast<size_t>(e)].next)
      ids_.push_back(buildIds_[static_cast<size_t>(e)].id);
    n.ids = static_cast<uint32_t>(ranges_.size());
    ranges_.emplace_back(begin, static_cast<uint32_t>(ids_.size()));
  }
  const int32_t c0 = src.child[0], c1 = src.child[1];
  n.child[0] = layOut(c0);
  n.child[1] = layOut(c1);
  nodes_[static_cast<size_t>(at)] = n;
  return at;
}

void PrefixTrie::finish() {
  nodes_.clear();
  nodes_.reserve(build_.size());
  ids_.reserve(ids_.size() + buildIds_.size());
  ranges_.reserve(ranges_.size() + std::min(build_.size(), buildIds_.size()));
  layOut(buildRoot_);
  build_.clear();
  build_.shrink_to_fit();
  buildIds_.clear();
  buildIds_.shrink_to_fit();
  buildRoot_ = -1;
  if (nodes_.size() >= kJumpMinNodes && nodes_[0].len + kJumpBits <= maxLen_) buildJump();
}

namespace {
// Bits [from, from + n) of a key as an integer (n <= 16).
uint32_t bitsAt(uint64_t hi, uint64_t lo, unsigned from, unsigned n) {
  uint32_t v = 0;
  for (unsigned i = from; i < from + n; ++i)
    v = v << 1 | static_cast<uint32_t>(i < 64 ? (hi >> (63 - i)) & 1 : (lo >> (127 - i)) & 1);
  return v;
}
}  // namespace

void PrefixTrie::buildJump() {
  jump_.assign(size_t{1} << kJumpBits, Jump{});
  chain_.clear();
  fillJump(0, -1);
}

// Depth first: a node of length L (root <= L <= root + kJumpBits) covers the entries whose
// first L - root bits are its own; it fills them, and its children then overwrite their
// own sub-ranges.
void PrefixTrie::fillJump(int32_t idx, int32_t chain) {
  const Node& node = nodes_[static_cast<size_t>(idx)];
  const unsigned root = nodes_[0].len;
  if (node.len > root + kJumpBits) return;  // reached by the walk from its parent
  if (node.ids != kNoIds) {
    chain_.push_back(Chain{static_cast<uint32_t>(idx), chain});
    chain = static_cast<int32_t>(chain_.size() - 1);
  }
  const unsigned fixed = node.len - root;
  const uint32_t first = fixed == 0 ? 0 : bitsAt(node.key.hi, node.key.lo, root, fixed) << (kJumpBits - fixed);
  const uint32_t count = uint32_t{1} << (kJumpBits - fixed);
  for (uint32_t e = first; e < first + count; ++e) jump_[e] = Jump{idx, chain};
  if (node.len >= 128) return;
  for (int c = 0; c < 2; ++c)
    if (node.child[c] >= 0) fillJump(node.child[c], chain);
}

int PrefixTrie::collect(const IpAddress& a, std::array<uint32_t, kMaxPath>& out) const noexcept {
  if (nodes_.empty()) return 0;
  const Key key = keyOf(a);
  int n = 0;
  int32_t idx = 0;
  if (!jump_.empty()) {
    const Node& root = nodes_[0];
    Key m = masked(key, root.len);
    if (m.hi != root.key.hi || m.lo != root.key.lo) return 0;
    const Jump& j = jump_[bitsAt(key.hi, key.lo, root.len, kJumpBits)];
    // The chain lists the nodes passed, deepest first; out wants shortest first.
    int depth = 0;
    for (int32_t c = j.chain; c >= 0; c = chain_[static_cast<size_t>(c)].prev) ++depth;
    n = depth;
    for (int32_t c = j.chain; c >= 0; c = chain_[static_cast<size_t>(c)].prev)
      out[static_cast<size_t>(--depth)] = chain_[static_cast<size_t>(c)].node;
    const Node& resume = nodes_[static_cast<size_t>(j.resume)];
    if (resume.len >= 128) return n;
    idx = resume.child[bitAt(key, resume.len)];
  }
  while (idx >= 0) {
    const Node& node = nodes_[static_cast<size_t>(idx)];
    Key m = masked(key, node.len);
    if (m.hi != node.key.hi || m.lo != node.key.lo) break;
    if (node.ids != kNoIds) out[static_cast<size_t>(n++)] = static_cast<uint32_t>(idx);
    if (node.len >= 128) break;
    idx = node.child[bitAt(key, node.len)];
  }
  return n;
}

// --- DomainIndex --------------------------------------------------------------------

DomainIndex::LabelKey DomainIndex::keyOf(uint32_t parent, std::string_view label) noexcept {
  // Eight bytes at a time (labels are short: most fit in one word), mixed with the parent.
  auto mix = [](uint64_t h, uint64_t w) {
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
  };
  const size_t n = label.size();
  uint64_t h = (uint64_t{parent} << 32 | n) * 0x9e3779b97f4a7c15ull;
  uint64_t head = 0;
  std::memcpy(&head, label.data(), n < 8 ? n : 8);
  h = mix(h, head);
  for (size_t i = 8; i < n; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, label.data() + i, n - i < 8 ? n - i : 8);
    h = mix(h, w);
  }
  h *= 0x94d049bb133111ebull;
  return LabelKey{head, static_cast<uint32_t>(h ^ (h >> 32))};
}

uint32_t DomainIndex::find(uint32_t parent, std::string_view label, const LabelKey& k) const noexcept {
  if (edges_.empty()) return 0;
  const size_t mask = edges_.size() - 1;
  for (size_t i = k.hash & mask;; i = (i + 1) & mask) {
    const Edge& e = edges_[i];
    if (e.child == 0) return 0;  // the table is at most half full: an empty slot ends the probe
    if (e.hash == k.hash && e.parent == parent && e.length == label.size() && e.head == k.head &&
        (label.size() <= 8 || std::memcmp(labels_.data() + e.rest, label.data() + 8, label.size() - 8) == 0))
      return e.child;
  }
}

void DomainIndex::grow() {
  std::vector<Edge> old = std::move(edges_);
  edges_.assign(old.empty() ? 64 : 2 * old.size(), Edge{});
  const size_t mask = edges_.size() - 1;
  for (const Edge& e : old) {
    if (e.child == 0) continue;
    size_t i = e.hash & mask;
    while (edges_[i].child != 0) i = (i + 1) & mask;
    edges_[i] = e;
  }
}

uint32_t DomainIndex::insert(std::string_view domain, uint32_t id) {
  uint32_t node = 0;
  size_t end = domain.size();
  while (true) {
    size_t dot = end == 0 ? std::string_view::npos : domain.rfind('.', end - 1);
    size_t start = dot == std::string_view::npos ? 0 : dot + 1;
    std::string_view label = domain.substr(start, end - start);
    const LabelKey key = keyOf(node, label);
    uint32_t next = find(node, label, key);
    if (next == 0) {
      if (2 * size_t{nodes_} > edges_.size()) grow();  // nodes_ edges once this one is in
      next = nodes_++;
      const size_t mask = edges_.size() - 1;
      size_t i = key.hash & mask;
      while (edges_[i].child != 0) i = (i + 1) & mask;
      edges_[i] = Edge{key.head, key.hash, node, next, static_cast<uint32_t>(labels_.size()),
                       static_cast<uint32_t>(label.size())};
      if (label.size() > 8) labels_.append(label.substr(8));
    }
    node = next;
    if (dot == std::string_view::npos) break;
    end = dot;
  }
  pending_.emplace_back(node, id);
  return node;
}

void DomainIndex::finish() {
  // A counting sort by node; stable, so each node's ids stay in insertion order.
  offsets_.assign(size_t{nodes_} + 1, 0);
  for (const auto& [node, id] : pending_) ++offsets_[node + 1];
  for (uint32_t n = 0; n < nodes_; ++n) offsets_[n + 1] += offsets_[n];
  ids_.resize(pending_.size());
  for (const auto& [node, id] : pending_) ids_[offsets_[node]++] = id;  // offsets_[n] ends at n + 1's start
  for (uint32_t n = nodes_; n > 0; --n) offsets_[n] = offsets_[n - 1];
  offsets_[0] = 0;
  pending_.clear();
  pending_.shrink_to_fit();
}

int DomainIndex::collect(std::string_view name, std::array<uint32_t, kMaxLabels>& out) const noexcept {
  int n = 0;
  if (name.empty() || nodes_ <= 1 || offsets_.empty()) return 0;
  uint32_t node = 0;
  size_t end = name.size();
  while (n < kMaxLabels) {
    size_t dot = end == 0 ? std::string_view::npos : name.rfind('.', end - 1);
    size_t start = dot == std::string_view::npos ? 0 : dot + 1;
    std::string_view label = name.substr(start, end - start);
    const uint32_t next = find(node, label, keyOf(node, label));
    if (next == 0) break;
    node = next;
    if (offsets_[node + 1] != offsets_[node]) out[static_cast<size_t>(n++)] = node;
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
  // By node, then by id: each node's list stays in rule-priority order. compile() inserts
  // rule by rule, so the ids already ascend: a stable radix sort on the node (17 bits, two
  // passes of 9 and 8) is enough, and costs a fraction of a comparison sort.
  const bool idsAscend = std::is_sorted(pending_.begin(), pending_.end(),
                                        [](const auto& a, const auto& b) { return a.second < b.second; });
  if (idsAscend) {
    std::vector<std::pair<uint32_t, uint32_t>> tmp(pending_.size());
    auto pass = [](const std::vector<std::pair<uint32_t, uint32_t>>& from,
                   std::vector<std::pair<uint32_t, uint32_t>>& to, unsigned shift, uint32_t buckets) {
      std::vector<uint32_t> start(buckets + 1, 0);
      for (const auto& e : from) ++start[((e.first >> shift) & (buckets - 1)) + 1];
      for (uint32_t b = 0; b < buckets; ++b) start[b + 1] += start[b];
      for (const auto& e : from) to[start[(e.first >> shift) & (buckets - 1)]++] = e;
    };
    static_assert(2 * kLeaves <= (uint32_t{1} << 17), "node numbers fit in 17 bits");
    pass(pending_, tmp, 0, 512);
    pass(tmp, pending_, 9, 256);
  } else {
    std::sort(pending_.begin(), pending_.end());
  }
  present_.assign(2 * kLeaves / 64, 0);
  rank_.assign(2 * kLeaves / 64, 0);
  ids_.reserve(pending_.size());
  for (size_t i = 0; i < pending_.size(); ++i) {
    uint32_t node = pending_[i].first;
    if (i == 0 || node != pending_[i - 1].first) {
      present_[node / 64] |= uint64_t{1} << (node % 64);
      offsets_.push_back(static_cast<uint32_t>(ids_.size()));
    }
    ids_.push_back(pending_[i].second);
  }
  offsets_.push_back(static_cast<uint32_t>(ids_.size()));
  uint32_t seen = 0;
  for (size_t w = 0; w < present_.size(); ++w) {
    rank_[w] = seen;
    seen += static_cast<uint32_t>(std::popcount(present_[w]));
  }
  pending_.clear();
  pending_.shrink_to_fit();
}

int PortIndex::collect(uint16_t port, std::array<std::span<const uint32_t>, kLevels>& out) const noexcept {
  if (present_.empty()) return 0;
  int n = 0;
  for (uint32_t i = port + kLeaves; i >= 1; i >>= 1) {
    const uint64_t word = present_[i / 64];
    const uint32_t bit = i % 64;
    if (!((word >> bit) & 1)) continue;
    const uint32_t r = rank_[i / 64] + static_cast<uint32_t>(std::popcount(word & ((uint64_t{1} << bit) - 1)));
    out[static_cast<size_t>(n++)] = std::span<const uint32_t>(ids_.data() + offsets_[r], offsets_[r + 1] - offsets_[r]);
  }
  return n;
}

}  // namespace mif::policy::detail
