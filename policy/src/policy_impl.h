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

// Rules indexed each by its most selective key (dst, else domain, else app, else port;
// the rest are scanned). Every candidate list is in rule order, which is precedence order,
// so the first full match of each list is found quickly and the minimum over the lists is
// the first matching rule.
struct RuleIndex {
  detail::PrefixTrie dst4, dst6;
  detail::DomainIndex domain;
  std::unordered_map<std::string, std::vector<uint32_t>, detail::StringHash, std::equal_to<>> app;
  detail::PortIndex port;
  std::vector<uint32_t> rest;
};

struct Policy::Impl {
  std::vector<PvdDef> pvds;
  std::vector<RuleDef> rules;  // precedence order: locked system rules, then command line,
                               // user, system rules, each in file order
  std::vector<PvdList> rulePvds;
  uint32_t lockedCount = 0;    // rules[0 .. lockedCount) are the locked ones
  std::optional<DefaultDef> defaults;
  PvdList defaultPvds;
  Pin pin;
  PvdList pinPvds;
  std::unordered_map<std::string, PvdId, detail::StringHash, std::equal_to<>> byName;

  RuleIndex index;
  detail::DomainIndex pvdDomains;                 // ids: PvdId
  detail::PrefixTrie pvdPrefix4, pvdPrefix6;      // destinations (connect, send)
  detail::PrefixTrie pvdSource4, pvdSource6;      // local addresses (bind)

  void buildIndexes();
  // True when rule r matches q. `name` is q.name lower-cased without a trailing dot.
  bool ruleMatches(uint32_t r, const Query& q, const IpAddress& addr, std::string_view name) const noexcept;
  // The first rule with index >= from that matches, or -1 (fast, via the index).
  int firstRule(const Query& q, const IpAddress& addr, std::string_view name, uint32_t from) const noexcept;
  Decision decideFast(const Query& q, const View& v) const noexcept;
  Decision decideExplained(const Query& q, const View& v, Explanation* e) const;
};

}  // namespace mif::policy
