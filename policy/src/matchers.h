#pragma once
// Compiled matchers behind decide(). Built once by compile(), read-only afterwards, so
// lookups are safe from any thread. Lookups allocate nothing and cost what the key costs
// (address bits, name labels, log2 of the port space), not what the policy holds.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mif/policy/address.h"

namespace mif::policy::detail {

// A path-compressed binary trie of prefixes of one family. Each prefix holds a list of
// ids (rule or PvD indices), kept in insertion order.
class PrefixTrie {
 public:
  static constexpr int kMaxPath = 129;  // a /0 ... /128 chain

  // Room for `prefixes` more insert()s without growing (each adds at most two nodes).
  void reserve(size_t prefixes);
  void insert(const Prefix& p, uint32_t id);
  // Lays the nodes out compactly in depth-first order (lookups touch fewer cache lines);
  // insert() is no longer allowed afterwards.
  void finish();
  // The nodes holding ids whose prefix contains `a`, shortest prefix first, into out
  // (capacity kMaxPath). Returns how many. Only after finish().
  int collect(const IpAddress& a, std::array<uint32_t, kMaxPath>& out) const noexcept;
  std::span<const uint32_t> ids(uint32_t node) const noexcept {
    const auto& r = ranges_[nodes_[node].ids];
    return {ids_.data() + r.first, r.second - r.first};
  }
  uint8_t length(uint32_t node) const noexcept { return nodes_[node].len; }
  bool empty() const noexcept { return nodes_.empty(); }

 private:
  struct Key {
    uint64_t hi = 0, lo = 0;
  };
  // While building. A node's ids are a list through buildIds_ (first and last entry), not
  // a vector of its own: a 10,000-rule policy would otherwise allocate once per prefix.
  struct BuildNode {
    Key key;  // bits beyond len are zero
    uint8_t len = 0;
    int32_t child[2] = {-1, -1};
    int32_t firstId = -1, lastId = -1;
  };
  struct BuildId {
    uint32_t id;
    int32_t next;
  };
  // For lookups: 32 bytes, two to a cache line.
  struct Node {
    Key key;
    int32_t child[2] = {-1, -1};
    uint32_t ids = kNoIds;  // index into ranges_
    uint8_t len = 0;
  };
  static constexpr uint32_t kNoIds = UINT32_MAX;
  static Key keyOf(const IpAddress& a) noexcept;
  static bool bitAt(const Key& k, unsigned i) noexcept;
  static Key masked(const Key& k, unsigned len) noexcept;
  static unsigned commonLength(const Key& a, const Key& b, unsigned max) noexcept;
  int32_t newNode(const Key& k, unsigned len);
  void addId(int32_t node, uint32_t id);
  int32_t layOut(int32_t buildIndex);
  void buildJump();
  void fillJump(int32_t node, int32_t chain);

  std::vector<BuildNode> build_;
  std::vector<BuildId> buildIds_;
  int32_t buildRoot_ = -1;
  std::vector<Node> nodes_;  // nodes_[0] is the root once finished
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
  std::vector<uint32_t> ids_;

  // A large trie also gets a jump table over the kJumpBits bits that follow the root's
  // prefix: one lookup replaces the top levels of the walk, where a big policy's lookups
  // would otherwise take a cache miss per level. 12 bits (a 32 KiB table) measured faster
  // than 16 (512 KiB, itself a cache miss). Each entry says where the walk resumes and
  // which nodes with ids it passed (a chain shared between entries).
  static constexpr unsigned kJumpBits = 12;
  static constexpr size_t kJumpMinNodes = 1024;
  struct Jump {
    int32_t resume = -1;  // the deepest node of length <= root + kJumpBits on the path
    int32_t chain = -1;   // into chain_: the nodes with ids passed, last first
  };
  struct Chain {
    uint32_t node;
    int32_t prev;
  };
  std::vector<Jump> jump_;
  std::vector<Chain> chain_;
  unsigned maxLen_ = 0;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Domain suffixes as a trie of labels read right to left ("corp.example" is
// root -> "example" -> "corp"). A name is looked up by walking its labels from the right.
// The edges of every node are one open-addressing table keyed by (parent node, label), the
// labels one string: building 10,000 domains allocates a handful of times, not per label,
// and a lookup is one probe per label.
class DomainIndex {
 public:
  static constexpr int kMaxLabels = 128;  // a 253-byte name has at most 127 labels

  // `domain` lower case, no trailing dot. Returns the domain's node.
  uint32_t insert(std::string_view domain, uint32_t id);
  // Groups each node's ids (in insertion order) for ids(); insert() is no longer allowed.
  void finish();
  // Nodes holding ids whose domain is a suffix of `name` (lower case, no trailing dot),
  // shortest suffix first. Returns how many. Only after finish().
  int collect(std::string_view name, std::array<uint32_t, kMaxLabels>& out) const noexcept;
  std::span<const uint32_t> ids(uint32_t node) const noexcept {
    return {ids_.data() + offsets_[node], offsets_[node + 1] - offsets_[node]};
  }
  bool empty() const noexcept { return nodes_ <= 1; }

 private:
  // 32 bytes, two to a cache line. A label's first eight bytes are held in the edge itself,
  // so most labels are compared without touching labels_.
  struct Edge {
    uint64_t head = 0;    // the label's first 8 bytes, zero-padded
    uint32_t hash = 0;
    uint32_t parent = 0;
    uint32_t child = 0;   // 0: an empty slot (the root is no node's child)
    uint32_t rest = 0;    // in labels_: the label's bytes after the first 8
    uint32_t length = 0;
  };
  struct LabelKey {
    uint64_t head;
    uint32_t hash;
  };
  static LabelKey keyOf(uint32_t parent, std::string_view label) noexcept;
  // The child of `parent` by `label`, or 0.
  uint32_t find(uint32_t parent, std::string_view label, const LabelKey& k) const noexcept;
  void grow();

  std::vector<Edge> edges_;  // a power of two in size, at most half full
  std::string labels_;
  uint32_t nodes_ = 1;       // node 0 is the root (the empty suffix)
  std::vector<std::pair<uint32_t, uint32_t>> pending_;  // (node, id) until finish()
  std::vector<uint32_t> offsets_;  // per node, plus one: its ids in ids_
  std::vector<uint32_t> ids_;
};

// Port ranges in a segment tree over 0..65535: a range is stored at O(log) canonical
// nodes; a port's candidates are on the 17 nodes from its leaf to the root.
class PortIndex {
 public:
  static constexpr int kLevels = 17;

  void insert(uint16_t lo, uint16_t hi, uint32_t id);
  void finish();  // builds the flat tables; insert() no longer allowed
  // The id lists of the nodes covering `port`; fills out, returns how many are non-empty.
  int collect(uint16_t port, std::array<std::span<const uint32_t>, kLevels>& out) const noexcept;
  bool empty() const noexcept { return present_.empty(); }

 private:
  static constexpr uint32_t kLeaves = 65536;
  std::vector<std::pair<uint32_t, uint32_t>> pending_;  // (node, id)
  // Which of the 2 * kLeaves nodes hold ids: a bitmap with a rank per word (24 KiB), so
  // that a node's list is found with a popcount, without a table for every node.
  std::vector<uint64_t> present_;
  std::vector<uint32_t> rank_;
  std::vector<uint32_t> offsets_;  // per present node, in node order, plus one
  std::vector<uint32_t> ids_;
};

}  // namespace mif::policy::detail
