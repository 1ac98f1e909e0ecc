// decide(): DESIGN.md's precedence. The fast path uses the compiled indexes and allocates
// nothing; the explained path scans every rule and PvD (simple enough to serve as the
// reference the fast path is tested against) and records every match.
#include <algorithm>

#include "mif/policy/policy.h"
#include "names.h"
#include "policy_impl.h"

namespace mif::policy {
namespace {

// A query name as the indexes hold names: lower case, no trailing dot. Too long to be a
// DNS name: no name (it can match no domain).
std::string_view normalizeName(std::string_view in, char (&buf)[256]) noexcept {
  if (!in.empty() && in.back() == '.') in.remove_suffix(1);
  size_t len = 0;
  if (in.size() > 253 || !detail::lowerInto(in, buf, sizeof buf, &len)) return {};
  return std::string_view(buf, len);
}

bool suffixMatch(std::string_view name, std::string_view domain) noexcept {
  if (name.size() < domain.size()) return false;
  if (name.substr(name.size() - domain.size()) != domain) return false;
  return name.size() == domain.size() || name[name.size() - domain.size() - 1] == '.';
}

bool usableFor(const Query& q, const IpAddress& addr, const PvdState& s) noexcept {
  if (q.kind == Query::Kind::Resolve || !q.hasAddress) return s.anyUsable();
  return s.usable(addr.family);
}

// Appends the usable PvDs of `ids` to d (no duplicates, at most kMaxListed).
template <typename Ids>
void addUsable(Decision& d, const Ids& ids, size_t n, const Query& q, const IpAddress& addr,
               const View& v) noexcept {
  for (size_t i = 0; i < n && d.count < kMaxListed; ++i) {
    PvdId id = static_cast<PvdId>(ids[i]);
    if (!usableFor(q, addr, v.state(id))) continue;
    bool dup = false;
    for (uint8_t k = 0; k < d.count; ++k) dup = dup || d.pvds[k] == id;
    if (!dup) d.pvds[d.count++] = id;
  }
}

// Takes a match into d when one of its PvDs is usable, or when it is strict (then possibly
// blocked); false when the match falls through.
template <typename List>
bool takeList(Decision& d, const List& l, bool strict, Step step, int rule, const Query& q,
              const IpAddress& addr, const View& v) noexcept {
  d.count = 0;
  addUsable(d, l.ids, l.count, q, addr, v);
  if (d.count == 0 && !strict) return false;
  d.strict = strict;
  d.step = step;
  d.rule = rule;
  return true;
}

}  // namespace

bool Policy::Impl::ruleMatches(uint32_t i, const Query& q, const QueryKeys& k) const noexcept {
  const CompiledRule& r = compiled[i];
  // A name being resolved has no address, port or protocol yet: only rules that judge by
  // name and app can speak for it.
  if (q.kind == Query::Kind::Resolve &&
      ((r.keys & (CompiledRule::kDst | CompiledRule::kPort | CompiledRule::kDscp)) || r.proto != Proto::Any))
    return false;
  if (r.keys & CompiledRule::kDst) {
    // dst is a destination; a bind names a local address.
    if (q.kind == Query::Kind::Bind || !q.hasAddress || !r.dst.contains(k.addr)) return false;
  }
  if ((r.keys & CompiledRule::kPort) && (q.port == 0 || q.port < r.portLo || q.port > r.portHi)) return false;
  if (r.proto != Proto::Any && r.proto != q.proto) return false;
  if ((r.keys & CompiledRule::kDscp) && (q.dscp < 0 || q.dscp > 63 || !((r.dscpMask >> q.dscp) & 1))) return false;
  if ((r.keys & CompiledRule::kApp) && r.appId != k.appId) return false;
  if (r.keys & CompiledRule::kDomain) {
    bool found = false;
    for (int n = 0; n < k.nameNodes && !found; ++n) found = k.nameNode[static_cast<size_t>(n)] == static_cast<uint32_t>(r.domainNode);
    if (!found) return false;
  }
  return true;
}

bool Policy::Impl::ruleMatchesReference(uint32_t i, const Query& q, const IpAddress& addr,
                                        std::string_view name) const {
  const RuleDef& r = rules[i];
  if (q.kind == Query::Kind::Resolve && (r.dst || r.port || r.dscp || r.proto != Proto::Any)) return false;
  if (r.dst && (q.kind == Query::Kind::Bind || !q.hasAddress || !r.dst->contains(addr))) return false;
  if (r.port && (q.port == 0 || !r.port->contains(q.port))) return false;
  if (r.proto != Proto::Any && r.proto != q.proto) return false;
  if (r.dscp && (q.dscp < 0 || q.dscp > 63 || !((*r.dscp >> q.dscp) & 1))) return false;
  if (r.app && q.app != *r.app) return false;
  if (r.domain && !suffixMatch(name, *r.domain)) return false;
  return true;
}

int Policy::Impl::firstRule(const Query& q, const QueryKeys& k, uint32_t from) const noexcept {
  const IpAddress& addr = k.addr;
  uint32_t best = UINT32_MAX;
  auto scan = [&](std::span<const uint32_t> list) {
    auto it = std::lower_bound(list.begin(), list.end(), from);
    for (; it != list.end() && *it < best; ++it) {
      if (ruleMatches(*it, q, k)) {
        best = *it;
        return;
      }
    }
  };
  const bool hasDst = q.hasAddress && q.kind != Query::Kind::Resolve && q.kind != Query::Kind::Bind;
  if (hasDst) {
    const auto& trie = addr.family == Family::V4 ? index.dst4 : index.dst6;
    std::array<uint32_t, detail::PrefixTrie::kMaxPath> nodes;
    int n = trie.collect(addr, nodes);
    for (int i = 0; i < n; ++i) scan(trie.ids(nodes[static_cast<size_t>(i)]));
  }
  // Rule domains: the query's suffix nodes were found once (QueryKeys). A node also lists
  // rules indexed by dst; scanning them here as well costs little and changes nothing.
  for (int i = 0; i < k.nameNodes; ++i) scan(ruleDomainNames.ids(k.nameNode[static_cast<size_t>(i)]));
  if (k.appId >= 0) scan(index.appList(k.appId));
  if (q.port != 0 && q.kind != Query::Kind::Resolve) {
    std::array<std::span<const uint32_t>, detail::PortIndex::kLevels> lists;
    int n = index.port.collect(q.port, lists);
    for (int i = 0; i < n; ++i) scan(lists[static_cast<size_t>(i)]);
  }
  scan(index.rest);
  return best == UINT32_MAX ? -1 : static_cast<int>(best);
}

Decision Policy::Impl::decideFast(const Query& q, const View& v) const noexcept {
  char buf[256];
  QueryKeys k;
  k.name = normalizeName(q.name, buf);
  k.addr = q.address.unmapped();
  if (!q.app.empty() && !appIds.empty()) {
    if (auto it = appIds.find(q.app); it != appIds.end()) k.appId = it->second;
  }
  if (!k.name.empty() && !ruleDomainNames.empty()) k.nameNodes = ruleDomainNames.collect(k.name, k.nameNode);
  const std::string_view name = k.name;
  const IpAddress& addr = k.addr;
  Decision d;
  auto take = [&](const PvdList& l, bool strict, Step step, int rule) {
    return takeList(d, l, strict, step, rule, q, addr, v);
  };

  // 1. Locked system rules.
  uint32_t from = 0;
  int firstUnlocked = -1;
  while (true) {
    int r = firstRule(q, k, from);
    if (r < 0) break;
    if (static_cast<uint32_t>(r) >= lockedCount) {
      firstUnlocked = r;
      break;
    }
    if (take(rulePvds[static_cast<size_t>(r)], rules[static_cast<size_t>(r)].strict, Step::Locked, r)) return d;
    from = static_cast<uint32_t>(r) + 1;
  }
  // 2. A strict command-line pin.
  if (pin.strict && pinPvds.count > 0 && take(pinPvds, true, Step::StrictPin, -1)) return d;
  // 3. Rules: command line, user, system.
  for (int r = firstUnlocked; r >= 0;
       r = firstRule(q, k, static_cast<uint32_t>(r) + 1)) {
    if (take(rulePvds[static_cast<size_t>(r)], rules[static_cast<size_t>(r)].strict, Step::Rule, r)) return d;
  }
  // 4. The DNS tag: the tag's PvD first, then what steps 5-7 would have decided without
  // the tag (failover's next PvDs: an attempt on one of them connects to that PvD's own
  // answer for the name, docs/architecture.md "Failover"). Steps 1-3 came first, so no
  // strict list is ever extended here.
  if (q.kind != Query::Kind::Resolve && q.hasAddress && q.taggedPvd >= 0 &&
      static_cast<size_t>(q.taggedPvd) < pvds.size()) {
    PvdList l;
    l.ids[0] = static_cast<PvdId>(q.taggedPvd);
    l.count = 1;
    if (take(l, false, Step::DnsTag, -1)) {
      const Decision rest = decideBelowTag(q, v, name, addr);
      addUsable(d, rest.pvds, rest.count, q, addr, v);
      return d;
    }
  }
  return decideBelowTag(q, v, name, addr);
}

// Steps 5-7 of the precedence: what decides when no rule did and no DNS tag applies.
Decision Policy::Impl::decideBelowTag(const Query& q, const View& v, std::string_view name,
                                      const IpAddress& addr) const noexcept {
  Decision d;
  auto take = [&](const PvdList& l, bool strict, Step step, int rule) {
    return takeList(d, l, strict, step, rule, q, addr, v);
  };
  // 5. PvD domains (longest suffix), then PvD prefixes (longest prefix).
  if (!name.empty() && !pvdDomains.empty()) {
    std::array<uint32_t, detail::DomainIndex::kMaxLabels> nodes;
    for (int i = pvdDomains.collect(name, nodes) - 1; i >= 0; --i) {
      auto ids = pvdDomains.ids(nodes[static_cast<size_t>(i)]);
      d.count = 0;
      addUsable(d, ids, ids.size(), q, addr, v);
      if (d.count > 0) {
        d.step = Step::PvdDomain;
        return d;
      }
    }
  }
  if (q.hasAddress && q.kind != Query::Kind::Resolve) {
    const bool bind = q.kind == Query::Kind::Bind;
    const auto& trie = addr.family == Family::V4 ? (bind ? pvdSource4 : pvdPrefix4)
                                                 : (bind ? pvdSource6 : pvdPrefix6);
    std::array<uint32_t, detail::PrefixTrie::kMaxPath> nodes;
    for (int i = trie.collect(addr, nodes) - 1; i >= 0; --i) {
      auto ids = trie.ids(nodes[static_cast<size_t>(i)]);
      d.count = 0;
      addUsable(d, ids, ids.size(), q, addr, v);
      if (d.count > 0) {
        d.step = Step::PvdPrefix;
        return d;
      }
    }
  }
  // 6. A non-strict pin, then [default].
  if (!pin.strict && pinPvds.count > 0 && take(pinPvds, false, Step::Pin, -1)) return d;
  if (defaults && take(defaultPvds, defaults->strict, Step::Default, -1)) return d;
  // 7. Nothing: unmanaged.
  return Decision{};
}

Decision Policy::decide(const Query& q, const View& v, Explanation* explain) const noexcept {
  if (explain) return impl_->decideExplained(q, v, explain);
  return impl_->decideFast(q, v);
}

}  // namespace mif::policy
