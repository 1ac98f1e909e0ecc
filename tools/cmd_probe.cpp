// `mif probe [--json] [--policy FILE]... [--pvd NAME]... [--dns ADDR]...
//            [--target ADDR:PORT]... [--count N] [--timeout MS]`:
// checks, by sending real traffic through each PvD only, whether it works: a link that is
// up with an address may still lose most packets (RFC 6418 4.4 "poor layer 2"). The
// probing itself is tools/probe/probe.h; this file parses, picks the PvDs and prints.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "mif/policy/loader.h"
#include "mif/policy/policy.h"
#include "mif/view/live_view.h"
#include "mif/view/probe_results.h"
#include "mif/view/ra_state.h"
#include "probe/portal.h"
#include "probe/probe.h"
#include "running_probes.h"

namespace mif::cmd {
namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: mif probe [--json] [--policy FILE] [--pvd NAME]... [--dns ADDR]...\n"
               "                 [--target ADDR:PORT]... [--count N] [--timeout MS]\n\n"
               "Checks each PvD by sending real traffic through it only (its interface and\n"
               "source address): a DNS query to each of its DNS servers over UDP, and a TCP\n"
               "connect to each target (default: each of its DNS servers, on TCP), N times\n"
               "each. A refused connection counts as reached. Every PvD is probed at once.\n\n"
               "  --json            machine-readable output\n"
               "  --policy FILE     add FILE to the system and user policies (inside\n"
               "                    'mif lab exec NAME': instead of the lab's policy, which\n"
               "                    is used otherwise; MIF_LAB_POLICY)\n"
               "  --pvd NAME        probe only NAME: a policy PvD, or an interface (ad hoc\n"
               "                    PvD); repeat or separate with commas. Default: every PvD\n"
               "                    of the policy, or every interface when it has none\n"
               "  --dns ADDR        DNS servers of ad hoc PvDs (repeated or comma-separated)\n"
               "  --target A:PORT   TCP target, an address (IPv6: [ADDR]:PORT); repeatable\n"
               "  --count N         attempts per check, 1-100 (default %d), 100 ms apart\n"
               "  --timeout MS      per attempt, 1-60000 ms (default %lld)\n"
               "  -h, --help        this help\n\n"
               "Verdicts: ok (less than %.0f %% lost), poor (some answered, at least %.0f %%\n"
               "lost), down (nothing answered, or the link cannot carry traffic), unknown\n"
               "(nothing to try: no DNS server and no target of a family it has).\n"
               "A PvD whose router announced a captive portal (RFC 8910) is also asked\n"
               "whether the portal is open: its API (RFC 8908) when the URI is http:// with\n"
               "an address, else the probe's verdict (ok: open); the answer is recorded in\n"
               "/run/mif/ra, where 'mif show' and programs started later find it.\n"
               "Below its own verdicts, what the probers of running programs last found of\n"
               "each PvD (mif run with the policy's probe key), as 'mif show' lists them.\n"
               "Exit status: 0 when every probed PvD is ok, 1 otherwise (or on an error),\n"
               "2 on bad arguments.\n",
               probe::Options{}.count, static_cast<long long>(probe::Options{}.timeout.count()),
               probe::kPoorLossPercent, probe::kPoorLossPercent);
}

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A number with three decimals, or null.
void rttMember(cli::JsonObject& o, std::string_view key, const std::optional<double>& v) {
  if (v)
    o.raw(key, fixed(*v, 3));
  else
    o.null(key);
}

// A captive portal of a probed PvD (mif/view/ra_state.h): open or still captive, and how
// that was found.
struct Portal {
  size_t result = 0;  // index into the results
  std::string uri;
  bool open = false;
  std::string by;     // "api" (RFC 8908: its "captive" member) or "probe" (the verdict)
  std::string why;    // why not the API; why not recorded
};

std::vector<Portal> checkPortals(const std::vector<probe::Result>& results,
                                 const view::Snapshot& snap, const probe::Options& opts) {
  std::vector<Portal> out;
  for (size_t k = 0; k < results.size(); ++k) {
    const view::BoundPvd& b = snap.pvds[results[k].id];
    for (const auto& c : b.captive) {
      const probe::PortalCheck pc =
          probe::checkPortal(b, c, results[k].verdict == probe::Verdict::Ok, opts.timeout);
      out.push_back(Portal{k, c.uri, pc.open, pc.by, pc.why});
    }
  }
  return out;
}

// The health a verdict gives the PvD, in the library's words (docs/architecture.md,
// "Failover"): what the probe's traffic showed, as a program's own connects would.
const char* healthOf(probe::Verdict v) {
  switch (v) {
    case probe::Verdict::Ok: return "usable";
    case probe::Verdict::Poor: return "degraded";
    case probe::Verdict::Down: return "failed";
    default: return "unknown";
  }
}

void printJson(const std::vector<probe::Result>& results, const std::vector<Portal>& portals,
               const std::vector<view::ProbeFile>& running, const probe::Options& o) {
  std::string pvds;
  json::StringSink pvdsSink(&pvds);
  json::Array<json::StringSink> pvdList(pvdsSink);
  for (const probe::Result& r : results) {
    std::string checks;
    json::StringSink checksSink(&checks);
    json::Array<json::StringSink> checkList(checksSink);
    for (const probe::Check& ch : r.checks) {
      cli::JsonObject c(checkList.element());
      c.str("kind", ch.kind == probe::Check::Kind::Dns ? "dns" : "tcp");
      c.str("target", ch.to.toString());
      c.num("attempts", ch.attempts).num("successes", ch.successes);
      rttMember(c, "median_rtt_ms", ch.medianRttMs);
      cli::strOrNull(c, "last_error", ch.lastError);
      c.close();
    }
    checkList.close();
    cli::JsonObject p(pvdList.element());
    p.str("name", r.name);
    cli::strOrNull(p, "interface", r.interface).str("verdict", probe::verdictName(r.verdict));
    p.str("health", healthOf(r.verdict));
    p.num("attempts", r.attempts).num("successes", r.successes);
    p.raw("loss_percent", fixed(r.lossPercent, 1));
    rttMember(p, "median_rtt_ms", r.medianRttMs);
    cli::strOrNull(p, "why", r.why).raw("checks", checks);
    std::string list;
    json::StringSink listSink(&list);
    json::Array<json::StringSink> portalList(listSink);
    for (const Portal& c : portals) {
      if (&results[c.result] != &r) continue;
      cli::JsonObject po(portalList.element());
      po.str("uri", c.uri).str("state", c.open ? "open" : "captive").str("by", c.by);
      cli::strOrNull(po, "why", c.why);
      po.close();
    }
    portalList.close();
    p.raw("captive_portal", list);
    p.raw("running_probes", runningProbesJson(running, r.name));
    p.close();
  }
  pvdList.close();
  std::string out;
  json::StringSink sink(&out);
  cli::JsonObject j(sink);
  j.num("count", o.count).num("timeout_ms", o.timeout.count()).raw("pvds", pvds);
  j.close();
  out += '\n';
  std::fputs(out.c_str(), stdout);
}

void printText(const std::vector<probe::Result>& results, const std::vector<Portal>& portals,
               const std::vector<view::ProbeFile>& running) {
  int nameW = 3, ifW = 9;
  for (const auto& r : results) {
    nameW = std::max(nameW, static_cast<int>(r.name.size()));
    ifW = std::max(ifW, static_cast<int>(r.interface.size()));
  }
  std::printf("%-*s  %-*s  %6s  %6s  %5s  %10s  %-8s  %s\n", nameW, "PVD", ifW, "INTERFACE",
              "PROBES", "ANSWER", "LOSS", "MEDIAN RTT", "HEALTH", "VERDICT");
  for (const auto& r : results) {
    std::string rtt = r.medianRttMs ? fixed(*r.medianRttMs, 2) + " ms" : "-";
    std::string loss = r.attempts ? fixed(r.lossPercent, 0) + "%" : "-";
    std::string line = probe::verdictName(r.verdict);
    if (!r.why.empty()) line += " (" + r.why + ")";
    std::printf("%-*s  %-*s  %6d  %6d  %5s  %10s  %-8s  %s\n", nameW, r.name.c_str(), ifW,
                r.interface.empty() ? "-" : r.interface.c_str(), r.attempts, r.successes,
                loss.c_str(), rtt.c_str(), healthOf(r.verdict), line.c_str());
  }
  for (const Portal& c : portals)
    std::printf("portal of %s: %s %s (%s%s%s)\n", results[c.result].name.c_str(), c.uri.c_str(),
                c.open ? "open" : "captive",
                c.by == "api" ? "its API says so" : "by the probe's verdict",
                c.why.empty() ? "" : ": ", c.why.c_str());
  for (const auto& r : results)
    for (const std::string& line : runningProbesText(running, r.name))
      std::printf("probe of %s by a running program: %s\n", r.name.c_str(), line.c_str());
}

}  // namespace

int probe(int argc, char** argv) {
  bool asJson = false;
  cli::PvdSelection sel;
  probe::Options opts;
  cli::Args args("probe", argc, argv);
  std::string v;
  while (args.next()) {
    const std::string& a = args.arg();
    auto bad = [&](const std::string& opt, const std::string& why) {
      cli::error("probe: " + opt + " " + v, why);
      return cli::kExitUsage;
    };
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return cli::kExitOk;
    } else if (a == "--json" || a == "-j") {
      asJson = true;
    } else if (cli::pvdSelectionOption(args, &sel)) {
    } else if (args.value("--target", &v)) {
      probe::Endpoint e;
      if (std::string why = probe::parseEndpoint(v, &e); !why.empty()) return bad("--target", why);
      opts.targets.push_back(e);
    } else if (args.value("--count", &v)) {
      long n;
      if (!cli::parseNumber(v, 1, 100, &n)) return bad("--count", "not a whole number from 1 to 100");
      opts.count = static_cast<int>(n);
    } else if (args.value("--timeout", &v)) {
      long n;
      if (!cli::parseNumber(v, 1, 60000, &n)) return bad("--timeout", "not a number of milliseconds from 1 to 60000");
      opts.timeout = std::chrono::milliseconds(n);
    } else {
      cli::error("probe: " + a, "unknown argument (try 'mif probe --help')");
      return cli::kExitUsage;
    }
  }
  policy::Pin& pin = sel.pin;
  auto compile = [&](const policy::Pin& p) { return cli::compileLayers("probe", sel.policyFiles, p); };
  std::optional<policy::Policy> compiled = compile(pin);
  if (!compiled) return cli::kExitFailure;
  auto snap = view::LiveView::readOnce(*compiled);
  if (!snap->error.empty()) {
    cli::error("probe", snap->error);
    return cli::kExitFailure;
  }
  // No policy PvD at all and none named: every interface but loopback, as ad hoc PvDs.
  if (pin.pvds.empty() && compiled->pvds().empty()) {
    for (const auto& i : snap->interfaces)
      if (i.kind != "loopback") pin.pvds.push_back(i.name);
    if (pin.pvds.empty()) {
      cli::error("probe", "no PvD in the policy and no interface but loopback: nothing to probe");
      return cli::kExitFailure;
    }
    compiled = compile(pin);
    if (!compiled) return cli::kExitFailure;
    snap = view::LiveView::readOnce(*compiled);
  }

  std::vector<policy::PvdId> ids;
  if (pin.pvds.empty()) {
    for (size_t k = 0; k < compiled->pvds().size(); ++k) ids.push_back(static_cast<policy::PvdId>(k));
  } else {
    for (const auto& name : pin.pvds) {
      auto id = compiled->findPvd(name);
      if (!id || (compiled->pvds()[*id].adHoc && snap->interfaceByName(name) == nullptr)) {
        cli::unknownPvdError("probe: --pvd " + name, "no PvD of that name in the policy and no such interface",
                             *compiled, snap.get(), sel.policyFiles);
        return cli::kExitUsage;
      }
      if (std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
    }
  }

  std::vector<probe::Result> results = probe::run(*compiled, *snap, ids, opts);
  // A portal a router announced: open or not, recorded for `mif show` and later programs.
  std::vector<Portal> portals = checkPortals(results, *snap, opts);
  // What the probers of running programs published (mif run, the policy's `probe` key).
  const std::vector<view::ProbeFile> running = view::runningProbes(view::probeDir());
  if (asJson)
    printJson(results, portals, running, opts);
  else
    printText(results, portals, running);
  for (const auto& r : results)
    if (r.verdict != probe::Verdict::Ok) return cli::kExitFailure;
  return cli::kExitOk;
}

}  // namespace mif::cmd
