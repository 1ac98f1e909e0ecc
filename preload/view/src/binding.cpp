#include "binding.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "mif/view/published_pvds.h"
#include "netlink_dump.h"
#include "ra_source.h"

namespace mif::view::detail {
namespace {

bool hasGlobChars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool nameMatches(const policy::PvdDef& def, const std::string& name) {
  if (def.adHoc || !hasGlobChars(def.interfaceGlob)) return def.interfaceGlob == name;
  return ::fnmatch(def.interfaceGlob.c_str(), name.c_str(), 0) == 0;
}

bool belongs(const policy::PvdDef& def, const Address& a) {
  if (def.source.empty()) return true;
  return std::any_of(def.source.begin(), def.source.end(),
                     [&](const policy::Prefix& p) { return p.contains(a.addr); });
}

// RFC 4941 temporary addresses are what the kernel itself prefers as source when
// use_tempaddr is 2 (RFC 6724 rule 7, privacy); with 0 or 1 it prefers the stable ones.
// A pinned socket binds the same kind of address the kernel would have picked.
bool prefersTemporary(const std::string& ifname) {
  std::string path = "/proc/sys/net/ipv6/conf/" + ifname + "/use_tempaddr";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[16] = {};
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return n > 0 && std::atoi(buf) >= 2;
}

// Lower is better: not deprecated, then global over site scope, then the temporary/stable
// preference above, then the kernel's own listing order (stable sort).
const Address* chooseSource(const std::vector<const Address*>& cands, const std::string& ifname) {
  if (cands.empty()) return nullptr;
  bool anyTemp = std::any_of(cands.begin(), cands.end(), [](auto* a) { return a->temporary(); });
  bool wantTemp = anyTemp && prefersTemporary(ifname);
  auto key = [&](const Address* a) {
    return std::make_tuple(a->deprecated(), a->scope != RT_SCOPE_UNIVERSE,
                           wantTemp ? !a->temporary() : a->temporary());
  };
  const Address* best = cands.front();
  for (auto* a : cands)
    if (key(a) < key(best)) best = a;
  return best;
}

bool isUnicast(const Route& r) { return r.type == RTN_UNICAST; }

// The ifindex of the default route the kernel would take in the main table: lowest metric
// among usable links; IPv6 wins a tie, as RFC 6724 destination ordering would.
int preferredDefaultIfindex(const Snapshot& s) {
  const Route* best = nullptr;
  for (const auto& r : s.routes) {
    if (!r.isDefault() || !isUnicast(r) || r.table != RT_TABLE_MAIN || r.hasSource) continue;
    const Interface* i = s.interfaceByIndex(r.ifindex);
    if (!i || !i->linkUsable()) continue;
    if (!best || r.metric < best->metric ||
        (r.metric == best->metric && r.family == Family::V6 && best->family == Family::V4))
      best = &r;
  }
  return best ? best->ifindex : 0;
}

bool routeCovers(const Route& r, const policy::Prefix& p) {
  return r.dst.addr.family == p.addr.family && r.dst.length <= p.length && r.dst.contains(p.addr);
}

// With SO_BINDTODEVICE the kernel only considers routes through the device and treats any
// destination without one as on-link: a PvD without a default route through its interface
// (in any table) reaches only its neighbours unless its `prefixes` are routed there.
bool reachesBeyondLink(const Snapshot& s, const policy::PvdDef& def, int ifindex, Family f) {
  bool hasDefault = false;
  for (const auto& r : s.routes)
    if (r.ifindex == ifindex && r.family == f && isUnicast(r) && r.isDefault()) hasDefault = true;
  if (hasDefault) return true;
  bool anyPrefix = false;
  for (const auto& p : def.prefixes) {
    if (p.addr.family != f) continue;
    anyPrefix = true;
    bool covered = std::any_of(s.routes.begin(), s.routes.end(), [&](const Route& r) {
      return r.ifindex == ifindex && isUnicast(r) && routeCovers(r, p);
    });
    if (!covered) return false;
  }
  return anyPrefix;
}

const char* familyName(Family f) { return f == Family::V4 ? "IPv4" : "IPv6"; }

void bindAddresses(const policy::PvdDef& def, const Interface& ifc, BoundPvd& b) {
  std::vector<const Address*> usable4, usable6;
  for (const auto& a : ifc.addresses) {
    if (!belongs(def, a)) continue;
    b.addresses.push_back(a.addr);
    if (!a.usable()) continue;
    (a.addr.family == Family::V4 ? usable4 : usable6).push_back(&a);
  }
  bool link = ifc.linkUsable();
  b.state.present = true;
  b.state.v4 = link && !usable4.empty();
  b.state.v6 = link && !usable6.empty();
  // `source` set: the PvD is a subset of the interface, so its sockets must say which
  // addresses are its own; several candidates: the kernel might pick one we did not mean.
  bool needs = !def.source.empty();
  if (const Address* a =
          (needs || usable4.size() > 1) ? chooseSource(usable4, ifc.name) : nullptr) {
    b.hasSource4 = true;
    b.source4 = a->addr;
  }
  if (const Address* a =
          (needs || usable6.size() > 1) ? chooseSource(usable6, ifc.name) : nullptr) {
    b.hasSource6 = true;
    b.source6 = a->addr;
  }
}

void linkWarnings(const policy::PvdDef& def, const Interface& ifc, BoundPvd& b) {
  const std::string who = def.name + ": ";
  if (!ifc.adminUp) {
    b.warnings.push_back(who + ifc.name + " is down — bring it up (ip link set " + ifc.name +
                         " up)");
  } else if (!ifc.linkUsable()) {
    b.warnings.push_back(who + "no carrier on " + ifc.name + " — the link is not connected");
  } else if (!b.state.v4 && !b.state.v6) {
    b.warnings.push_back(who +
                         (def.source.empty() ? "no usable address on " + ifc.name
                                             : "no usable address of " + ifc.name +
                                                   " inside its `source` prefixes") +
                         " — sockets cannot be pinned to it");
  }
}

void addDns(const policy::Policy& policy, const policy::PvdDef& def,
            const std::vector<std::unique_ptr<DnsSource>>& sources, const Interface* ifc,
            bool holdsDefault, BoundPvd& b) {
  auto addDomain = [&](const std::string& d, DnsOrigin o) {
    if (std::find(b.domains.begin(), b.domains.end(), d) != b.domains.end()) return;
    b.domains.push_back(d);
    b.domainOrigins.push_back(o);
  };
  if (def.adHoc) {
    for (const auto& a : policy.pin().dns) b.dns.push_back({a, 53, DnsOrigin::CommandLine});
  } else {
    for (const auto& a : def.dns) b.dns.push_back({a, 53, DnsOrigin::Policy});
    for (const auto& d : def.domains) addDomain(d, DnsOrigin::Policy);
  }
  if (!ifc) return;
  for (const auto& src : sources) src->routerFacts(*ifc, b);
  // Discovered configuration: servers from the first source that has any (unless the
  // policy gave its own); domains from that same source.
  for (const auto& src : sources) {
    DnsFacts facts;
    src->lookup(*ifc, holdsDefault, facts);
    if (facts.servers.empty()) continue;
    if (b.dns.empty()) b.dns = facts.servers;
    for (const auto& d : facts.domains) addDomain(d, src->origin());
    break;
  }
}

// Turns a PvD named by its RFC 8801 ID into the definition of what `mif discover`
// published for it: its interface (the first announcing router's that the definition's
// own `interface`, if any, allows), its prefixes as `source` (two PvDs on one link are told
// apart by them), its DNS servers and domains, unless the definition gives its own. False
// when nothing of that ID is published (an ad hoc name then stays an interface name).
bool resolveExplicit(policy::PvdDef& def, const std::vector<PublishedPvd>& published) {
  auto p = std::find_if(published.begin(), published.end(),
                        [&](const PublishedPvd& x) { return x.id == def.explicitId; });
  if (p == published.end()) return false;
  std::string ifname;
  auto consider = [&](const std::string& n) {
    // An ad hoc name is not a constraint: it is the interface to fall back to.
    if (ifname.empty() && (def.interfaceGlob.empty() || def.adHoc || nameMatches(def, n)))
      ifname = n;
  };
  for (const auto& r : p->routers) consider(r.ifname);
  for (const auto& x : p->prefixes) consider(x.ifname);
  if (ifname.empty()) return false;
  def.interfaceGlob = ifname;
  def.adHoc = def.adHoc && def.name == ifname;  // bound by exact name either way
  if (def.source.empty())
    for (const auto& x : p->prefixes)
      if (x.ifname == ifname) def.source.push_back(x.prefix);
  if (def.dns.empty())
    for (const auto& x : p->dns)
      if (x.ifname == ifname) def.dns.push_back(x.addr);
  for (const auto& x : p->domains)
    if (x.ifname == ifname &&
        std::find(def.domains.begin(), def.domains.end(), x.name) == def.domains.end())
      def.domains.push_back(x.name);
  return true;
}

}  // namespace

void bindPvds(const policy::Policy& policy, const std::vector<std::unique_ptr<DnsSource>>& sources,
              Snapshot& s) {
  // PvDs named by an RFC 8801 ID are bound to what `mif discover` published, read once
  // per snapshot and only when the policy names one.
  std::vector<policy::PvdDef> resolved;
  std::vector<PublishedPvd> published;
  std::vector<bool> isExplicit(policy.pvds().size(), false), found(policy.pvds().size(), false);
  if (std::any_of(policy.pvds().begin(), policy.pvds().end(),
                  [](const policy::PvdDef& d) { return !d.explicitId.empty(); })) {
    published = readPublishedPvds();
    resolved = policy.pvds();
    for (size_t id = 0; id < resolved.size(); ++id) {
      if (resolved[id].explicitId.empty()) continue;
      isExplicit[id] = true;
      found[id] = resolveExplicit(resolved[id], published);
    }
  }
  const auto& defs = resolved.empty() ? policy.pvds() : resolved;
  s.pvds.clear();
  s.states.assign(defs.size(), policy::PvdState{});
  std::map<int, std::vector<size_t>> claims;  // ifindex -> PvDs bound there
  int defaultIf = preferredDefaultIfindex(s);

  for (size_t id = 0; id < defs.size(); ++id) {
    const auto& def = defs[id];
    BoundPvd b;
    b.id = static_cast<policy::PvdId>(id);
    std::vector<const Interface*> matches;
    for (const auto& i : s.interfaces)  // index order: the first match wins
      if (nameMatches(def, i.name)) matches.push_back(&i);
    if (isExplicit[id] && !found[id] && (def.interfaceGlob.empty() || matches.empty())) {
      matches.clear();
      b.warnings.push_back(def.name + ": no explicit PvD " + def.explicitId +
                           " published (is mif discover running? " + publishedPvdDir() + ")");
    } else if (matches.empty()) {
      b.ifname = hasGlobChars(def.interfaceGlob) && !def.adHoc ? "" : def.interfaceGlob;
      b.warnings.push_back(def.name + ": no interface matches " + def.interfaceGlob);
    } else {
      const Interface& ifc = *matches.front();
      if (matches.size() > 1) {
        std::string names;
        for (auto* m : matches) names += (names.empty() ? "" : ", ") + m->name;
        b.warnings.push_back(def.name + ": " + def.interfaceGlob + " matches " + names +
                             "; using " + ifc.name + " (lowest index) — narrow the pattern");
      }
      b.ifindex = ifc.index;
      b.ifname = ifc.name;
      claims[ifc.index].push_back(id);
      bindAddresses(def, ifc, b);
      linkWarnings(def, ifc, b);
    }
    const Interface* ifc = b.ifindex ? s.interfaceByIndex(b.ifindex) : nullptr;
    addDns(policy, def, sources, ifc, ifc && ifc->index == defaultIf, b);
    if (found[id]) {
      // What the explicit PvD's router announced, not the policy's: say so.
      const auto& own = policy.pvds()[id];
      for (auto& d : b.dns)
        if (own.dns.empty() && d.origin == DnsOrigin::Policy)
          d.origin = DnsOrigin::RouterAdvertisement;
      for (size_t k = 0; k < b.domains.size(); ++k)
        if (std::find(own.domains.begin(), own.domains.end(), b.domains[k]) == own.domains.end())
          b.domainOrigins[k] = DnsOrigin::RouterAdvertisement;
      auto p = std::find_if(published.begin(), published.end(),
                            [&](const PublishedPvd& x) { return x.id == def.explicitId; });
      const int64_t bootNow = bootSeconds();
      const auto now = RaClock::now();
      for (const auto& x : p->pref64) {
        if (x.ifname != def.interfaceGlob) continue;
        auto expires = x.expires == kForever ? RaClock::time_point::max()
                                             : now + std::chrono::seconds(x.expires - bootNow);
        b.pref64.push_back({x.prefix, x.router, expires});
      }
    }
    if (ifc) {
      // The routers that announced the interface left and nothing else routes IPv6 there:
      // a pinned socket would only reach on-link hosts (neighbour solicitations for
      // everything else), so the PvD is not usable for IPv6 (RFC 6418 4.3: a PvD that
      // went away). Strict programs pinned to it stop sending.
      if (b.routerLeft && b.state.v6 && !reachesBeyondLink(s, def, ifc->index, Family::V6)) {
        b.state.v6 = false;
        b.warnings.push_back(def.name + ": the router of " + ifc->name +
                             " left (router lifetime 0) — no IPv6 through it");
      }
      for (Family f : {Family::V4, Family::V6}) {
        if (b.state.usable(f) && !reachesBeyondLink(s, def, ifc->index, f))
          b.warnings.push_back(def.name + ": no " + familyName(f) + " route through " +
                               ifc->name + " — pinned sockets reach only on-link hosts");
      }
    }
    if (b.state.anyUsable() && b.dns.empty())
      b.warnings.push_back(def.name +
                           ": no DNS servers known — names resolve through the "
                           "system resolver; add `dns = [...]` to [pvd." +
                           def.name + "]");
    s.states[id] = b.state;
    s.pvds.push_back(std::move(b));
  }

  // RFC 6418 4.5: one interface may serve several PvDs, but only `source` says which of
  // its addresses is whose; without it both PvDs would claim every address.
  for (const auto& [ifindex, ids] : claims) {
    if (ids.size() < 2) continue;
    bool split =
        std::all_of(ids.begin(), ids.end(), [&](size_t id) { return !defs[id].source.empty(); });
    if (split) continue;
    std::string names;
    for (size_t id : ids) names += (names.empty() ? "" : ", ") + defs[id].name;
    std::string msg = (ids.size() == 2 ? std::string("two") : std::to_string(ids.size())) +
                      " PvDs claim interface " + s.interfaceByIndex(ifindex)->name + " (" + names +
                      ") — give each a `source` to split its addresses";
    s.warnings.push_back(msg);
    for (size_t id : ids) s.pvds[id].warnings.push_back(defs[id].name + ": " + msg);
  }
}

std::unique_ptr<Snapshot> buildSnapshot(const policy::Policy& policy,
                                        const std::vector<std::unique_ptr<DnsSource>>& sources,
                                        uint64_t generation, RaStore* ra) {
  auto s = std::make_unique<Snapshot>();
  s->generation = generation;
  if (!dumpKernel(*s, s->error)) {
    s->interfaces.clear();
    s->routes.clear();
  } else if (ra) {
    ra->routesSeen(s->routes);
  }
  bindPvds(policy, sources, *s);
  return s;
}

}  // namespace mif::view::detail
