// Merging the layers, applying the pin, checking references, building the matchers.
#include <algorithm>
#include <cstring>

#include "mif/policy/policy.h"
#include "names.h"
#include "policy_impl.h"

namespace mif::policy {
namespace {

bool sameDefinition(const PvdDef& a, const PvdDef& b) {
  return a.interfaceGlob == b.interfaceGlob && a.dns == b.dns && a.domains == b.domains &&
         a.prefixes == b.prefixes && a.source == b.source && a.explicitId == b.explicitId &&
         a.probe == b.probe;
}

Diagnostic at(const SourceRef& where, std::string message, Severity sev = Severity::Error) {
  return Diagnostic{sev, where.file.empty() ? std::string("command line") : where.file.str(),
                    where.line, where.column, std::move(message)};
}

}  // namespace

Policy::Policy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::~Policy() = default;

const std::vector<PvdDef>& Policy::pvds() const { return impl_->pvds; }
const std::vector<RuleDef>& Policy::rules() const { return impl_->rules; }
const std::optional<DefaultDef>& Policy::defaults() const { return impl_->defaults; }
const Pin& Policy::pin() const { return impl_->pin; }
bool Policy::usesDscp() const { return impl_->anyDscp; }
uint32_t Policy::attemptDelayMs() const { return impl_->attemptDelayMs; }

std::optional<PvdId> Policy::findPvd(std::string_view name) const {
  auto it = impl_->byName.find(name);
  if (it == impl_->byName.end()) return std::nullopt;
  return it->second;
}

CompileResult Policy::compile(std::vector<PolicyDoc> layers, const Pin& pin) {
  CompileResult out;
  auto impl = std::make_unique<Impl>();
  std::stable_sort(layers.begin(), layers.end(),
                   [](const PolicyDoc& a, const PolicyDoc& b) { return a.layer < b.layer; });

  // PvDs: system first, so a PvD's id does not depend on whether a user file exists.
  for (auto& doc : layers) {
    for (auto& p : doc.pvds) {
      p.layer = doc.layer;
      auto it = impl->byName.find(p.name);
      if (it != impl->byName.end()) {
        const PvdDef& prev = impl->pvds[it->second];
        if (!sameDefinition(prev, p))
          out.diagnostics.push_back(at(p.where, "PvD '" + p.name + "' is already defined at " +
                                                    prev.where.toString() + " (" +
                                                    layerName(prev.layer) +
                                                    " layer) differently; a PvD is defined once"));
        continue;
      }
      if (impl->pvds.size() >= 0xffff) {
        out.diagnostics.push_back(at(p.where, "too many PvDs"));
        continue;
      }
      impl->byName.emplace(p.name, static_cast<PvdId>(impl->pvds.size()));
      impl->pvds.push_back(std::move(p));
    }
  }
  std::vector<std::string_view> names;
  names.reserve(impl->pvds.size());
  for (const auto& p : impl->pvds) names.push_back(p.name);

  // A policy has a handful of PvDs and thousands of references to them: comparing the
  // names in turn is cheaper than hashing each reference.
  auto findPvd = [&](const std::string& n) -> std::optional<PvdId> {
    if (names.size() <= 32) {
      for (size_t i = 0; i < names.size(); ++i) {
        const std::string_view c = names[i];
        // Names often share a prefix ("wifi0", "wifi1"): the last character tells most apart.
        if (c.size() == n.size() && !n.empty() && c.back() == n.back() &&
            std::memcmp(c.data(), n.data(), n.size()) == 0)
          return static_cast<PvdId>(i);
      }
      if (n.empty())
        for (size_t i = 0; i < names.size(); ++i)
          if (names[i].empty()) return static_cast<PvdId>(i);
      return std::nullopt;
    }
    auto it = impl->byName.find(n);
    if (it == impl->byName.end()) return std::nullopt;
    return it->second;
  };
  // An explicit PvD by its RFC 8801 ID (docs/policy.md, "A PvD by its identity"): the
  // table whose `id` it is, else one made for it (as if `[pvd."ID"] id = "ID"`) in the
  // layer that names it. nullopt when NAME is not a PvD ID (no dot, or not a valid name).
  auto byIdentity = [&](const std::string& n, Layer layer,
                        const SourceRef& where) -> std::optional<PvdId> {
    if (n.find('.') == std::string::npos) return std::nullopt;
    std::string why;
    std::string id = detail::normalizeDomain(n, &why);
    if (id.empty()) return std::nullopt;
    for (size_t i = 0; i < impl->pvds.size(); ++i)
      if (impl->pvds[i].explicitId == id && !impl->pvds[i].adHoc) return static_cast<PvdId>(i);
    if (impl->pvds.size() >= 0xffff) return std::nullopt;
    PvdDef p;
    p.name = n;
    p.explicitId = id;
    p.layer = layer;
    p.where = where;
    p.byIdentity = true;
    impl->byName.emplace(n, static_cast<PvdId>(impl->pvds.size()));
    impl->pvds.push_back(std::move(p));
    names.clear();  // the views pointed into the vector that just grew
    for (const auto& q : impl->pvds) names.push_back(q.name);
    return static_cast<PvdId>(impl->pvds.size() - 1);
  };
  auto resolveList = [&](const std::vector<std::string>& list, const SourceRef& where,
                         const char* what, Layer layer, PvdList* ids) {
    for (const auto& n : list) {
      std::optional<PvdId> id = findPvd(n);
      if (!id) id = byIdentity(n, layer, where);
      if (!id) {
        std::string msg = std::string(what) + " names unknown PvD '" + n + "'";
        if (auto s = detail::suggest(n, names); !s.empty()) msg += "; did you mean '" + s + "'?";
        else if (n.find('.') != std::string::npos) {
          std::string why;
          if (detail::normalizeDomain(n, &why).empty()) msg += ", nor a PvD ID: " + why;
        }
        out.diagnostics.push_back(at(where, msg));
        continue;
      }
      if (ids->count < kMaxListed) ids->ids[ids->count++] = *id;
    }
  };

  // Rules in precedence order (DESIGN.md): locked system rules, then command line, user,
  // system.
  size_t total = 0, withRules = 0, locked = 0;
  for (auto& doc : layers) {
    total += doc.rules.size();
    withRules += !doc.rules.empty();
    for (auto& r : doc.rules) {
      r.layer = doc.layer;
      if (r.layer != Layer::System) r.locked = false;  // the loader reported it already
      locked += r.locked;
    }
  }
  if (withRules == 1 && locked == 0) {
    // One file's rules and none locked (the usual case): already in precedence order.
    for (auto& doc : layers)
      if (!doc.rules.empty()) impl->rules = std::move(doc.rules);
  } else {
    impl->rules.reserve(total);
    for (auto& doc : layers)
      for (auto& r : doc.rules)
        if (r.locked) impl->rules.push_back(std::move(r));
    for (int l = static_cast<int>(Layer::CommandLine); l >= static_cast<int>(Layer::System); --l)
      for (auto& doc : layers)
        if (static_cast<int>(doc.layer) == l)
          for (auto& r : doc.rules)
            if (!r.locked) impl->rules.push_back(std::move(r));  // moved-from locked rules keep locked = true
  }
  impl->lockedCount = static_cast<uint32_t>(locked);
  impl->rulePvds.reserve(impl->rules.size());
  for (const auto& r : impl->rules) {
    PvdList ids;
    resolveList(r.pvd, r.pvdWhere.line ? r.pvdWhere : r.where, "rule", r.layer, &ids);
    impl->rulePvds.push_back(ids);
  }

  // [default]: the last layer that has one.
  for (auto& doc : layers)
    if (doc.defaults) {
      impl->defaults = doc.defaults;
      impl->defaults->layer = doc.layer;
    }
  if (impl->defaults)
    resolveList(impl->defaults->pvd,
                impl->defaults->pvdWhere.line ? impl->defaults->pvdWhere : impl->defaults->where,
                "[default]", impl->defaults->layer, &impl->defaultPvds);

  // [failover] attempt_delay_ms: the last layer that sets it.
  for (const auto& doc : layers)
    if (doc.failover && doc.failover->attemptDelayMs) impl->attemptDelayMs = *doc.failover->attemptDelayMs;

  // The pin: policy PvDs by name, else ad hoc PvDs on the interface of that name.
  impl->pin = pin;
  if (pin.pvds.size() > kMaxListed)
    out.diagnostics.push_back(at(SourceRef{}, "--pvd lists " + std::to_string(pin.pvds.size()) +
                                                  " PvDs; at most " + std::to_string(kMaxListed) +
                                                  " are allowed"));
  for (const auto& n : pin.pvds) {
    auto it = impl->byName.find(n);
    if (it == impl->byName.end()) {
      // The policy's PvD of that identity (`id`), if any.
      std::string why;
      std::string asId = n.find('.') != std::string::npos ? detail::normalizeDomain(n, &why) : "";
      for (size_t i = 0; !asId.empty() && i < impl->pvds.size(); ++i)
        if (impl->pvds[i].explicitId == asId) it = impl->byName.find(impl->pvds[i].name);
    }
    if (it == impl->byName.end()) {
      // A name with a dot may be an explicit PvD's ID (RFC 8801), published by `mif
      // discover`; the view binds it to that PvD first, else to the interface of that name.
      std::string why;
      std::string asId = n.find('.') != std::string::npos ? detail::normalizeDomain(n, &why) : "";
      if (!detail::validInterfaceName(n) && asId.empty()) {
        out.diagnostics.push_back(at(SourceRef{}, "--pvd '" + n +
                                                      "': no PvD of that name in the policy, and "
                                                      "not a valid interface name or PvD ID"));
        continue;
      }
      PvdDef p;
      p.name = n;
      p.interfaceGlob = detail::validInterfaceName(n) ? n : "";
      p.explicitId = asId;
      p.dns = pin.dns;
      p.layer = Layer::CommandLine;
      p.adHoc = true;
      it = impl->byName.emplace(n, static_cast<PvdId>(impl->pvds.size())).first;
      impl->pvds.push_back(std::move(p));
    }
    bool dup = false;
    for (uint8_t i = 0; i < impl->pinPvds.count; ++i) dup = dup || impl->pinPvds.ids[i] == it->second;
    if (!dup && impl->pinPvds.count < kMaxListed) impl->pinPvds.ids[impl->pinPvds.count++] = it->second;
  }

  if (hasErrors(out.diagnostics)) return out;
  impl->buildIndexes();
  out.policy.emplace(Policy(std::move(impl)));
  return out;
}

void Policy::Impl::buildIndexes() {
  compiled.reserve(rules.size());
  size_t dst4Count = 0, dst6Count = 0;
  for (const RuleDef& r : rules)
    if (r.dst) ++(r.dst->addr.family == Family::V4 ? dst4Count : dst6Count);
  index.dst4.reserve(dst4Count);
  index.dst6.reserve(dst6Count);
  std::vector<std::pair<int32_t, uint32_t>> appPending;  // (app id, rule), in rule order
  for (uint32_t i = 0; i < rules.size(); ++i) {
    const RuleDef& r = rules[i];
    CompiledRule c;
    if (r.dst) {
      c.keys |= CompiledRule::kDst;
      c.dst = *r.dst;
    }
    if (r.port) {
      c.keys |= CompiledRule::kPort;
      c.portLo = r.port->lo;
      c.portHi = r.port->hi;
    }
    if (r.domain) {
      c.keys |= CompiledRule::kDomain;
      c.domainNode = static_cast<int32_t>(ruleDomainNames.insert(*r.domain, i));
    }
    if (r.dscp) {
      c.keys |= CompiledRule::kDscp;
      c.dscpMask = *r.dscp;
      anyDscp = true;
    }
    if (r.app) {
      c.keys |= CompiledRule::kApp;
      c.appId = appIds.emplace(*r.app, static_cast<int32_t>(appIds.size())).first->second;
    }
    c.proto = r.proto;
    compiled.push_back(c);
    if (r.dst) {
      (r.dst->addr.family == Family::V4 ? index.dst4 : index.dst6).insert(*r.dst, i);
    } else if (r.domain) {
      // Found through ruleDomainNames, which holds every rule's domain.
    } else if (r.app) {
      appPending.emplace_back(c.appId, i);
    } else if (r.port) {
      index.port.insert(r.port->lo, r.port->hi, i);
    } else {
      index.rest.push_back(i);
    }
  }
  // Each app's rules in rule order (a counting sort by app id, which is stable).
  if (!appPending.empty()) {
    index.appOffsets.assign(appIds.size() + 1, 0);
    for (const auto& [app, rule] : appPending) ++index.appOffsets[static_cast<size_t>(app) + 1];
    for (size_t a = 0; a < appIds.size(); ++a) index.appOffsets[a + 1] += index.appOffsets[a];
    index.appRules.resize(appPending.size());
    std::vector<uint32_t> next(index.appOffsets.begin(), index.appOffsets.end() - 1);
    for (const auto& [app, rule] : appPending) index.appRules[next[static_cast<size_t>(app)]++] = rule;
  }
  index.port.finish();
  index.dst4.finish();
  index.dst6.finish();
  ruleDomainNames.finish();
  for (uint32_t id = 0; id < pvds.size(); ++id) {
    const PvdDef& p = pvds[id];
    for (const auto& d : p.domains) pvdDomains.insert(d, id);
    for (const auto& pr : p.prefixes) (pr.addr.family == Family::V4 ? pvdPrefix4 : pvdPrefix6).insert(pr, id);
    for (const auto& pr : p.source) (pr.addr.family == Family::V4 ? pvdSource4 : pvdSource6).insert(pr, id);
  }
  for (auto* t : {&pvdPrefix4, &pvdPrefix6, &pvdSource4, &pvdSource6}) t->finish();
  pvdDomains.finish();
}

}  // namespace mif::policy
