// Starting the lab's processes, the per-PvD dnsmasq configuration, and the captive portal.
#include "lab/services.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cli.h"
#include "lab/system.h"

namespace mif::lab {
namespace {

std::string portalFlag(const Topology& t, std::string_view pvd) {
  return t.stateDir() + "/portal-" + std::string(pvd) + ".auth";
}

pid_t readPid(const std::string& path) {
  return static_cast<pid_t>(std::atol(sys::readFile(path).c_str()));
}

std::vector<std::string> addressesOf(const Topology& t, const Record& r, bool v6) {
  if (!r.host.empty()) {
    std::vector<std::string> out;
    for (const auto& a : t.host(r.host)->addrs)
      if (isIpv6(a) == v6) out.push_back(a);
    return out;
  }
  return v6 ? r.aaaa : r.a;
}

// ptr-record wants the reverse name; the topology file gives the address.
std::string reverseName(const std::string& addr) {
  unsigned char b[16];
  if (isIpv6(addr)) {
    if (inet_pton(AF_INET6, addr.c_str(), b) != 1) return addr;
    static const char* hex = "0123456789abcdef";
    std::string r;
    for (int i = 15; i >= 0; --i) {
      r += hex[b[i] & 0xf];
      r += '.';
      r += hex[b[i] >> 4];
      r += '.';
    }
    return r + "ip6.arpa";
  }
  if (inet_pton(AF_INET, addr.c_str(), b) != 1) return addr;
  return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." +
         std::to_string(b[0]) + ".in-addr.arpa";
}

// Answers only what the file lists: no upstream, and every name local (`local=/#/`), so
// an unknown name is NXDOMAIN and a name with only an A record gets an empty AAAA answer
// instead of REFUSED (FACTS.md). Queries are logged for the tests.
std::string dnsConfig(const Topology& t, const Pvd& p) {
  std::string c =
      "no-resolv\nno-hosts\nno-poll\nbind-dynamic\nlocal=/#/\nlog-queries\nuser=root\n"
      "group=root\n";
  c += "log-facility=" + dnsLogPath(t, p) + "\n";
  c += "pid-file=" + dnsPidPath(t, p) + "\n";
  for (const auto& s : p.dnsServers) c += "listen-address=" + s + "\n";
  bool captive = !p.portal.empty() && !portalAuthenticated(t, p.name);
  if (captive) {
    // Until the user has passed the portal, every name is the portal (RFC 6418 4.1).
    for (const auto& a : t.host(p.portal)->addrs) c += "address=/#/" + a + "\n";
  }
  for (const auto& r : p.records) {
    // dnsmasq prefers a name's own records over address=/#/: keep only the portal's.
    if (captive && r.host != p.portal) continue;
    if (!r.cname.empty()) {
      c += "cname=" + r.name + "," + r.cname + "\n";
    } else if (!r.ptr.empty()) {
      c += "ptr-record=" + reverseName(r.ptr) + "," + r.name + "\n";
    } else {
      // host-record also answers the reverse (PTR) of each address. One line takes one
      // address of each family (a second replaces the first), so a name with several gets
      // a line per pair; dnsmasq answers every line's addresses.
      const auto v4 = addressesOf(t, r, false), v6 = addressesOf(t, r, true);
      for (size_t i = 0; i < std::max(v4.size(), v6.size()); ++i) {
        std::string line = "host-record=" + r.name;
        if (i < v4.size()) line += "," + v4[i];
        if (i < v6.size()) line += "," + v6[i];
        c += line + "\n";
      }
    }
  }
  return c;
}

struct Launch {
  sys::Job job;
  std::string what;
};

}  // namespace

std::string dnsConfPath(const Topology& t, const Pvd& p) {
  return t.stateDir() + "/dns-" + p.name + ".conf";
}
std::string dnsLogPath(const Topology& t, const Pvd& p) {
  return t.stateDir() + "/dns-" + p.name + ".log";
}
std::string dnsPidPath(const Topology& t, const Pvd& p) {
  return t.stateDir() + "/dns-" + p.name + ".pid";
}
std::string servePidPath(const Topology& t, const std::string& role) {
  return t.stateDir() + "/serve-" + role + ".pid";
}
std::string serveLogPath(const Topology& t, const std::string& role) {
  return t.stateDir() + "/served-" + role + ".log";
}
std::string delayPidPath(const Topology& t, const Pvd& p) {
  return t.stateDir() + "/delay-" + p.name + ".pid";
}

bool portalAuthenticated(const Topology& t, std::string_view pvd) {
  return ::access(portalFlag(t, pvd).c_str(), F_OK) == 0;
}

bool startServices(const Topology& t, const std::vector<std::string>& recreated,
                   std::string& error) {
  std::vector<Launch> launches;
  std::vector<pid_t> stale;
  for (const auto& p : t.pvds) {
    if (p.dnsServers.empty()) continue;
    const std::string ns = t.nsRouter(p.name);
    pid_t pid = readPid(dnsPidPath(t, p));
    bool alive = sys::aliveIn(pid, sys::namespaceInode(ns));
    bool restart = std::find(recreated.begin(), recreated.end(), p.name) != recreated.end();
    if (alive && !restart) continue;
    if (alive) stale.push_back(pid);
    sys::replaceFile(dnsConfPath(t, p), dnsConfig(t, p));
    // dnsmasq forks into the background only once its sockets are bound: its launcher
    // exiting is the readiness signal.
    launches.push_back({{{"dnsmasq", "--conf-file=" + dnsConfPath(t, p)}, "", ns},
                        "dnsmasq for PvD " + p.name});
  }
  // One service process per namespace with hosts; it tells hosts apart by the address it
  // was reached at.
  std::vector<std::pair<std::string, std::string>> serviceNs;  // (role, behind)
  for (const auto& p : t.pvds) serviceNs.emplace_back("r-" + p.name, p.name);
  if (t.hasInternet()) serviceNs.emplace_back("inet", "internet");
  for (const auto& [role, behind] : serviceNs) {
    std::vector<std::string> argv{sys::selfExe(), "lab", "serve", "--log",
                                  serveLogPath(t, role), "--pid-file", servePidPath(t, role)};
    bool any = false;
    for (const auto& h : t.hosts) {
      if (h.behind != behind) continue;
      std::string spec = h.name + "=";
      for (size_t i = 0; i < h.addrs.size(); ++i) spec += (i ? "," : "") + h.addrs[i];
      argv.insert(argv.end(), {"--host", spec});
      any = true;
    }
    if (!any) continue;
    const std::string ns = t.ns(role);
    if (sys::aliveIn(readPid(servePidPath(t, role)), sys::namespaceInode(ns))) continue;
    launches.push_back({{argv, "", ns}, "services in " + ns});
  }
  // The delay relay of each PvD that has one, attached to its router's TUN devices (they
  // outlive it, so a relay that died is simply started again).
  for (const auto& p : t.pvds) {
    if (!p.delayUs) continue;
    const std::string ns = t.nsRouter(p.name);
    if (sys::aliveIn(readPid(delayPidPath(t, p)), sys::namespaceInode(ns))) continue;
    launches.push_back({{{sys::selfExe(), "lab", "delay", "--hold-us", std::to_string(p.delayUs / 2),
                          "--pid-file", delayPidPath(t, p), "from-node", "to-node"},
                         "",
                         ns},
                        "the delay relay of PvD " + p.name});
  }
  sys::killAll(stale, std::chrono::milliseconds(1000));
  std::vector<sys::Job> jobs;
  for (const auto& l : launches) jobs.push_back(l.job);
  auto results = sys::runAll(jobs);
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) {
      error = "cannot start " + launches[i].what + ": " + results[i].err;
      while (!error.empty() && error.back() == '\n') error.pop_back();
      return false;
    }
  }
  return true;
}

int portal(const Topology& t, std::string_view pvd, std::string_view action) {
  const Pvd* p = t.pvd(pvd);
  if (!p || p->portal.empty()) {
    cli::error("lab portal", "PvD '" + std::string(pvd) + "' of " + t.name +
                                 " has no captive portal");
    return cli::kExitUsage;
  }
  if (action == "status") {
    std::printf("%s\n", portalAuthenticated(t, pvd) ? "authenticated" : "captive");
    return cli::kExitOk;
  }
  if (action != "auth" && action != "unauth") {
    cli::error("lab portal", "action must be auth, unauth or status");
    return cli::kExitUsage;
  }
  if (!sys::namespaceExists(t.nsRouter(pvd))) {
    cli::error("lab portal", t.name + " is not up");
    return cli::kExitFailure;
  }
  if (action == "auth") sys::writeFile(portalFlag(t, pvd), "authenticated\n");
  else ::unlink(portalFlag(t, pvd).c_str());
  sys::runAll({{{"ip", "-n", t.nsRouter(pvd), "-4", "-force", "-batch", "-"},
                routerRules(t, *p, false), ""},
               {{"ip", "-n", t.nsRouter(pvd), "-6", "-force", "-batch", "-"},
                routerRules(t, *p, true), ""}});
  // dnsmasq reads address=/#/ only at start: restart it with the new configuration.
  std::string error;
  if (!startServices(t, {std::string(pvd)}, error)) {
    cli::error("lab portal", error);
    return cli::kExitFailure;
  }
  return cli::kExitOk;
}

}  // namespace mif::lab
