// `mif lab`: dispatch to up, down, status, facts, exec, portal, demo, and the hidden
// `serve` and `delay` the lab starts in its namespaces.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "cli.h"
#include "commands.h"
#include "lab/lab.h"
#include "lab/system.h"

namespace mif::lab {
namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: mif lab up TOPOLOGY [--as NAME]\n"
               "                                    build it (again: restore what is missing);\n"
               "                                    --as: a separate instance named NAME\n"
               "       mif lab down TOPOLOGY|--all  remove everything it made\n"
               "       mif lab status [--json]      labs present on this machine\n"
               "       mif lab facts TOPOLOGY       names and addresses, as key=value lines\n"
               "       mif lab exec TOPOLOGY [--in ROLE] -- CMD [ARG...]\n"
               "                                    run CMD in the node (or ROLE: router.PVD,\n"
               "                                    internet) namespace, with this mif first in\n"
               "                                    PATH; in the node, mif commands use the\n"
               "                                    lab's policy (MIF_LAB, MIF_LAB_POLICY)\n"
               "       mif lab portal TOPOLOGY PVD auth|unauth|status\n"
               "       mif lab demo [--as NAME]     two PvDs, one client on each, each line\n"
               "                                    as it can be pasted; the lab stays up\n\n"
               "TOPOLOGY is a file or a built-in name:");
  for (const auto& n : builtinTopologies()) std::fprintf(out, " %s", n.c_str());
  std::fprintf(out,
               ".\nNetworks of network namespaces named miflab-TOPOLOGY-*, state in "
               "/run/mif-lab/TOPOLOGY;\nsee docs/lab.md. Needs root.\n");
}

bool load(std::string_view arg, Topology& t) {
  std::string err;
  if (loadTopology(arg, t, err)) return true;
  if (err.find(": error: ") != std::string::npos) std::fprintf(stderr, "%s\n", err.c_str());
  else cli::error("lab", err);
  return false;
}

std::string roleNamespace(const Topology& t, std::string_view role) {
  if (role == "node") return t.nsNode();
  if (role == "internet" || role == "inet") return t.hasInternet() ? t.nsInternet() : "";
  for (std::string_view prefix : {"router.", "r-"}) {
    if (role.rfind(prefix, 0) == 0) {
      std::string pvd(role.substr(prefix.size()));
      return t.pvd(pvd) ? t.nsRouter(pvd) : "";
    }
  }
  return "";
}

}  // namespace

int exec(const Topology& t, std::string_view role, char** argv) {
  std::string ns = roleNamespace(t, role);
  if (ns.empty()) {
    cli::error("lab exec", "no role '" + std::string(role) + "' in " + t.name +
                               " (node, router.PVD, internet)");
    return cli::kExitUsage;
  }
  int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    cli::error("lab exec", ns + ": " + std::strerror(errno) + " (is " + t.name + " up?)");
    return cli::kExitFailure;
  }
  if (::setns(fd, CLONE_NEWNET) != 0) {
    cli::error("lab exec", std::string("setns: ") + std::strerror(errno));
    return cli::kExitFailure;
  }
  // For the mif commands run inside (docs/lab.md "Playing in the lab"): which lab, the
  // node's PvDs as a policy (in the node only: it describes the node's interfaces), and
  // the directory of this mif first in PATH, so that `mif` there is this build's.
  ::setenv(cli::kLabEnv, t.name.c_str(), 1);
  if (ns == t.nsNode())
    ::setenv(cli::kLabPolicyEnv, (t.stateDir() + "/policy.toml").c_str(), 1);
  else
    ::unsetenv(cli::kLabPolicyEnv);
  if (std::string self = sys::selfExe(); self.find('/') != std::string::npos) {
    std::string dir = self.substr(0, self.rfind('/'));
    const char* path = std::getenv("PATH");
    std::string rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    if (rest != dir && rest.rfind(dir + ":", 0) != 0) ::setenv("PATH", (dir + ":" + rest).c_str(), 1);
  }
  // As `ip netns exec`: /sys of this namespace, so /sys/class/net lists its interfaces.
  if (::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) == 0) {
    ::umount2("/sys", MNT_DETACH);
    ::mount("sysfs", "/sys", "sysfs", 0, nullptr);
  }
  ::execvp(argv[0], argv);
  int e = errno;
  cli::error(argv[0], std::strerror(e));
  return e == ENOENT ? cli::kExitNotFound : cli::kExitCannotExecute;
}

}  // namespace mif::lab

namespace mif::cmd {

int lab(int argc, char** argv) {
  using namespace mif::lab;
  if (argc < 2) {
    usage(stderr);
    return cli::kExitUsage;
  }
  std::string_view verb = argv[1];
  // `mif lab up --help` too (only right after the verb: `exec T -- CMD --help` is CMD's).
  const std::string_view first = argc > 2 ? std::string_view(argv[2]) : std::string_view();
  if (verb == "--help" || verb == "-h" || verb == "help" || first == "--help" || first == "-h") {
    usage(stdout);
    return cli::kExitOk;
  }
  if (::geteuid() != 0) {
    cli::error("lab", "needs root to create network namespaces (try: sudo mif lab ...)");
    return cli::kExitFailure;
  }
  auto needArgs = [&](int n, const char* synopsis) {
    if (argc >= n) return true;
    cli::error("lab " + std::string(verb), std::string("usage: mif lab ") + synopsis);
    return false;
  };
  Topology t;
  if (verb == "up") {
    if (!needArgs(3, "up TOPOLOGY [--as NAME] [--quiet]") || !load(argv[2], t))
      return cli::kExitUsage;
    bool quiet = false;
    for (int i = 3; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a == "--quiet") {
        quiet = true;
      } else if (a == "--as" && i + 1 < argc && validInstanceName(argv[i + 1])) {
        t.name = argv[++i];
      } else {
        cli::error("lab up", "unexpected '" + std::string(a) +
                                 "' (--as wants a name of 1-40 of [a-z0-9-])");
        return cli::kExitUsage;
      }
    }
    return up(t, quiet);
  }
  if (verb == "down") {
    if (!needArgs(3, "down TOPOLOGY|--all")) return cli::kExitUsage;
    if (std::string_view(argv[2]) == "--all") return downAll(false);
    return down(argv[2], false);
  }
  if (verb == "status") return status(argc > 2 && std::string_view(argv[2]) == "--json");
  if (verb == "facts") {
    if (!needArgs(3, "facts TOPOLOGY") || !load(argv[2], t)) return cli::kExitUsage;
    return facts(t);
  }
  if (verb == "exec") {
    if (!needArgs(3, "exec TOPOLOGY [--in ROLE] -- CMD [ARG...]") || !load(argv[2], t))
      return cli::kExitUsage;
    std::string role = "node";
    int i = 3;
    if (i + 1 < argc && std::string_view(argv[i]) == "--in") {
      role = argv[i + 1];
      i += 2;
    }
    if (i < argc && std::string_view(argv[i]) == "--") ++i;
    if (i >= argc) {
      cli::error("lab exec", "no command given");
      return cli::kExitUsage;
    }
    return exec(t, role, argv + i);
  }
  if (verb == "portal") {
    if (!needArgs(5, "portal TOPOLOGY PVD auth|unauth|status") || !load(argv[2], t))
      return cli::kExitUsage;
    return portal(t, argv[3], argv[4]);
  }
  if (verb == "demo") {
    std::string as;
    for (int i = 2; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a == "--as" && i + 1 < argc && validInstanceName(argv[i + 1])) {
        as = argv[++i];
      } else {
        cli::error("lab demo", "unexpected '" + std::string(a) +
                                   "' (--as wants a name of 1-40 of [a-z0-9-])");
        return cli::kExitUsage;
      }
    }
    return demo(as);
  }
  if (verb == "serve") return serve(argc - 1, argv + 1);
  if (verb == "delay") return delayRelay(argc - 1, argv + 1);
  cli::error("lab", "unknown subcommand '" + std::string(verb) + "' (try 'mif lab --help')");
  return cli::kExitUsage;
}

}  // namespace mif::cmd
