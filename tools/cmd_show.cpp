// `mif show [--json]`: the live PvDs and the interfaces outside them, and the explicit
// PvDs (RFC 8801) that `mif discover` published.
//
// Longer than ~400 lines because each field shown is one row of a table here, with the
// two renderers that walk the tables beside them: splitting the tables from the
// renderers would only scatter one format over two files.
//
// Every field is described once (a key, a label and a function that reads it from the
// snapshot) in the tables below; the text and the JSON renderers walk the same tables, so
// the two outputs cannot disagree about what is shown.
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "mif/policy/loader.h"
#include "mif/policy/policy.h"
#include "mif/view/captive.h"
#include "mif/view/live_view.h"
#include "mif/view/probe_results.h"
#include "mif/view/published_pvds.h"
#include "mif/view/ra_state.h"
#include "running_probes.h"

namespace mif::cmd {
namespace {

using view::BoundPvd;
using view::Interface;
using view::Snapshot;

// A shown value. Objects are lists of (key, value) pairs, printed by text as one line:
// the first value, then "key value" for the others, as ip(8) prints an address.
struct Value {
  enum class Kind { Null, Str, Num, Bool, StrList, ObjList, Lifetime, Obj } kind = Kind::Null;
  std::string str;
  long long num = 0;
  bool flag = false;
  std::vector<std::string> list;
  std::vector<std::vector<std::pair<const char*, Value>>> objs;

  Value() = default;
  explicit Value(Kind k, std::string s = {}, long long n = 0, bool f = false,
                 std::vector<std::string> l = {})
      : kind(k), str(std::move(s)), num(n), flag(f), list(std::move(l)) {}

  static Value s(std::string v) { return Value(Kind::Str, std::move(v)); }
  static Value n(long long v) { return Value(Kind::Num, {}, v); }
  // Seconds; JSON keeps the kernel's 4294967295 for "forever" (as `ip -j` does).
  static Value life(uint32_t v) { return Value(Kind::Lifetime, {}, v); }
  static Value b(bool v) { return Value(Kind::Bool, {}, 0, v); }
  static Value strs(std::vector<std::string> v) {
    return Value(Kind::StrList, {}, 0, false, std::move(v));
  }
  bool empty() const {
    return kind == Kind::Null || (kind == Kind::Str && str.empty()) ||
           (kind == Kind::StrList && list.empty()) ||
           ((kind == Kind::ObjList || kind == Kind::Obj) && objs.empty());
  }
};
using Obj = std::vector<std::pair<const char*, Value>>;

template <class T>
struct Field {
  const char* key;    // JSON key
  const char* label;  // text label
  Value (*get)(const T&, const Snapshot&);
};

// Rows shown: a PvD (with its interface, if bound) or an interface outside every PvD.
struct Row {
  const policy::PvdDef* def = nullptr;
  const BoundPvd* pvd = nullptr;
  const Interface* ifc = nullptr;
  // What the probers of running programs published (mif/view/probe_results.h).
  const std::vector<view::ProbeFile>* probes = nullptr;
};

std::string linkState(const Interface* i) {
  if (!i) return "absent";
  if (!i->adminUp) return "down";
  if (!i->carrier) return "no-carrier";
  switch (i->operState) {
    case IF_OPER_UP:
    case IF_OPER_UNKNOWN:
      return "up";
    case IF_OPER_DORMANT:
      return "dormant";
    case IF_OPER_LOWERLAYERDOWN:
      return "lower-layer-down";
    case IF_OPER_TESTING:
      return "testing";
    case IF_OPER_NOTPRESENT:
      return "not-present";
    default:
      return "down";
  }
}

std::string scopeName(uint8_t s) {
  switch (s) {
    case RT_SCOPE_UNIVERSE:
      return "global";
    case RT_SCOPE_SITE:
      return "site";
    case RT_SCOPE_LINK:
      return "link";
    case RT_SCOPE_HOST:
      return "host";
    default:
      return std::to_string(s);
  }
}

std::string tableName(uint32_t t) {
  switch (t) {
    case RT_TABLE_MAIN:
      return "main";
    case RT_TABLE_LOCAL:
      return "local";
    case RT_TABLE_DEFAULT:
      return "default";
    default:
      return std::to_string(t);
  }
}

Value addresses(const Interface* i, const BoundPvd* p) {
  Value v(Value::Kind::ObjList);
  if (!i) return v;
  for (const auto& a : i->addresses) {
    // A PvD shows only the addresses that are its own (`source`).
    if (p && std::find(p->addresses.begin(), p->addresses.end(), a.addr) == p->addresses.end())
      continue;
    std::vector<std::string> flags;
    if (a.tentative()) flags.push_back("tentative");
    if (a.flags & IFA_F_DADFAILED) flags.push_back("dadfailed");
    if (a.deprecated()) flags.push_back("deprecated");
    if (a.temporary()) flags.push_back("temporary");
    v.objs.push_back(
        Obj{{"address", Value::s(a.addr.toString() + "/" + std::to_string(a.prefixLength))},
            {"scope", Value::s(scopeName(a.scope))},
            {"flags", Value::strs(flags)},
            {"usable", Value::b(a.usable())},
            {"preferred_lifetime", Value::life(a.preferredLifetime)},
            {"valid_lifetime", Value::life(a.validLifetime)}});
  }
  return v;
}

// Routes with a next hop through the interface, in every table.
Value gateways(const Interface* i, const Snapshot& s) {
  Value v(Value::Kind::ObjList);
  if (!i) return v;
  for (const auto& r : s.routes) {
    if (r.ifindex != i->index || !r.hasGateway) continue;
    v.objs.push_back(Obj{{"gateway", Value::s(r.gateway.toString())},
                         {"dst", Value::s(r.isDefault() ? "default" : r.dst.toString())},
                         {"from", r.hasSource ? Value::s(r.source.toString()) : Value{}},
                         {"table", Value::s(tableName(r.table))},
                         {"metric", Value::n(r.metric)}});
  }
  return v;
}

// Seconds left of a router advertisement fact (4294967295: infinite, as the kernel says).
Value remaining(view::RaClock::time_point expires) {
  if (expires == view::RaClock::time_point::max()) return Value::life(0xffffffffu);
  auto left = std::chrono::duration_cast<std::chrono::seconds>(expires - view::RaClock::now());
  return Value::life(static_cast<uint32_t>(std::max<long long>(0, left.count())));
}

// Seconds since a router advertisement fact was heard (by this process or, recorded under
// /run/mif, by an earlier one).
Value age(view::RaClock::time_point t) {
  auto since = std::chrono::duration_cast<std::chrono::seconds>(view::RaClock::now() - t);
  return Value::life(static_cast<uint32_t>(std::max<long long>(0, since.count())));
}

Value source(const BoundPvd* p, bool v6) {
  if (!p || !(v6 ? p->hasSource6 : p->hasSource4)) return {};
  return Value::s((v6 ? p->source6 : p->source4).toString());
}

// What the probers of running programs published of PvD `name` (its `probe` key,
// docs/policy.md): one entry per program under mif run; what the program's own connects
// taught it stays inside it. `mif probe` prints the same (runningProbesText/Json).
Value probesOf(const std::vector<view::ProbeFile>& files, std::string_view name) {
  Value v(Value::Kind::ObjList);
  for (const view::ProbeFile& f : files)
    if (const view::ProbeFile::Line* l = f.of(name))
      v.objs.push_back(Obj{{"verdict", Value::s(l->verdict == view::ProbeVerdict::None
                                                     ? "none"
                                                     : view::probeVerdictWord(l->verdict))},
                           {"portal", l->portal == view::PortalVerdict::None
                                          ? Value{}
                                          : Value::s(view::portalVerdictWord(l->portal))},
                           {"age", Value::life(static_cast<uint32_t>(f.ageMs / 1000))},
                           {"pid", Value::n(f.pid)},
                           {"program", Value::s(f.program)}});
  return v;
}

const Field<Row> kRowFields[] = {
    {"name", "",
     [](const Row& r, const Snapshot&) { return Value::s(r.def ? r.def->name : r.ifc->name); }},
    {"ad_hoc", "ad hoc",
     [](const Row& r, const Snapshot&) { return r.def ? Value::b(r.def->adHoc) : Value{}; }},
    {"match", "matches",
     [](const Row& r, const Snapshot&) {
       return r.def ? Value::s(r.def->interfaceGlob) : Value{};
     }},
    {"interface", "interface",
     [](const Row& r, const Snapshot&) { return r.ifc ? Value::s(r.ifc->name) : Value{}; }},
    {"ifindex", "index",
     [](const Row& r, const Snapshot&) { return r.ifc ? Value::n(r.ifc->index) : Value{}; }},
    {"kind", "kind",
     [](const Row& r, const Snapshot&) { return r.ifc ? Value::s(r.ifc->kind) : Value{}; }},
    {"state", "state", [](const Row& r, const Snapshot&) { return Value::s(linkState(r.ifc)); }},
    {"carrier", "carrier",
     [](const Row& r, const Snapshot&) { return r.ifc ? Value::b(r.ifc->carrier) : Value{}; }},
    {"usable_ipv4", "usable IPv4",
     [](const Row& r, const Snapshot&) { return r.pvd ? Value::b(r.pvd->state.v4) : Value{}; }},
    {"usable_ipv6", "usable IPv6",
     [](const Row& r, const Snapshot&) { return r.pvd ? Value::b(r.pvd->state.v6) : Value{}; }},
    {"source_ipv4", "source IPv4",
     [](const Row& r, const Snapshot&) { return source(r.pvd, false); }},
    {"source_ipv6", "source IPv6",
     [](const Row& r, const Snapshot&) { return source(r.pvd, true); }},
    {"addresses", "address", [](const Row& r, const Snapshot&) { return addresses(r.ifc, r.pvd); }},
    {"gateways", "gateway", [](const Row& r, const Snapshot& s) { return gateways(r.ifc, s); }},
    {"dns", "dns",
     [](const Row& r, const Snapshot&) {
       Value v(Value::Kind::ObjList);
       if (r.pvd)
         for (const auto& d : r.pvd->dns)
           v.objs.push_back(Obj{{"address", Value::s(d.addr.toString())},
                                {"port", Value::n(d.port)},
                                {"origin", Value::s(view::dnsOriginName(d.origin))}});
       return v;
     }},
    {"domains", "domain",
     [](const Row& r, const Snapshot&) {
       Value v(Value::Kind::ObjList);
       if (r.pvd)
         for (size_t k = 0; k < r.pvd->domains.size(); ++k)
           v.objs.push_back(
               Obj{{"domain", Value::s(r.pvd->domains[k])},
                   {"origin", Value::s(view::dnsOriginName(r.pvd->domainOrigins[k]))}});
       return v;
     }},
    {"pref64", "nat64",
     [](const Row& r, const Snapshot&) {
       Value v(Value::Kind::ObjList);
       if (r.pvd)
         for (const auto& p : r.pvd->pref64)
           v.objs.push_back(Obj{{"prefix", Value::s(p.prefix.toString())},
                                {"router", Value::s(p.router.toString())},
                                {"lifetime", remaining(p.expires)},
                                {"age", age(p.heard)}});
       return v;
     }},
    // A portal is captive until `mif probe` found it open (mif/view/ra_state.h).
    {"captive_portal", "portal",
     [](const Row& r, const Snapshot&) {
       Value v(Value::Kind::ObjList);
       if (r.pvd)
         for (const auto& c : r.pvd->captive)
           v.objs.push_back(Obj{{"uri", Value::s(c.uri)},
                                {"router", Value::s(c.router.toString())},
                                {"age", age(c.heard)},
                                {"state", Value::s(c.open ? "open" : "captive")},
                                {"checked", c.checked == view::RaClock::time_point{}
                                                ? Value{}
                                                : age(c.checked)}});
       return v;
     }},
    {"captive", "captive",
     [](const Row& r, const Snapshot&) {
       if (!r.pvd || r.pvd->captive.empty()) return Value{};
       return Value::b(std::any_of(r.pvd->captive.begin(), r.pvd->captive.end(),
                                   [](const view::CaptivePortal& c) { return !c.open; }));
     }},
    // What this process can know of the PvD's health (a running program's own connect
    // failures and DNS timeouts are known only inside it: mif run --trace): the link, and a
    // portal no probe found open, which makes the PvD failed for every destination but it.
    {"health", "health",
     [](const Row& r, const Snapshot&) {
       if (!r.pvd) return Value{};
       if (!r.pvd->state.present) return Value::s("failed (absent)");
       if (!r.pvd->state.v4 && !r.pvd->state.v6) return Value::s("failed (not usable)");
       if (view::closedPortal(*r.pvd) != nullptr)
         return Value::s("captive (usable for its portal only)");
       return Value::s("usable");
     }},
    // What a running program's prober found of the PvD (its `probe` key, docs/policy.md):
    // one entry per program under mif run, matched by the PvD's name; what the program's
    // own connects taught it stays inside it.
    {"probes", "probe",
     [](const Row& r, const Snapshot&) {
       return r.def && r.probes ? probesOf(*r.probes, r.def->name) : Value(Value::Kind::ObjList);
     }},
    {"warnings", "warning",
     [](const Row& r, const Snapshot&) {
       return r.pvd ? Value::strs(r.pvd->warnings) : Value::strs({});
     }},
};

// Seconds left until a published time (boot seconds; kForever: 4294967295, as above).
Value until(int64_t t) {
  if (t == view::kForever) return Value::life(0xffffffffu);
  return Value::life(static_cast<uint32_t>(std::clamp<int64_t>(t - view::bootSeconds(), 0,
                                                               0xfffffffe)));
}

using view::PublishedPvd;
// The item's router and interface, and the seconds it has left.
Obj item(const char* key, Value v, const view::PublishedOrigin& o) {
  return Obj{{key, std::move(v)},
             {"router", Value::s(o.router.toString())},
             {"interface", Value::s(o.ifname)},
             {"lifetime", until(o.expires)}};
}
template <class T, class F>
Value items(const std::vector<T>& v, F each) {
  Value out(Value::Kind::ObjList);
  for (const auto& x : v) out.objs.push_back(each(x));
  return out;
}

// An explicit PvD as `mif discover` published it (docs/discovery.md).
const Field<PublishedPvd> kExplicitFields[] = {
    {"id", "", [](const PublishedPvd& p, const Snapshot&) { return Value::s(p.id); }},
    {"sequence", "sequence",
     [](const PublishedPvd& p, const Snapshot&) { return Value::n(p.sequence); }},
    {"additional_information", "more info",
     [](const PublishedPvd& p, const Snapshot&) {
       return p.http ? Value::s("https://" + p.id + "/.well-known/pvd") : Value{};
     }},
    // What the additional information said (RFC 8801 section 4), when fetched and valid.
    {"info", "info",
     [](const PublishedPvd& p, const Snapshot&) {
       if (!p.info) return Value{};
       const PublishedPvd::Info& i = *p.info;
       std::vector<std::string> prefixes;
       for (const auto& x : i.prefixes) prefixes.push_back(x.toString());
       Value v(Value::Kind::Obj);
       v.objs.push_back(Obj{{"expires", Value::s(i.expiresUtc)},
                            {"lifetime", until(i.expires)},
                            {"name", Value::s(i.name)},
                            {"no_internet", Value::b(i.noInternet)},
                            {"metered", i.metered ? Value::b(*i.metered) : Value{}},
                            {"dns_zones", Value::strs(i.dnsZones)},
                            {"prefixes", Value::strs(prefixes)},
                            {"fetched_ago", Value::n(view::bootSeconds() - i.fetched)}});
       return v;
     }},
    {"legacy", "legacy",
     [](const PublishedPvd& p, const Snapshot&) { return Value::b(p.legacy); }},
    {"delay", "delay", [](const PublishedPvd& p, const Snapshot&) { return Value::n(p.delay); }},
    {"routers", "router",
     [](const PublishedPvd& p, const Snapshot&) {
       return items(p.routers, [](const PublishedPvd::Router& r) {
         Obj o = item("address", Value::s(r.router.toString()), r);
         o.erase(o.begin() + 1);  // the router is the item itself
         o.emplace_back("default_router_lifetime",
                        r.defaultUntil ? until(r.defaultUntil) : Value::life(0));
         o.emplace_back("heard_ago", Value::n(view::bootSeconds() - r.heard));
         return o;
       });
     }},
    {"prefixes", "prefix",
     [](const PublishedPvd& p, const Snapshot&) {
       return items(p.prefixes, [](const PublishedPvd::Prefix& x) {
         Obj o = item("prefix", Value::s(x.prefix.toString()), x);
         o.emplace_back("preferred_lifetime", until(x.preferred));
         o.emplace_back("autonomous", Value::b(x.autonomous));
         return o;
       });
     }},
    {"routes", "route",
     [](const PublishedPvd& p, const Snapshot&) {
       return items(p.routes, [](const PublishedPvd::Route& x) {
         Obj o = item("prefix", Value::s(x.prefix.toString()), x);
         o.emplace_back("preference", Value::s(x.preference > 0   ? "high"
                                               : x.preference < 0 ? "low"
                                                                  : "medium"));
         return o;
       });
     }},
    {"dns", "dns",
     [](const PublishedPvd& p, const Snapshot&) {
       return items(p.dns, [](const PublishedPvd::Server& x) {
         return item("address", Value::s(x.addr.toString()), x);
       });
     }},
    {"domains", "domain",
     [](const PublishedPvd& p, const Snapshot&) {
       return items(p.domains,
                    [](const PublishedPvd::Domain& x) { return item("domain", Value::s(x.name), x); });
     }},
    {"pref64", "nat64",
     [](const PublishedPvd& p, const Snapshot&) {
       return items(p.pref64, [](const PublishedPvd::Nat64& x) {
         return item("prefix", Value::s(x.prefix.toString()), x);
       });
     }},
    {"mtu", "mtu",
     [](const PublishedPvd& p, const Snapshot&) {
       return items(p.mtu, [](const PublishedPvd::Mtu& x) { return item("mtu", Value::n(x.mtu), x); });
     }},
    {"lifetime", "lifetime",
     [](const PublishedPvd& p, const Snapshot&) { return until(p.expires()); }},
};

// --- JSON -----------------------------------------------------------------------------
std::string jsonObj(const Obj& o);
std::string jsonList(const Value& v) {
  std::string list;
  json::StringSink sink(&list);
  json::Array<json::StringSink> a(sink);
  for (const auto& o : v.objs) a.raw(jsonObj(o));
  a.close();
  return list;
}
void member(cli::JsonObject& j, const char* key, const Value& v) {
  switch (v.kind) {
    case Value::Kind::Null:
      j.null(key);
      break;
    case Value::Kind::Str:
      j.str(key, v.str);
      break;
    case Value::Kind::Num:
    case Value::Kind::Lifetime:
      j.num(key, v.num);
      break;
    case Value::Kind::Bool:
      j.boolean(key, v.flag);
      break;
    case Value::Kind::StrList:
      j.strings(key, v.list);
      break;
    case Value::Kind::ObjList:
      j.raw(key, jsonList(v));
      break;
    case Value::Kind::Obj:
      if (v.objs.empty())
        j.null(key);
      else
        j.raw(key, jsonObj(v.objs.front()));
      break;
  }
}
std::string jsonObj(const Obj& o) {
  std::string out;
  json::StringSink sink(&out);
  cli::JsonObject j(sink);
  for (const auto& [key, value] : o) member(j, key, value);
  j.close();
  return out;
}

// --- text -----------------------------------------------------------------------------
std::string text(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Null:
      return "";
    case Value::Kind::Str:
      return v.str;
    case Value::Kind::Num:
      return std::to_string(v.num);
    case Value::Kind::Lifetime:
      return v.num == 0xffffffffLL ? "forever" : std::to_string(v.num) + "s";
    case Value::Kind::Bool:
      return v.flag ? "yes" : "no";
    case Value::Kind::StrList: {
      std::string s;
      for (const auto& e : v.list) s += (s.empty() ? "" : ",") + e;
      return s;
    }
    case Value::Kind::ObjList:
    case Value::Kind::Obj:
      return "";
  }
  return "";
}
std::string textObj(const Obj& o) {
  std::string s = text(o.front().second);
  for (size_t k = 1; k < o.size(); ++k) {
    if (o[k].second.empty()) continue;
    s += std::string(" ") + o[k].first + " " + text(o[k].second);
  }
  return s;
}

template <class T, size_t N>
void printFields(const char* kind, const Field<T> (&fields)[N], const T& row, const Snapshot& s) {
  bool first = true;
  for (const auto& f : fields) {
    Value v = f.get(row, s);
    if (first) {  // the name
      std::printf("%s %s\n", kind, text(v).c_str());
      first = false;
      continue;
    }
    if (v.empty()) continue;
    if (v.kind == Value::Kind::ObjList || v.kind == Value::Kind::Obj) {
      for (const auto& o : v.objs) std::printf("    %-12s %s\n", f.label, textObj(o).c_str());
    } else if (v.kind == Value::Kind::StrList) {
      for (const auto& e : v.list) std::printf("    %-12s %s\n", f.label, e.c_str());
    } else {
      std::printf("    %-12s %s\n", f.label, text(v).c_str());
    }
  }
}

void printText(const std::vector<cli::LayerInForce>& layers, const std::vector<Row>& rows,
               const std::vector<PublishedPvd>& explicitPvds, const Snapshot& s) {
  if (layers.empty()) std::printf("policy none (no system, user or command-line policy file)\n");
  for (const auto& l : layers) std::printf("policy %s\n", cli::layerText(l).c_str());
  for (const auto& w : s.warnings) std::printf("warning: %s\n", w.c_str());
  for (const auto& row : rows) printFields(row.def ? "pvd" : "interface", kRowFields, row, s);
  for (const auto& p : explicitPvds) printFields("explicit-pvd", kExplicitFields, p, s);
}

void printJson(const std::vector<cli::LayerInForce>& layers, const std::vector<Row>& rows,
               const std::vector<PublishedPvd>& explicitPvds, const Snapshot& s) {
  std::string out;
  json::StringSink sink(&out);
  cli::JsonObject j(sink);
  j.unum("generation", s.generation).raw("policy_layers", cli::layersJson(layers));
  cli::strOrNull(j, "error", s.error).strings("warnings", s.warnings);
  for (bool pvds : {true, false}) {
    std::string list;
    json::StringSink listSink(&list);
    json::Array<json::StringSink> a(listSink);
    for (const auto& row : rows) {
      if ((row.def != nullptr) != pvds) continue;
      Obj o;
      for (const auto& f : kRowFields) o.emplace_back(f.key, f.get(row, s));
      a.raw(jsonObj(o));
    }
    a.close();
    j.raw(pvds ? "pvds" : "interfaces", list);
  }
  std::string list;
  json::StringSink listSink(&list);
  json::Array<json::StringSink> a(listSink);
  for (const auto& p : explicitPvds) {
    Obj o;
    for (const auto& f : kExplicitFields) o.emplace_back(f.key, f.get(p, s));
    a.raw(jsonObj(o));
  }
  a.close();
  j.raw("explicit_pvds", list);
  j.close();
  out += '\n';
  std::fputs(out.c_str(), stdout);
}

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: mif show [--json] [--policy FILE] [--pvd NAME]... [--dns ADDR]...\n\n"
               "Shows every PvD of the policy and every interface outside them: state,\n"
               "addresses, gateways, DNS servers and domains with where each came from,\n"
               "NAT64 prefixes (PREF64) and captive portals announced by routers, and\n"
               "warnings about what will not work. Where a router announced itself and mif\n"
               "may (CAP_NET_RAW), it solicits the routers and waits up to 0.6 s for them.\n"
               "What it heard is kept in $MIF_RUN_DIR/ra (default /run/mif/ra; when it may\n"
               "write there) for programs started later; each fact shows its age. A PvD with\n"
               "a captive portal is shown captive until 'mif probe' finds the portal open.\n"
               "For each program running under 'mif run' whose policy probes a PvD (its\n"
               "'probe' key), the prober's last verdict on it ('probe': ok, poor, down or\n"
               "none; its portal open or captive; its age; the program's PID and name), as\n"
               "published in $MIF_RUN_DIR/probe (default /run/mif/probe).\n"
               "Then the explicit PvDs (RFC 8801) that 'mif discover' heard and published in\n"
               "$MIF_RUN_DIR/pvds (default /run/mif/pvds): identity, routers, prefixes,\n"
               "routes, DNS, domains, NAT64 prefixes, MTU, each with the seconds it has left.\n\n"
               "  --json         machine-readable output\n"
               "  --policy FILE  add FILE to the system and user policies\n"
               "                 (/etc/mif/policy.toml, $XDG_CONFIG_HOME/mif/policy.toml);\n"
               "                 inside 'mif lab exec NAME', the lab's policy is used\n"
               "                 unless --policy is given (MIF_LAB_POLICY)\n"
               "  --pvd NAME     also show NAME: a policy PvD, or an interface (ad hoc PvD);\n"
               "                 repeat or separate with commas\n"
               "  --dns ADDR     DNS servers of ad hoc PvDs (repeated or comma-separated)\n"
               "  -h, --help     this help\n\n"
               "The first lines name the policy layers in force (system, user, command\n"
               "line) and where the command-line layer came from.\n");
}

}  // namespace

std::vector<std::string> runningProbesText(const std::vector<view::ProbeFile>& files,
                                           std::string_view pvd) {
  std::vector<std::string> out;
  for (const Obj& o : probesOf(files, pvd).objs) out.push_back(textObj(o));
  return out;
}

std::string runningProbesJson(const std::vector<view::ProbeFile>& files, std::string_view pvd) {
  return jsonList(probesOf(files, pvd));
}

int show(int argc, char** argv) {
  bool asJson = false;
  cli::PvdSelection sel;
  cli::Args args("show", argc, argv);
  std::string v;
  while (args.next()) {
    const std::string& a = args.arg();
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return cli::kExitOk;
    } else if (a == "--json" || a == "-j") {
      asJson = true;
    } else if (cli::pvdSelectionOption(args, &sel)) {
    } else {
      cli::error("show: " + a, "unknown argument (try 'mif show --help')");
      return cli::kExitUsage;
    }
  }

  std::optional<policy::Policy> compiled = cli::compileLayers("show", sel.policyFiles, sel.pin);
  if (!compiled) return cli::kExitFailure;

  // Routers are asked what the kernel does not keep (NAT64 prefix, captive portal, RDNSS);
  // routers answer within 0.5 s (RFC 4861 MAX_RA_DELAY_TIME).
  // What it hears is recorded for programs started later (mif/view/ra_state.h).
  auto snap = view::LiveView::readSoliciting(*compiled, std::chrono::milliseconds(600),
                                             view::raStatePath());
  if (!snap->error.empty()) {
    std::fprintf(stderr, "%s\n", snap->error.c_str());
    return cli::kExitFailure;
  }
  // The verdicts that running programs' probers published.
  const std::vector<view::ProbeFile> probes = view::runningProbes(view::probeDir());
  std::vector<Row> rows;
  std::vector<bool> inPvd(snap->interfaces.size(), false);
  for (const auto& p : snap->pvds) {
    Row r{&compiled->pvds()[p.id], &p, snap->interfaceByIndex(p.ifindex), &probes};
    if (r.ifc) inPvd[static_cast<size_t>(r.ifc - snap->interfaces.data())] = true;
    rows.push_back(r);
  }
  for (size_t k = 0; k < snap->interfaces.size(); ++k)
    if (!inPvd[k]) rows.push_back(Row{nullptr, nullptr, &snap->interfaces[k]});

  // Explicit PvDs (RFC 8801) as `mif discover` published them; none when it does not run.
  std::vector<std::string> problems;
  auto explicitPvds = view::readPublishedPvds({}, 0, &problems);
  for (auto& p : problems) snap->warnings.push_back("not an explicit PvD file: " + p);
  const std::vector<cli::LayerInForce> layers = cli::layersInForce(sel.policyFiles);
  if (asJson)
    printJson(layers, rows, explicitPvds, *snap);
  else
    printText(layers, rows, explicitPvds, *snap);
  return cli::kExitOk;
}

}  // namespace mif::cmd
