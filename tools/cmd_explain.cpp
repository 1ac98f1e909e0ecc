// `mif explain [--policy FILE] [--pvd NAME]... [--strict] [--app NAME] [--udp] [--dscp D]
// [--from-dns PVD] [--json] TARGET`: which PvD a name or an address would use, and why — the precedence step, the
// rule (FILE:LINE) that decided, and every match that lost (RFC 6418 4.3: conflicts
// between layers and actors made visible).
//
// Longer than ~400 lines because the text and the JSON writer of one explanation, and the
// health and order they both print (live view, recorded portals, a running program's probe
// verdicts), are kept beside each other so the two formats cannot drift apart.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "mif/policy/layers.h"
#include "mif/policy/loader.h"
#include "mif/policy/policy.h"
#include "mif/view/captive.h"
#include "mif/view/live_view.h"
#include "mif/view/probe_results.h"

namespace mif::cmd {
namespace {

using policy::IpAddress;
using policy::PvdId;

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: mif explain [--policy FILE] [--pvd NAME]... [--dns ADDR]... [--strict]\n"
               "                   [--app NAME] [--udp] [--dscp DSCP] [--from-dns PVD] [--json]\n"
               "                   [--assume-usable] [--probes FILE]\n"
               "                   [--system-policy FILE] [--user-policy FILE] TARGET\n\n"
               "Explains which PvD a name or an address would use, and why. TARGET is\n"
               "HOST[:PORT], an address, or [V6]:PORT.\n\n"
               "  --policy FILE         the command-line layer (as with `mif run`); inside\n"
               "                        'mif lab exec NAME' the lab's policy is used unless\n"
               "                        --policy is given (MIF_LAB_POLICY)\n"
               "  --pvd NAME            pin to a PvD, or to an interface (ad hoc PvD); repeat\n"
               "                        or separate with commas for an ordered preference\n"
               "  --dns ADDR            DNS servers of ad hoc PvDs\n"
               "  --strict              a strict pin (nothing through any other PvD)\n"
               "  --app NAME            the application's executable name\n"
               "  --udp                 a UDP send instead of a TCP connect\n"
               "  --dscp DSCP           the DSCP the program set on its socket (0-63 or a\n"
               "                        class name: EF, AF41, CS6...)\n"
               "  --from-dns PVD        the address TARGET was an answer of PVD's DNS (a\n"
               "                        destination mif's getaddrinfo returned): decided by\n"
               "                        its DNS tag, with the failover order after that PvD\n"
               "  --json                machine-readable output\n"
               "  --assume-usable       treat every PvD as up on both families instead of\n"
               "                        reading the live interfaces\n"
               "  --probes FILE         what a running program's prober found (its MIF_PROBES,\n"
               "                        the default when set; 'mif show' lists them): each\n"
               "                        probed PvD's verdict in its health, the order as the\n"
               "                        program tries it; \"\" for none\n"
               "  --system-policy FILE  the system layer (default %s; \"\" for none)\n"
               "  --user-policy FILE    the user layer (default $XDG_CONFIG_HOME/mif/policy.toml;\n"
               "                        \"\" for none)\n\n"
               "For a name, two decisions are shown: where it is resolved, and where a\n"
               "connection to it goes when only its name is known (rules on dst and the\n"
               "PvD prefixes then apply to the addresses it resolves to). The first lines\n"
               "name the policy layers in force.\n",
               policy::systemPolicyPath().c_str());
}

struct Target {
  std::string name;
  bool hasAddress = false;
  IpAddress address;
  uint16_t port = 0;
};

// HOST[:PORT], an address, or [V6]:PORT. "" on success, else why not.
std::string parseTarget(std::string_view t, Target* out) {
  std::string_view host = t, port;
  if (!t.empty() && t[0] == '[') {
    size_t close = t.find(']');
    if (close == std::string_view::npos) return "'[' without ']'";
    host = t.substr(1, close - 1);
    std::string_view rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return "expected ':PORT' after ']'";
      port = rest.substr(1);
      if (port.empty()) return "empty port after ':'";
    }
    auto a = IpAddress::parse(host);
    if (!a || a->family != policy::Family::V6) return "'" + std::string(host) + "' is not an IPv6 address";
  } else if (std::count(t.begin(), t.end(), ':') == 1) {
    size_t colon = t.find(':');
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
    if (port.empty()) return "empty port after ':'";
  }
  long portNumber = 0;
  if (!port.empty() && !cli::parseNumber(port, 1, 65535, &portNumber))
    return "port '" + std::string(port) + "' is not 1-65535";
  out->port = static_cast<uint16_t>(portNumber);
  if (host.empty()) return "no host";
  if (auto a = IpAddress::parse(host)) {
    out->hasAddress = true;
    out->address = a->unmapped();
    return {};
  }
  if (host.find(':') != std::string_view::npos) return "'" + std::string(host) + "' is not an IPv6 address";
  for (char c : host)
    if (c <= ' ' || c == '/' || static_cast<unsigned char>(c) >= 0x7f)
      return "'" + std::string(host) + "' is neither an address nor a host name";
  // An empty label ("a..b", ".a"; a final dot is a name's root): no resolver looks it up.
  if (host.front() == '.' || host.find("..") != std::string_view::npos)
    return "'" + std::string(host) + "' has an empty label: not a host name";
  out->name = std::string(host);
  return {};
}

// What explain needs to know about one PvD from the live view.
struct PvdFacts {
  std::string name;
  std::string interface;  // bound interface name, or the glob when absent
  bool present = false, v4 = false, v6 = false;
  std::string source4, source6;
  std::vector<std::string> dns;
  std::string portal;  // a portal its router announced that no probe found open
  // What a running program's prober found of it (--probes), or null; the file's age.
  const view::ProbeFile::Line* probe = nullptr;
  int64_t probeAgeMs = 0;
};

class Explainer {
 public:
  Explainer(const policy::Policy& p, bool assumeUsable, const view::ProbeFile* probes)
      : policy_(p), probes_(probes) {
    if (assumeUsable) {
      states_.assign(p.pvds().size(), policy::PvdState{true, true, true});
    } else {
      // One full dump of the interfaces, addresses and routes, bound to the policy's PvDs.
      snapshot_ = view::LiveView::readOnce(p);
      if (snapshot_ && !snapshot_->error.empty())
        cli::error("explain", "cannot read the interfaces (" + snapshot_->error +
                                  "); every PvD is treated as absent");
      if (snapshot_) states_ = snapshot_->states;
    }
  }

  policy::View view() const { return policy::View{states_}; }

  // Captive for this destination (view/captive.h): the library tries the PvD last. A
  // probe's portal verdict overrides the view's record, as in the library (captive.h).
  bool captiveFor(PvdId id, const policy::Query& q) const {
    const view::BoundPvd* b =
        snapshot_ && id < snapshot_->pvds.size() ? &snapshot_->pvds[id] : nullptr;
    const IpAddress dst = q.hasAddress ? q.address : IpAddress{};
    if (const view::ProbeFile::Line* l = probeOf(id)) {
      if (l->portal == view::PortalVerdict::Open) return false;
      if (l->portal == view::PortalVerdict::Captive) return b == nullptr || !view::toPortal(*b, q.name, dst);
    }
    return b != nullptr && view::captiveFor(*b, q.name, dst);
  }

  // The prober's line of a PvD that has `probe`, or null.
  const view::ProbeFile::Line* probeOf(PvdId id) const {
    if (probes_ == nullptr || !policy_.pvds()[id].probe) return nullptr;
    return probes_->of(policy_.pvds()[id].name);
  }

  PvdFacts facts(PvdId id) const {
    const policy::PvdDef& def = policy_.pvds()[id];
    PvdFacts f;
    f.name = def.name;
    f.interface = def.interfaceGlob;
    policy::PvdState s = id < states_.size() ? states_[id] : policy::PvdState{};
    f.present = s.present;
    f.v4 = s.v4;
    f.v6 = s.v6;
    const view::BoundPvd* b =
        snapshot_ && id < snapshot_->pvds.size() ? &snapshot_->pvds[id] : nullptr;
    if (b && !b->ifname.empty()) f.interface = b->ifname;
    if (b)
      if (const view::CaptivePortal* c = view::closedPortal(*b)) f.portal = c->uri;
    f.probe = probeOf(id);
    if (f.probe != nullptr) {
      f.probeAgeMs = probes_->ageMs;
      if (f.probe->portal == view::PortalVerdict::Open) f.portal.clear();
      if (f.probe->portal == view::PortalVerdict::Captive)
        f.portal = b != nullptr && !b->captive.empty() ? b->captive.front().uri : "(announced)";
    }
    if (b && b->hasSource4) f.source4 = b->source4.toString();
    if (b && b->hasSource6) f.source6 = b->source6.toString();
    if (b && !b->dns.empty()) {
      for (const auto& d : b->dns) f.dns.push_back(d.addr.toString());
    } else {
      for (const auto& d : def.dns) f.dns.push_back(d.toString());
    }
    return f;
  }

 private:
  const policy::Policy& policy_;
  const view::ProbeFile* probes_;
  std::unique_ptr<view::Snapshot> snapshot_;
  std::vector<policy::PvdState> states_;
};

std::string stateText(const PvdFacts& f) {
  if (!f.present) return "absent (no interface matches '" + f.interface + "')";
  if (!f.v4 && !f.v6) return f.interface + ", not usable";
  return f.interface + (f.v4 && f.v6 ? ", IPv4 and IPv6" : f.v4 ? ", IPv4 only" : ", IPv6 only");
}

struct Asked {
  const char* what;  // "resolve", "connect", "send"
  policy::Query query;
};

std::string queryText(const Asked& a, const Target& t) {
  std::string s = a.what;
  s += " ";
  if (a.query.hasAddress) {
    std::string addr = a.query.address.toString();
    s += a.query.address.family == policy::Family::V6 && t.port ? "[" + addr + "]" : addr;
  } else {
    s += t.name;
  }
  if (a.query.port && a.query.kind != policy::Query::Kind::Resolve) s += ":" + std::to_string(a.query.port);
  if (a.query.kind != policy::Query::Kind::Resolve)
    s += a.query.proto == policy::Proto::Udp ? " (udp" : " (tcp";
  else
    s += " (";
  if (!a.query.app.empty()) s += std::string(a.query.kind != policy::Query::Kind::Resolve ? ", " : "") + "app " + std::string(a.query.app);
  if (a.query.dscp >= 0) s += ", dscp " + policy::dscpName(a.query.dscp);
  s += ")";
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, " ()") == 0) s.resize(s.size() - 3);
  return s;
}

// What this process can know of a PvD's health (docs/architecture.md, "Failover"): the
// live view's link state, the portals recorded under /run/mif/ra and, with --probes, what
// a running program's prober found (as the program's health takes it: probe_watch.cpp);
// not what the program's own connects and lookups have taught it.
std::string healthText(const PvdFacts& f, bool captive) {
  if (!f.present) return "failed (absent)";
  if (!f.v4 && !f.v6) return "failed (not usable)";
  const std::string ago =
      f.probe != nullptr ? ", " + std::to_string(f.probeAgeMs / 1000) + " s ago" : std::string();
  if (f.probe != nullptr && f.probe->verdict == view::ProbeVerdict::Down)
    return "failed (probe: nothing answered" + ago + ")";
  const bool byProbe = f.probe != nullptr && f.probe->portal == view::PortalVerdict::Captive;
  if (!f.portal.empty())
    return captive ? "failed for this destination (captive: portal " + f.portal +
                         (byProbe ? " found closed by the probe" + ago : " not found open") + ")"
                   : "usable for its portal (captive: " + f.portal + ")";
  if (f.probe != nullptr && f.probe->verdict == view::ProbeVerdict::Poor)
    return "degraded (probe: half or more lost" + ago + ")";
  if (f.probe != nullptr && f.probe->verdict == view::ProbeVerdict::Ok)
    return "usable (probe answered" + ago + ")";
  return "usable";
}

// The decision's list as the library tries it: a PvD its probe found down after the others
// (health), captive PvDs last, for lookups too (a
// hotspot's resolver answers every name with its portal, whose address its tag would then
// take back through it), except the PvD whose DNS gave the address when it decided first
// (--from-dns: the program's own connect goes to that address, through that PvD;
// keepTagFirst in the library).
std::vector<PvdId> triedOrder(const Explainer& ex, const Asked& a, const policy::Decision& d) {
  // Stable partitions, as the library's: by health first, then by the captive rule.
  std::vector<PvdId> bucket[4];  // [captive][down]
  const bool tagFirst = d.count > 0 && a.query.taggedPvd >= 0 && d.pvds[0] == a.query.taggedPvd;
  for (uint8_t i = 0; i < d.count; ++i) {
    const view::ProbeFile::Line* l = ex.probeOf(d.pvds[i]);
    const bool kept = tagFirst && i == 0;
    const bool down = !kept && l != nullptr && l->verdict == view::ProbeVerdict::Down;
    const bool captive = !kept && ex.captiveFor(d.pvds[i], a.query);
    bucket[(captive ? 2 : 0) + (down ? 1 : 0)].push_back(d.pvds[i]);
  }
  std::vector<PvdId> out;
  for (const auto& b : bucket) out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::string listedText(const std::vector<PvdId>& ids, const Explainer& ex) {
  std::string s;
  for (PvdId id : ids) s += (s.empty() ? "" : ", ") + ex.facts(id).name;
  return s;
}

void printText(const policy::Policy& p, const Explainer& ex, const Asked& a, const Target& t,
               const policy::Decision& d, const policy::Explanation& e) {
  std::printf("%s\n", queryText(a, t).c_str());
  if (d.unmanaged()) {
    std::printf("  result     unmanaged: %s; the socket is left to the kernel and\n"
                "             the name to the system resolver\n",
                e.matches.empty() ? "nothing matched" : "no match has a usable PvD");
  } else if (d.blocked()) {
    std::printf("  result     blocked: strict, and none of its PvDs is usable (connect/sendto fail\n"
                "             with ENETUNREACH, resolution with EAI_AGAIN)\n");
  } else {
    std::vector<PvdId> ids(d.pvds.begin(), d.pvds.begin() + d.count);
    std::printf("  result     %s%s\n", listedText(ids, ex).c_str(), d.strict ? " (strict)" : "");
    const std::vector<PvdId> tried = triedOrder(ex, a, d);
    bool probedDown = false;
    for (PvdId id : ids)
      if (const view::ProbeFile::Line* l = ex.probeOf(id)) probedDown |= l->verdict == view::ProbeVerdict::Down;
    if (tried != ids)
      std::printf("  order      %s (as tried: %s last)\n", listedText(tried, ex).c_str(),
                  probedDown ? "a PvD its probe found down or a captive PvD" : "a captive PvD");
  }
  std::printf("  step       %d (%s)\n", policy::stepNumber(d.step),
              d.unmanaged() ? "nothing decided" : policy::stepName(d.step));
  for (const auto& m : e.matches)
    if (m.won) std::printf("  by         %s: %s\n", m.where.toString().c_str(), m.detail.c_str());
  (void)p;
  const std::vector<PvdId> tried = triedOrder(ex, a, d);
  for (size_t i = 0; i < tried.size(); ++i) {
    PvdFacts f = ex.facts(tried[i]);
    std::string line = f.name + ": interface " + f.interface;
    line += ", source " + (f.source4.empty() && f.source6.empty()
                               ? std::string("chosen by the kernel")
                               : f.source4 + (f.source4.empty() || f.source6.empty() ? "" : " ") + f.source6);
    std::string dns;
    for (const auto& s : f.dns) dns += (dns.empty() ? "" : " ") + s;
    line += ", dns " + (dns.empty() ? std::string("none known") : dns);
    line += ", health " + healthText(f, ex.captiveFor(tried[i], a.query));
    std::printf("  %-10s %s\n", i == 0 ? "pvds" : "", line.c_str());
  }
  if (d.step == policy::Step::DnsTag && d.count > 1)
    std::printf("  %-10s (the address is %s's answer: %s stays first whatever its health, and\n"
                "             an attempt on a later PvD connects to that PvD's own answer for\n"
                "             the name, skipping it when it has none)\n",
                "", ex.facts(d.pvds[0]).name.c_str(), ex.facts(d.pvds[0]).name.c_str());
  if (d.count > 1)
    std::printf(
        "  %-10s %s\n", "",
        "(the order a program starts with: one that has seen a PvD fail - connect errors,\n"
        "             DNS timeouts - tries it last until its back-off ends; see mif run --trace)");
  if (!e.matches.empty()) std::printf("  matches    (precedence order)\n");
  for (const auto& m : e.matches) {
    std::string states;
    for (PvdId id : m.listed) {
      PvdFacts f = ex.facts(id);
      states += (states.empty() ? "" : "; ") + f.name + ": " + stateText(f);
    }
    std::printf("    %s step %d %s: %s (%s)%s\n      pvd %s\n      %s\n", m.won ? "won " : "lost",
                policy::stepNumber(m.step), policy::stepName(m.step), m.detail.c_str(),
                m.where.toString().c_str(), m.strict ? " strict" : "", states.c_str(), m.why.c_str());
  }
}

std::string pvdJson(const PvdFacts& f, const std::string& health) {
  std::string out;
  json::StringSink sink(&out);
  cli::JsonObject o(sink);
  o.str("name", f.name).str("interface", f.interface).boolean("present", f.present);
  o.boolean("ipv4", f.v4).boolean("ipv6", f.v6);
  cli::strOrNull(o, "source4", f.source4);
  cli::strOrNull(o, "source6", f.source6).strings("dns", f.dns);
  o.str("health", health);
  cli::strOrNull(o, "captive_portal", f.portal);
  if (f.probe != nullptr) {
    std::string probe;
    json::StringSink probeSink(&probe);
    cli::JsonObject j(probeSink);
    j.str("verdict", f.probe->verdict == view::ProbeVerdict::None ? "none" : view::probeVerdictWord(f.probe->verdict));
    if (f.probe->portal == view::PortalVerdict::None)
      j.null("portal");
    else
      j.str("portal", view::portalVerdictWord(f.probe->portal));
    j.num("age", f.probeAgeMs / 1000);
    j.close();
    o.raw("probe", probe);
  } else {
    o.null("probe");
  }
  o.close();
  return out;
}

std::string stepJson(policy::Step step) {
  std::string out;
  json::StringSink sink(&out);
  cli::JsonObject o(sink);
  o.num("number", policy::stepNumber(step)).str("name", policy::stepName(step));
  o.close();
  return out;
}

std::string decisionJson(const policy::Policy& p, const Explainer& ex, const Asked& a, const Target& t,
                         const policy::Decision& d, const policy::Explanation& e) {
  const bool resolve = a.query.kind == policy::Query::Kind::Resolve;
  std::string s;
  json::StringSink sink(&s);
  cli::JsonObject o(sink);
  o.str("query", a.what);
  cli::strOrNull(o, "name", a.query.name);
  if (a.query.hasAddress)
    o.str("address", a.query.address.toString());
  else
    o.null("address");
  if (t.port && !resolve)
    o.num("port", t.port);
  else
    o.null("port");
  if (resolve)
    o.null("proto");
  else
    o.str("proto", a.query.proto == policy::Proto::Udp ? "udp" : "tcp");
  cli::strOrNull(o, "app", a.query.app);
  if (a.query.dscp >= 0)
    o.num("dscp", a.query.dscp);
  else
    o.null("dscp");
  {
    std::string pvds;
    json::StringSink pvdsSink(&pvds);
    json::Array<json::StringSink> list(pvdsSink);
    for (uint8_t i = 0; i < d.count; ++i) {
      const PvdFacts f = ex.facts(d.pvds[i]);
      list.raw(pvdJson(f, healthText(f, ex.captiveFor(d.pvds[i], a.query))));
    }
    list.close();
    o.raw("pvds", pvds);
    std::vector<std::string> tried;
    for (PvdId id : triedOrder(ex, a, d)) tried.push_back(ex.facts(id).name);
    o.strings("tried", tried);
  }
  o.boolean("strict", d.strict).boolean("blocked", d.blocked()).boolean("unmanaged", d.unmanaged());
  o.raw("step", stepJson(d.step));
  if (d.rule >= 0)
    o.str("rule", p.rules()[static_cast<size_t>(d.rule)].where.toString());
  else
    o.null("rule");
  std::string matches;
  json::StringSink matchesSink(&matches);
  json::Array<json::StringSink> list(matchesSink);
  for (const auto& m : e.matches) {
    std::vector<std::string> names;
    for (PvdId id : m.listed) names.push_back(ex.facts(id).name);
    cli::JsonObject mo(list.element());
    mo.num("step", policy::stepNumber(m.step)).str("stepName", policy::stepName(m.step));
    mo.str("detail", m.detail).str("where", m.where.toString()).strings("pvds", names);
    mo.boolean("strict", m.strict).boolean("won", m.won).str("why", m.why);
    mo.close();
  }
  list.close();
  o.raw("matches", matches);
  o.close();
  return s;
}

}  // namespace

int explain(int argc, char** argv) {
  policy::LayerFiles files = policy::LayerFiles::defaults();
  std::vector<std::string> given;  // --policy, as given
  policy::Pin pin;
  std::string app;
  int dscp = -1;
  bool udp = false, json = false, assumeUsable = false;
  std::string targetText, fromDns;
  const char* probesEnv = std::getenv("MIF_PROBES");
  std::string probesPath = probesEnv != nullptr ? probesEnv : "";
  bool probesGiven = false;
  cli::Args args("explain", argc, argv);
  std::string v;
  while (args.next()) {
    const std::string& a = args.arg();
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return cli::kExitOk;
    } else if (args.value("--policy", &v)) {
      files.commandLine = v;
      given = {v};
    } else if (args.value("--system-policy", &v)) {
      files.system = v;
    } else if (args.value("--user-policy", &v)) {
      files.user = v;
    } else if (args.value("--pvd", &v)) {
      if (!cli::pvdNames(v, &pin.pvds)) {
        cli::noPvdNamedError("explain", v);
        return cli::kExitUsage;
      }
    } else if (args.value("--dns", &v)) {
      for (const auto& s : cli::splitCommas(v)) {
        auto addr = IpAddress::parse(s);
        if (!addr) {
          cli::error("explain", "--dns '" + s + "': not an IPv4 or IPv6 address");
          return cli::kExitUsage;
        }
        pin.dns.push_back(addr->unmapped());
      }
    } else if (args.value("--from-dns", &v)) {
      fromDns = v;
    } else if (args.value("--probes", &v)) {
      probesPath = v;
      probesGiven = true;
    } else if (args.value("--app", &v)) {
      app = v;
    } else if (args.value("--dscp", &v)) {
      dscp = policy::parseDscp(v);
      if (dscp < 0) {
        cli::error("explain", "--dscp '" + v +
                                  "': not 0-63 or a class name (CS0-CS7, AF11-AF43, EF, VA, LE, DF)");
        return cli::kExitUsage;
      }
    } else if (a == "--strict") {
      pin.strict = true;
    } else if (a == "--udp") {
      udp = true;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--assume-usable") {
      assumeUsable = true;
    } else if (a.size() > 1 && a[0] == '-' && a[1] != '[') {
      cli::error("explain", "unknown option '" + a + "' (try 'mif explain --help')");
      return cli::kExitUsage;
    } else if (!targetText.empty()) {
      cli::error("explain", "more than one TARGET (try 'mif explain --help')");
      return cli::kExitUsage;
    } else {
      targetText = a;
    }
  }
  if (targetText.empty()) {
    cli::error("explain", "no TARGET given (try 'mif explain --help')");
    return cli::kExitUsage;
  }
  Target target;
  if (auto why = parseTarget(targetText, &target); !why.empty()) {
    cli::error("explain", targetText + ": " + why);
    return cli::kExitUsage;
  }

  // Inside a lab without --policy: the lab's policy (a --policy file that cannot be read
  // is reported by the loader, by position).
  if (cli::commandLineFromLab(given)) {
    files.commandLine = cli::commandLineLayer(given).front();
    if (std::string why = cli::unreadablePolicy(files.commandLine, given); !why.empty()) {
      cli::error("explain: " + cli::policyArgName(files.commandLine, given), why);
      return cli::kExitFailure;
    }
  }
  const std::vector<cli::LayerInForce> inForce = cli::layersInForce(files.system, files.user, given);

  policy::LoadedLayers layers = policy::loadLayers(files);
  for (const auto& d : layers.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!layers.ok()) {
    cli::error("explain", "the policy has errors (see above)");
    return cli::kExitFailure;
  }
  policy::CompileResult compiled = policy::Policy::compile(std::move(layers.docs), pin);
  for (const auto& d : compiled.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!compiled.policy) {
    cli::error("explain", "the policy has errors (see above)");
    return cli::kExitFailure;
  }
  const policy::Policy& p = *compiled.policy;
  int taggedPvd = -1;
  if (!fromDns.empty()) {
    if (!target.hasAddress) {
      cli::error("explain", "--from-dns '" + fromDns + "': TARGET must be an address (the answer)");
      return cli::kExitUsage;
    }
    const std::optional<PvdId> id = p.findPvd(fromDns);
    if (!id) {
      cli::error("explain", "--from-dns '" + fromDns + "': no PvD of that name in the policy");
      return cli::kExitUsage;
    }
    taggedPvd = *id;
  }
  // A running program's probe verdicts: --probes FILE, else its MIF_PROBES when this runs
  // in its environment (a run that ended has removed the file: said, and not used).
  view::ProbeFile probes;
  bool haveProbes = false;
  if (!probesPath.empty()) {
    std::string why;
    haveProbes = view::readProbeFile(probesPath, &probes, &why);
    if (!haveProbes && probesGiven) {
      cli::error("explain: --probes", why);
      return cli::kExitFailure;
    }
    if (!haveProbes) std::fprintf(stderr, "mif: explain: MIF_PROBES: %s (not used)\n", why.c_str());
  }
  Explainer ex(p, assumeUsable, haveProbes ? &probes : nullptr);

  std::vector<Asked> asks;
  policy::Query base;
  base.app = app;
  base.proto = udp ? policy::Proto::Udp : policy::Proto::Tcp;
  base.port = target.port;
  base.dscp = static_cast<int8_t>(dscp);
  if (target.hasAddress) {
    base.kind = udp ? policy::Query::Kind::Send : policy::Query::Kind::Connect;
    base.hasAddress = true;
    base.address = target.address;
    base.taggedPvd = taggedPvd;
    asks.push_back({udp ? "send" : "connect", base});
  } else {
    base.name = target.name;
    policy::Query r = base;
    r.kind = policy::Query::Kind::Resolve;
    r.port = 0;
    r.proto = policy::Proto::Any;
    r.dscp = -1;
    asks.push_back({"resolve", r});
    base.kind = udp ? policy::Query::Kind::Send : policy::Query::Kind::Connect;
    asks.push_back({udp ? "send" : "connect", base});
  }

  std::string decisions;
  json::StringSink decisionsSink(&decisions);
  json::Array<json::StringSink> decisionList(decisionsSink);
  if (!json) {
    if (inForce.empty()) std::printf("policy     none (no system, user or command-line policy file)\n");
    for (const auto& l : inForce) std::printf("policy     %s\n", cli::layerText(l).c_str());
    std::printf("\n");
  }
  for (size_t i = 0; i < asks.size(); ++i) {
    policy::Explanation e;
    policy::Decision d = p.decide(asks[i].query, ex.view(), &e);
    if (json) {
      decisionList.raw(decisionJson(p, ex, asks[i], target, d, e));
    } else {
      if (i) std::printf("\n");
      printText(p, ex, asks[i], target, d, e);
    }
  }
  if (json) {
    decisionList.close();
    std::string out;
    json::StringSink sink(&out);
    cli::JsonObject o(sink);
    o.str("target", targetText).raw("policy_layers", cli::layersJson(inForce));
    o.raw("decisions", decisions);
    o.close();
    std::printf("%s\n", out.c_str());
  }
  return cli::kExitOk;
}

}  // namespace mif::cmd
