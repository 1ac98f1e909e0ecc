#pragma once
// The compiled form of a policy (private to policy/).
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "matchers.h"
#include "mif/policy/policy.h"

namespace mif::policy {

struct PvdList {
  std::array<PvdId, kMaxListed> ids{};
  uint8_t count = 0;
};

// Rules indexed each by its most selective key (dst, else domain — through
// Impl::ruleDomainNames —, else app, else port; the rest are scanned). Every candidate list is in rule order, which is precedence order,
// so the first full match of each list is found quickly and the minimum over the lists is
// the first matching rule.
struct RuleIndex {
  detail::PrefixTrie dst4, dst6;
  // By app id (Impl::appIds): app id a's rules are appRules[appOffsets[a] .. appOffsets[a + 1]).
  std::vector<uint32_t> appOffsets, appRules;
  std::span<const uint32_t> appList(int32_t app) const noexcept {
    if (app < 0 || static_cast<size_t>(app) + 1 >= appOffsets.size()) return {};
    const auto a = static_cast<size_t>(app);
    return {appRules.data() + appOffsets[a], appOffsets[a + 1] - appOffsets[a]};
  }
  detail::PortIndex port;
  std::vector<uint32_t> rest;
};

// A rule as the fast path reads it: 48 bytes, so a candidate costs one cache line, and
// names compared as ids (the query's app and name suffixes are looked up once per query).
struct CompiledRule {
  enum : uint8_t { kDst = 1, kPort = 2, kDomain = 4, kApp = 8, kDscp = 16 };
  Prefix dst;
  uint8_t keys = 0;
  Proto proto = Proto::Any;
  uint16_t portLo = 0, portHi = 0;
  int32_t domainNode = -1;  // node of the rule's domain in Impl::ruleDomainNames
  int32_t appId = -1;       // in Impl::appIds
  uint64_t dscpMask = 0;    // kDscp: bit n = DSCP n accepted
};

// What the fast path derives from a query once: lower-cased name, unmapped address, the
// app's id and the nodes of every rule domain that is a suffix of the name.
struct QueryKeys {
  std::string_view name;
  IpAddress addr;
  int32_t appId = -1;
  int nameNodes = 0;
  std::array<uint32_t, detail::DomainIndex::kMaxLabels> nameNode;
};

struct Policy::Impl {
  std::vector<PvdDef> pvds;
  std::vector<RuleDef> rules;  // precedence order: locked system rules, then command line,
                               // user, system rules, each in file order
  std::vector<PvdList> rulePvds;
  uint32_t lockedCount = 0;    // rules[0 .. lockedCount) are the locked ones
  bool anyDscp = false;        // some rule has a dscp key
  std::optional<DefaultDef> defaults;
  PvdList defaultPvds;
  uint32_t attemptDelayMs = FailoverDef::kDefaultAttemptDelayMs;
  Pin pin;
  PvdList pinPvds;
  std::unordered_map<std::string, PvdId, detail::StringHash, std::equal_to<>> byName;

  RuleIndex index;
  std::vector<CompiledRule> compiled;  // parallel to rules
  detail::DomainIndex ruleDomainNames; // every rule's domain (ids: rule indices)
  std::unordered_map<std::string, int32_t, detail::StringHash, std::equal_to<>> appIds;
  detail::DomainIndex pvdDomains;                 // ids: PvdId
  detail::PrefixTrie pvdPrefix4, pvdPrefix6;      // destinations (connect, send)
  detail::PrefixTrie pvdSource4, pvdSource6;      // local addresses (bind)

  void buildIndexes();
  // True when rule r matches q (the compiled form, for the fast path).
  bool ruleMatches(uint32_t r, const Query& q, const QueryKeys& k) const noexcept;
  // The same on the rule as written, by plain comparisons: the reference the explained
  // path uses. `name` is q.name lower-cased without a trailing dot.
  bool ruleMatchesReference(uint32_t r, const Query& q, const IpAddress& addr, std::string_view name) const;
  // The first rule with index >= from that matches, or -1 (fast, via the index).
  int firstRule(const Query& q, const QueryKeys& k, uint32_t from) const noexcept;
  Decision decideFast(const Query& q, const View& v) const noexcept;
  Decision decideBelowTag(const Query& q, const View& v, std::string_view name,
                          const IpAddress& addr) const noexcept;
  Decision decideExplained(const Query& q, const View& v, Explanation* e) const;
};

}  // namespace mif::policy
