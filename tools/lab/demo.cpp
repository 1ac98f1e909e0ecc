// `mif lab demo`: the built-in two-PvD topology (Wi-Fi + VPN), one client per PvD run
// under `mif run`, and what the lab's servers saw of each: which source address (so which
// PvD) reached the internet server, and which DNS server was asked for a name. When
// `mif run` is not available it falls back, saying so, to a plain client bound to the
// PvD's interface, so the lab itself can still be shown.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"
#include "lab/lab.h"
#include "lab/system.h"

namespace mif::lab {
namespace {

constexpr const char* kTopology = "wifi-vpn";

std::string field(const std::string& text, const std::string& key) {
  auto pos = text.find(key + "=");
  if (pos == std::string::npos) return {};
  pos += key.size() + 1;
  return text.substr(pos, text.find_first_of(" \n", pos) - pos);
}

std::string pvdOf(const Topology& t, const std::string& address) {
  for (const auto& p : t.pvds)
    for (const auto& a : p.node)
      if (bareAddress(a) == address) return p.name;
  return "?";
}

// `mif run` failing itself (125: not implemented, library not built, ...), as opposed to
// the client's own failure, which is part of the demonstration.
bool unavailable(const sys::Result& r) {
  return r.status == cli::kExitRunFailed && r.err.rfind("mif: ", 0) == 0;
}

struct Client {
  std::string pvd;
  std::string url;
  std::string label;
};

}  // namespace

int demo(const char* self) {
  (void)self;
  Topology t;
  std::string err;
  if (!loadTopology(kTopology, t, err)) {
    cli::error("lab demo", err);
    return cli::kExitFailure;
  }
  std::printf("+ mif lab up %s   (%s)\n", t.name.c_str(), t.description.c_str());
  if (int rc = up(t, false); rc != cli::kExitOk) return rc;
  std::string mif = sys::selfExe();
  std::string policy = t.stateDir() + "/policy.toml";
  std::vector<Client> clients = {
      {"wifi", "http://www.example.com/", "public name through Wi-Fi"},
      {"vpn", "http://www.example.com/", "public name through the VPN"},
      {"vpn", "http://wiki.corp.example/", "private name through the VPN"},
      {"wifi", "http://wiki.corp.example/", "private name through Wi-Fi"},
  };
  bool fellBack = false;
  for (const auto& c : clients) {
    const Pvd* p = t.pvd(c.pvd);
    std::vector<std::string> argv{mif, "run", "--policy", policy, "--pvd", c.pvd, "--strict",
                                  "--", "curl", "-s", "-m", "4", c.url};
    std::printf("\n+ mif run --pvd %s --strict -- curl %s   # %s\n", c.pvd.c_str(), c.url.c_str(),
                c.label.c_str());
    auto r = sys::run({argv, "", t.nsNode()});
    if (unavailable(r)) {
      // Without mif run, the closest plain equivalent: the address literal (the name
      // would go to the node's resolver), from the PvD's interface.
      fellBack = true;
      std::string host = c.url.find("wiki") != std::string::npos ? "wiki" : "www";
      std::string addr;
      for (const auto& a : t.host(host)->addrs)
        if (!isIpv6(a)) addr = a;
      std::printf("  (mif run failed: %s\n   FALLBACK, without mif: plain `curl --interface %s "
                  "http://%s/`)\n",
                  r.err.substr(0, r.err.find('\n')).c_str(), p->link.c_str(), addr.c_str());
      r = sys::run({{"curl", "-s", "-m", "4", "--interface", p->link, "http://" + addr + "/"},
                    "",
                    t.nsNode()});
    }
    std::string client = field(r.out, "client");
    if (r.ok() && !client.empty()) {
      std::printf("  server %-5s saw client %s  -> came through PvD %s\n",
                  field(r.out, "host").c_str(), client.c_str(), pvdOf(t, client).c_str());
    } else {
      std::printf("  no answer (exit status %d)%s\n", r.status,
                  r.err.empty() ? "" : (": " + r.err.substr(0, r.err.find('\n'))).c_str());
    }
    // Which PvD's DNS server was asked for the name, from the servers' query logs.
    std::string name = c.url.substr(7, c.url.size() - 8);
    for (const auto& q : t.pvds) {
      std::string log = sys::readFile(t.stateDir() + "/dns-" + q.name + ".log");
      if (log.find("] " + name + " from") != std::string::npos)
        std::printf("  DNS server of PvD %s was asked for %s\n", q.name.c_str(), name.c_str());
    }
    // Start each client's DNS evidence afresh.
    for (const auto& q : t.pvds) ::truncate((t.stateDir() + "/dns-" + q.name + ".log").c_str(), 0);
  }
  if (fellBack) std::printf("\n(plain clients stood in for mif run; build mif fully to see it)\n");
  std::printf("\nThe lab stays up: mif lab exec %s -- CMD, mif lab down %s\n", t.name.c_str(),
              t.name.c_str());
  return cli::kExitOk;
}

}  // namespace mif::lab
