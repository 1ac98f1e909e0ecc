// The explained decision: every rule and PvD is scanned (no index), every match recorded
// in precedence order, and the first one that has a usable PvD (or is strict) wins. This
// is also the reference that tests compare the indexed fast path with.
#include <algorithm>

#include "mif/policy/policy.h"
#include "names.h"
#include "policy_impl.h"

namespace mif::policy {
namespace {

std::string ruleDetail(const RuleDef& r) {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : ", ") + part; };
  if (r.domain) add("domain " + *r.domain);
  if (r.dst) add("dst " + r.dst->toString());
  if (r.port)
    add(r.port->lo == r.port->hi ? "port " + std::to_string(r.port->lo)
                                 : "port " + std::to_string(r.port->lo) + "-" + std::to_string(r.port->hi));
  if (r.proto != Proto::Any) add(r.proto == Proto::Tcp ? "proto tcp" : "proto udp");
  if (r.dscp) {
    std::string list;
    for (int d = 0; d < 64; ++d)
      if ((*r.dscp >> d) & 1) list += (list.empty() ? "" : ",") + dscpName(d);
    add("dscp " + list);
  }
  if (r.app) add("app " + *r.app);
  if (s.empty()) s = "every connection";
  return (r.locked ? "locked " : "") + std::string(layerName(r.layer)) + " rule: " + s;
}

struct Candidate {
  Step step;
  int rule = -1;
  std::vector<PvdId> listed;
  bool strict = false;
  SourceRef where;
  std::string detail;
};

}  // namespace

Decision Policy::Impl::decideExplained(const Query& q, const View& v, Explanation* e) const {
  std::string name(q.name);
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (auto& c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (name.size() > 253) name.clear();
  const IpAddress addr = q.address.unmapped();
  const bool resolve = q.kind == Query::Kind::Resolve;
  auto usable = [&](PvdId id) {
    PvdState s = v.state(id);
    return (resolve || !q.hasAddress) ? s.anyUsable() : s.usable(addr.family);
  };
  auto toVec = [](const PvdList& l) { return std::vector<PvdId>(l.ids.begin(), l.ids.begin() + l.count); };

  std::vector<Candidate> cands;
  auto addRules = [&](bool locked) {
    for (uint32_t i = 0; i < rules.size(); ++i) {
      if ((i < lockedCount) != locked || !ruleMatchesReference(i, q, addr, name)) continue;
      cands.push_back(Candidate{locked ? Step::Locked : Step::Rule, static_cast<int>(i), toVec(rulePvds[i]),
                                rules[i].strict, rules[i].where, ruleDetail(rules[i])});
    }
  };
  std::string pinText;
  for (const auto& p : pin.pvds) pinText += (pinText.empty() ? "" : ",") + p;

  addRules(true);
  if (pin.strict && pinPvds.count > 0)
    cands.push_back(Candidate{Step::StrictPin, -1, toVec(pinPvds), true, SourceRef{}, "--pvd " + pinText + " --strict"});
  addRules(false);
  if (!resolve && q.hasAddress && q.taggedPvd >= 0 && static_cast<size_t>(q.taggedPvd) < pvds.size()) {
    const PvdDef& p = pvds[static_cast<size_t>(q.taggedPvd)];
    cands.push_back(Candidate{Step::DnsTag, -1, {static_cast<PvdId>(q.taggedPvd)}, false, p.where,
                              "the address came from PvD " + p.name + "'s DNS"});
  }
  if (!name.empty()) {
    // Every suffix of the name, longest first.
    for (size_t start = 0;;) {
      std::string_view suffix = std::string_view(name).substr(start);
      Candidate c{Step::PvdDomain, -1, {}, false, {}, "domain " + std::string(suffix)};
      for (PvdId id = 0; id < pvds.size(); ++id)
        for (const auto& d : pvds[id].domains)
          if (d == suffix && std::find(c.listed.begin(), c.listed.end(), id) == c.listed.end()) {
            if (c.listed.empty()) c.where = pvds[id].where;
            c.listed.push_back(id);
          }
      if (!c.listed.empty()) cands.push_back(std::move(c));
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }
  if (!resolve && q.hasAddress) {
    const bool bind = q.kind == Query::Kind::Bind;
    std::vector<std::pair<Prefix, PvdId>> hits;
    for (PvdId id = 0; id < pvds.size(); ++id)
      for (const auto& pr : bind ? pvds[id].source : pvds[id].prefixes)
        if (pr.contains(addr)) hits.emplace_back(pr, id);
    std::stable_sort(hits.begin(), hits.end(),
                     [](const auto& a, const auto& b) { return a.first.length > b.first.length; });
    for (size_t i = 0; i < hits.size();) {
      Candidate c{Step::PvdPrefix, -1, {}, false, pvds[hits[i].second].where,
                  (bind ? "source " : "prefix ") + hits[i].first.toString()};
      size_t j = i;
      for (; j < hits.size() && hits[j].first.length == hits[i].first.length; ++j)
        if (std::find(c.listed.begin(), c.listed.end(), hits[j].second) == c.listed.end())
          c.listed.push_back(hits[j].second);
      cands.push_back(std::move(c));
      i = j;
    }
  }
  if (!pin.strict && pinPvds.count > 0)
    cands.push_back(Candidate{Step::Pin, -1, toVec(pinPvds), false, SourceRef{}, "--pvd " + pinText});
  if (defaults)
    cands.push_back(Candidate{Step::Default, -1, toVec(defaultPvds), defaults->strict, defaults->where,
                              std::string(layerName(defaults->layer)) + " [default]"});

  Decision d;
  int winner = -1;
  for (size_t i = 0; i < cands.size() && winner < 0; ++i) {
    Decision t;
    for (PvdId id : cands[i].listed)
      if (usable(id) && t.count < kMaxListed) t.pvds[t.count++] = id;
    if (t.count == 0 && !cands[i].strict) continue;
    t.strict = cands[i].strict;
    t.step = cands[i].step;
    t.rule = (t.step == Step::Locked || t.step == Step::Rule) ? cands[i].rule : -1;
    d = t;
    winner = static_cast<int>(i);
  }
  // The DNS tag's list goes on with what would have decided without it (decideBelowTag):
  // the first later candidate with a usable PvD or strict, its usable PvDs.
  int rest = -1;
  if (winner >= 0 && d.step == Step::DnsTag) {
    for (size_t j = static_cast<size_t>(winner) + 1; j < cands.size() && rest < 0; ++j) {
      bool any = false;
      for (PvdId id : cands[j].listed) any = any || usable(id);
      if (!any && !cands[j].strict) continue;
      rest = static_cast<int>(j);
      for (PvdId id : cands[j].listed) {
        if (!usable(id) || d.count >= kMaxListed) continue;
        if (std::find(d.pvds.begin(), d.pvds.begin() + d.count, id) == d.pvds.begin() + d.count)
          d.pvds[d.count++] = id;
      }
    }
  }

  const char* family = (resolve || !q.hasAddress) ? "" : (addr.family == Family::V4 ? " for IPv4" : " for IPv6");
  for (size_t i = 0; i < cands.size(); ++i) {
    Candidate& c = cands[i];
    Match m;
    m.step = c.step;
    m.rule = c.rule;
    m.listed = std::move(c.listed);
    m.strict = c.strict;
    m.where = c.where;
    m.detail = std::move(c.detail);
    if (static_cast<int>(i) == winner) {
      m.won = true;
      m.why = d.blocked() ? std::string("strict, and none of its PvDs is usable") + family + ": blocked"
                          : "decided";
    } else if (winner < 0 || static_cast<int>(i) < winner) {
      m.why = std::string("none of its PvDs is usable") + family;
    } else if (static_cast<int>(i) == rest) {
      m.why = "lost to DNS tag; its usable PvDs follow the tag's PvD (failover order)";
    } else {
      const Candidate& w = cands[static_cast<size_t>(winner)];
      m.why = std::string("lost to ") + stepName(w.step) + " (" + w.where.toString() + ")";
    }
    e->matches.push_back(std::move(m));
  }
  return d;
}

}  // namespace mif::policy
