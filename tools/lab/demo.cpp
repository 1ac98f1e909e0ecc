// `mif lab demo [--as NAME]`: the built-in two-PvD topology (Wi-Fi + VPN), one client per
// PvD run under `mif run`, and what the lab's servers saw of each: which source address
// (so which PvD) reached the internet server, and which DNS server was asked for a name.
// Each client is run as the line printed for it, `MIF lab exec LAB -- mif run ...`, so
// that the user can paste it (MIF: how this mif is reached from the user's shell), and the
// demo ends with three more lines to try. When `mif run` is not available it falls back,
// saying so, to a plain client bound to the PvD's interface, so the lab itself can still
// be shown.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
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

// A word as a shell reads it back: quoted only when it has to be.
std::string shellWord(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./:=@%+,") == std::string::npos)
    return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string shellLine(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + shellWord(a);
  return out;
}

// How the user's shell reaches this mif: "mif" when PATH finds this very binary, else
// its path relative to the working directory when it lies below it (build/bin/mif), else
// its absolute path.
std::string userMif(const std::string& self) {
  char real[PATH_MAX];
  std::string selfReal = ::realpath(self.c_str(), real) != nullptr ? real : self;
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (true) {
      size_t colon = rest.find(':');
      std::string dir(rest.substr(0, colon));
      if (!dir.empty() && dir[0] == '/') {
        std::string candidate = dir + "/mif";
        if (::access(candidate.c_str(), X_OK) == 0) {
          // The first mif on PATH is the one the shell runs.
          if (::realpath(candidate.c_str(), real) != nullptr && selfReal == real) return "mif";
          break;
        }
      }
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) != nullptr) {
    std::string dir = std::string(cwd) == "/" ? "/" : std::string(cwd) + "/";
    if (self.rfind(dir, 0) == 0 && self.size() > dir.size()) return self.substr(dir.size());
  }
  return self;
}

struct Client {
  std::string pvd;
  std::string url;
  std::string label;
};

}  // namespace

int demo(const std::string& instance) {
  Topology t;
  std::string err;
  if (!loadTopology(kTopology, t, err)) {
    cli::error("lab demo", err);
    return cli::kExitFailure;
  }
  if (!instance.empty()) t.name = instance;
  std::string mif = sys::selfExe();
  const std::string user = userMif(mif);
  const std::string labExec = user + " lab exec " + t.name + " -- ";
  std::printf("%s lab up %s%s   # %s\n", user.c_str(), kTopology,
              t.name == kTopology ? "" : (" --as " + t.name).c_str(), t.description.c_str());
  if (int rc = up(t, false); rc != cli::kExitOk) return rc;
  std::vector<Client> clients = {
      {"wifi", "http://www.example.com/", "public name through Wi-Fi"},
      {"vpn", "http://www.example.com/", "public name through the VPN"},
      {"vpn", "http://wiki.corp.example/", "private name through the VPN"},
      {"wifi", "http://wiki.corp.example/", "private name through Wi-Fi"},
  };
  bool fellBack = false;
  for (const auto& c : clients) {
    const Pvd* p = t.pvd(c.pvd);
    // Run as printed: `mif lab exec` puts this mif first in PATH and hands it the lab's
    // policy (MIF_LAB_POLICY), so the line works pasted as it is.
    std::vector<std::string> inside{"mif", "run", "--pvd", c.pvd, "--strict", "--", "curl", "-s", "-m", "4", c.url};
    std::vector<std::string> argv{mif, "lab", "exec", t.name, "--"};
    argv.insert(argv.end(), inside.begin(), inside.end());
    std::printf("\n%s%s   # %s\n", labExec.c_str(), shellLine(inside).c_str(), c.label.c_str());
    auto r = sys::run({argv, "", ""});
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
  // Inside `mif lab exec`, `mif` is this build's and every mif command takes the lab's
  // policy, so these lines paste as they are.
  std::printf("\nThe lab stays up. Inside `%s lab exec %s -- CMD`, `mif` is this mif and its\n"
              "commands use the lab's policy (%s). Try next:\n\n",
              user.c_str(), t.name.c_str(), (t.stateDir() + "/policy.toml").c_str());
  const std::vector<std::pair<std::vector<std::string>, std::string>> next = {
      {{"mif", "explain", "wiki.corp.example:80"}, "which PvD, and which line of the lab's policy decided"},
      {{"mif", "run", "--", "curl", "-s", "-m", "4", "http://wiki.corp.example/"},
       "no --pvd: the policy sends corp.example through the VPN"},
      {{"mif", "show"}, "the node's PvDs as mif sees them, and the policy in force"},
  };
  for (const auto& [cmd, why] : next)
    std::printf("%s%s   # %s\n", labExec.c_str(), shellLine(cmd).c_str(), why.c_str());
  std::printf("\nRemove it: %s lab down %s\n", user.c_str(), t.name.c_str());
  return cli::kExitOk;
}

}  // namespace mif::lab
