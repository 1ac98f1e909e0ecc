// `mif run [--policy FILE] [--pvd NAME]... [--dns ADDR]... [--strict] [--enforce]
//          [--probe] [--trace[=FILE]] -- PROGRAM [ARG...]`
//
// Checks what it can check before the program starts (the policy, the PvD names, whether
// the loader will honour LD_PRELOAD for PROGRAM), then hands the choice to libmif.so
// through the environment (DESIGN.md "Environment contract") and execs PROGRAM: no mif
// process stays behind (but the prober of a policy with `probe`, probe/prober.h, which is
// not the program's child and ends with it), and PROGRAM's exit status is the status. Like env(1): 125 when mif
// itself fails, 126 when PROGRAM cannot be executed, 127 when it is not found.
#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "enforce/enforce.h"
#include "enforce/filter.h"
#include "mif/policy/loader.h"
#include "mif/policy/policy.h"
#include "mif/view/live_view.h"
#include "probe/probe.h"
#include "probe/prober.h"

namespace mif::cmd {
namespace {

constexpr const char* kUsage =
    "Usage: mif run [--policy FILE] [--pvd NAME]... [--dns ADDR]... [--strict]\n"
    "               [--enforce] [--probe] [--trace[=FILE]] -- PROGRAM [ARG...]\n"
    "\n"
    "Runs PROGRAM with its sockets and names on the chosen provisioning domains.\n"
    "\n"
    "  --policy FILE   policy file (on top of /etc/mif/policy.toml and the user's)\n"
    "  --pvd NAME      a PvD of the policy, or an interface (an ad hoc PvD); repeated or\n"
    "                  comma-separated it is an ordered preference\n"
    "  --dns ADDR      DNS servers of ad hoc PvDs (repeated or comma-separated)\n"
    "  --strict        nothing leaves through any other PvD; fail instead of falling back.\n"
    "                  Also closes io_uring (io_uring_setup fails with ENOSYS, as on a\n"
    "                  kernel without it; programs fall back to the plain calls mif sees),\n"
    "                  as does any strict [default] or rule of the policy\n"
    "  --enforce       supervise system calls too (static and Go programs)\n"
    "  --probe         first probe the preference (the --pvd list, else the policy's\n"
    "                  non-strict [default]) as 'mif probe --count 3' does, and move the\n"
    "                  PvDs that are not ok to its end; nothing is added or removed, and\n"
    "                  --strict still never uses a PvD outside --pvd\n"
    "  --trace[=FILE]  one JSON line per decision, to FILE or stderr\n"
    "\n"
    "A PvD of the policy with 'probe' is probed every 'probe_interval_ms' while PROGRAM\n"
    "runs, by a prober process of mif's (not PROGRAM's child), and PROGRAM's health of\n"
    "the PvD follows (docs/policy.md, \"Active probes\").\n"
    "\n"
    "Inside 'mif lab exec NAME' (MIF_LAB_POLICY set), the lab's policy is the policy\n"
    "file unless --policy is given: 'mif lab exec wifi-vpn -- mif run --pvd vpn -- ...'.\n"
    "\n"
    "Closing io_uring takes a seccomp filter. Without CAP_SYS_ADMIN (not root), the\n"
    "kernel then requires no_new_privs: set-user-ID, set-group-ID and file-capability\n"
    "programs started under the pin run without those privileges (sudo fails, ping\n"
    "without CAP_NET_RAW fails), as under --enforce.\n"
    "\n"
    "Exit status: PROGRAM's own; 125 if mif fails, 126 if PROGRAM cannot be executed,\n"
    "127 if it is not found.\n";

struct RunOptions {
  std::optional<std::string> policyFile;
  std::vector<std::string> pvds;
  std::vector<std::string> dns;
  bool strict = false;
  bool enforce = false;
  bool probe = false;
  std::optional<std::string> trace;  // "stderr" or a path
  std::vector<char*> program;        // PROGRAM ARG... (argv pointers, null-terminated later)
};

void splitInto(std::string_view list, std::vector<std::string>* out) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (!item.empty()) out->emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// Returns an exit status to stop with, or -1 to go on.
int parse(int argc, char** argv, RunOptions* o) {
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string> {
      if (a.size() > flag.size() && a[flag.size()] == '=') return std::string(a.substr(flag.size() + 1));
      if (i + 1 < argc) return std::string(argv[++i]);
      cli::error(std::string(flag), "needs a value (try 'mif run --help')");
      return std::nullopt;
    };
    auto is = [&](std::string_view flag) {
      return a == flag || (a.size() > flag.size() && a.substr(0, flag.size()) == flag &&
                           a[flag.size()] == '=');
    };
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return cli::kExitOk;
    }
    if (is("--policy")) {
      auto v = value("--policy");
      if (!v) return cli::kExitRunFailed;
      o->policyFile = *v;
    } else if (is("--pvd")) {
      auto v = value("--pvd");
      if (!v) return cli::kExitRunFailed;
      if (!cli::pvdNames(*v, &o->pvds)) {
        cli::noPvdNamedError("", *v);
        return cli::kExitRunFailed;
      }
    } else if (is("--dns")) {
      auto v = value("--dns");
      if (!v) return cli::kExitRunFailed;
      splitInto(*v, &o->dns);
    } else if (a == "--strict") {
      o->strict = true;
    } else if (a == "--enforce") {
      o->enforce = true;
    } else if (a == "--probe") {
      o->probe = true;
    } else if (a == "--trace") {
      o->trace = "stderr";
    } else if (a.substr(0, 8) == "--trace=") {
      o->trace = std::string(a.substr(8));
    } else if (!a.empty() && a[0] == '-') {
      cli::error(std::string(a), "unknown option (try 'mif run --help')");
      return cli::kExitRunFailed;
    } else {
      break;  // PROGRAM without "--"
    }
  }
  for (; i < argc; ++i) o->program.push_back(argv[i]);
  if (o->program.empty()) {
    cli::error("run", "no PROGRAM given (try 'mif run --help')");
    return cli::kExitRunFailed;
  }
  return -1;
}

std::string absolutePath(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) return p;
  return std::string(cwd) + "/" + p;
}

// libmif.so beside this binary: <dir>/../<libdir>/mif/libmif.so, the same relative layout
// in the build tree (build/bin, build/lib/mif) and once installed (prefix/bin,
// prefix/lib/mif or a multiarch libdir).
std::optional<std::string> findPreloadLibrary() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return std::nullopt;
  self[n] = '\0';
  std::string dir(self);
  dir.erase(dir.rfind('/'));
  std::string prefix = dir.substr(0, dir.rfind('/'));
  for (const char* rel : {MIF_PRELOAD_RELDIR, "lib/mif", "lib64/mif", "lib/x86_64-linux-gnu/mif",
                          "lib/aarch64-linux-gnu/mif"}) {
    std::string candidate = prefix + "/" + rel + "/libmif.so";
    if (access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// PROGRAM as execvp will find it: "" when not found (errno set).
std::string resolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), F_OK) != 0) return {};
    return name;
  }
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  errno = ENOENT;
  return {};
}

// The loader runs set-user-ID, set-group-ID and file-capability programs in secure mode,
// where it ignores LD_PRELOAD: mif would silently do nothing there.
std::optional<std::string> secureExecReason(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  if (st.st_mode & S_ISUID) return std::string("is set-user-ID");
  if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP)) return std::string("is set-group-ID");
  if (getxattr(path.c_str(), "security.capability", nullptr, 0) > 0) {
    return std::string("has file capabilities");
  }
  return std::nullopt;
}

// Loads the layers as the library will and compiles them with the pin; prints `mif
// check`-style lines (unless `quiet`) and returns false when they do not validate.
std::optional<policy::Policy> compilePolicy(const RunOptions& o, const policy::Pin& pin,
                                            bool quiet = false) {
  std::vector<policy::PolicyDoc> layers;
  bool ok = true;
  auto load = [&](const std::string& file, policy::Layer layer) {
    policy::LoadResult r = policy::loadFile(file, layer);
    if (!quiet)
      for (const auto& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
    ok = ok && r.ok();
    layers.push_back(std::move(r.doc));
  };
  const std::string sys = policy::systemPolicyPath();
  if (!sys.empty() && access(sys.c_str(), R_OK) == 0) load(sys, policy::Layer::System);
  const std::string user = policy::userPolicyPath();
  if (!user.empty() && access(user.c_str(), R_OK) == 0) load(user, policy::Layer::User);
  if (o.policyFile) load(*o.policyFile, policy::Layer::CommandLine);
  if (!ok) return std::nullopt;
  policy::CompileResult cr = policy::Policy::compile(std::move(layers), pin);
  if (!quiet)
    for (const auto& d : cr.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  return std::move(cr.policy);
}

void setOrUnset(const char* name, const std::string& value) {
  if (value.empty()) {
    unsetenv(name);
  } else {
    setenv(name, value.c_str(), 1);
  }
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

#if defined(MIF_SANITIZERS) && defined(__SANITIZE_ADDRESS__)
extern "C" void __asan_init();
#endif

// A build with -DMIF_SANITIZE=ON has an ASan-instrumented libmif.so, which needs the ASan
// runtime to be the first library of the program (ASan aborts otherwise): put the runtime
// this mif binary was linked with in front of LD_PRELOAD. LeakSanitizer is turned off for
// the program (unless ASAN_OPTIONS says otherwise): the programs run under mif are not
// ours, and their leaks at exit are not mif's. Release builds do nothing here.
void preloadSanitizerRuntime() {
#if defined(MIF_SANITIZERS) && defined(__SANITIZE_ADDRESS__)
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&__asan_init), &info) == 0 || info.dli_fname == nullptr) return;
  std::string preload = std::string(info.dli_fname) + ":" + std::getenv("LD_PRELOAD");
  setenv("LD_PRELOAD", preload.c_str(), 1);
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string options = asan != nullptr ? asan : "";
  if (options.find("detect_leaks") == std::string::npos)
    options += std::string(options.empty() ? "" : ":") + "detect_leaks=0";
  setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
}

// libmif.so dlopens libmif-engine.so on the program's first network call, and the engine's
// thread-local storage is initial-exec (a hook reads its re-entry flag without
// __tls_get_addr, which may allocate): a library dlopened after start-up gets that from
// the loader's static TLS surplus, about 1.5 KB in glibc 2.36, most of which the engine
// needs. A program that dlopened another such library first (Python importing the mif
// module, whose libmif-api.so is one, through ctypes) leaves too little, and the engine
// would not load ("cannot allocate memory in static TLS block"): mif run raises the
// surplus's optional part for the programs it starts, unless the environment sets it.
void reserveStaticTls() {
  const char* existing = std::getenv("GLIBC_TUNABLES");
  std::string tunables = existing != nullptr ? existing : "";
  if (tunables.find("glibc.rtld.optional_static_tls=") != std::string::npos) return;
  tunables += std::string(tunables.empty() ? "" : ":") + "glibc.rtld.optional_static_tls=4096";
  setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
}

// LD_PRELOAD with `lib` first and the program's own preloads after it (never replaced);
// an earlier copy of the same library is dropped so it is not loaded twice.
std::string prependPreload(const std::string& lib) {
  const char* existing = std::getenv("LD_PRELOAD");
  std::string out = lib;
  std::string_view rest = existing != nullptr ? existing : "";
  while (!rest.empty()) {
    size_t sep = rest.find_first_of(" :");
    std::string_view item = rest.substr(0, sep);
    if (!item.empty() && item != lib) out += ":" + std::string(item);
    if (sep == std::string_view::npos) break;
    rest.remove_prefix(sep + 1);
  }
  return out;
}

// --probe: probes the preference (the --pvd list, else the policy's [default] list) and
// returns it with the PvDs that are not ok moved to its end, each group in its own order;
// nullopt when the order stays. One stderr line per PvD moved (or kept) says why.
std::optional<std::vector<std::string>> probedOrder(const RunOptions& o, const policy::Policy& compiled) {
  std::vector<std::string> names = o.pvds;
  if (names.empty()) {
    const auto& d = compiled.defaults();
    if (!d || d->pvd.empty()) {
      cli::error("run", "--probe: no --pvd and no [default] in the policy: no preference to reorder");
      return std::nullopt;
    }
    // [default]'s PvDs are handed over as a pin (MIF_PVD), which is strict exactly when
    // MIF_STRICT is set: a non-strict pin would weaken a strict [default], and --strict
    // would turn the pin into step 2, above every rule. Either way the order is kept.
    if (d->strict || o.strict) {
      cli::error("run", std::string("--probe: ") +
                            (d->strict ? "the policy's [default] is strict" : "--strict without --pvd") +
                            ": [default] keeps its order (name the PvDs: --pvd ... --strict --probe)");
      return std::nullopt;
    }
    names = d->pvd;
  }
  std::vector<policy::PvdId> ids;
  for (const auto& n : names) ids.push_back(*compiled.findPvd(n));  // compile checked them
  std::unique_ptr<view::Snapshot> snap = view::LiveView::readOnce(compiled);
  if (!snap->error.empty()) {
    cli::error("run", "--probe: " + snap->error);
    return std::nullopt;
  }
  probe::Options po;
  po.count = 3;
  std::vector<probe::Result> results = probe::run(compiled, *snap, ids, po);
  std::vector<std::string> good, bad;
  std::vector<std::string> why;
  for (size_t k = 0; k < names.size(); ++k) {
    const probe::Result& r = results[k];
    if (r.verdict == probe::Verdict::Ok) {
      good.push_back(names[k]);
    } else {
      bad.push_back(names[k]);
      why.push_back(r.why.empty() ? std::string(probe::verdictName(r.verdict)) : r.why);
    }
  }
  if (bad.empty()) return std::nullopt;
  for (size_t k = 0; k < bad.size(); ++k) {
    cli::error("run", good.empty() ? bad[k] + " kept: " + why[k] + ", and no PvD of the preference is ok"
                                   : bad[k] + " demoted: " + why[k]);
  }
  if (good.empty()) return std::nullopt;
  good.insert(good.end(), bad.begin(), bad.end());
  return good;
}

// Whether any socket of the program can be decided strictly: a strict pin, a strict
// [default], or any strict rule (the preload's own test, preload/src/init.cpp).
bool strictPossible(const policy::Policy& p, bool strictPin) {
  if (strictPin || (p.defaults() && p.defaults()->strict)) return true;
  for (const auto& rule : p.rules())
    if (rule.strict) return true;
  return false;
}

}  // namespace

int run(int argc, char** argv) {
  RunOptions o;
  if (int status = parse(argc, argv, &o); status >= 0) return status;

  // --policy as given (for the lab's notes), then the lab's policy in its place.
  const std::vector<std::string> given =
      o.policyFile ? std::vector<std::string>{*o.policyFile} : std::vector<std::string>{};
  if (std::vector<std::string> layer = cli::commandLineLayer(given); !layer.empty())
    o.policyFile = layer.front();
  if (o.policyFile) {
    if (std::string why = cli::unreadablePolicy(*o.policyFile, given); !why.empty()) {
      cli::error(given.empty() ? cli::policyArgName(*o.policyFile, given) : *o.policyFile, why);
      return cli::kExitRunFailed;
    }
  }
  policy::Pin pin;
  pin.pvds = o.pvds;
  pin.strict = o.strict;
  for (const auto& d : o.dns) {
    auto a = policy::IpAddress::parse(d);
    if (!a) {
      cli::error("--dns " + d, "not an IPv4 or IPv6 address");
      return cli::kExitRunFailed;
    }
    pin.dns.push_back(*a);
  }
  std::optional<policy::Policy> compiled = compilePolicy(o, pin);
  if (!compiled) {
    cli::error(o.policyFile ? *o.policyFile : std::string("policy"), "invalid (see above)");
    return cli::kExitRunFailed;
  }
  // A --pvd that names no PvD of the policy became an ad hoc PvD for an interface of that
  // name: it must exist now (a policy PvD may legitimately be down: a VPN not yet up).
  if (!o.pvds.empty()) {
    std::unique_ptr<view::Snapshot> snap = view::LiveView::readOnce(*compiled);
    for (const auto& name : o.pvds) {
      auto id = compiled->findPvd(name);
      if (!id) {
        cli::unknownPvdError("--pvd " + name, "no PvD or interface of that name", *compiled, snap.get(), given);
        return cli::kExitRunFailed;
      }
      const policy::PvdDef& def = compiled->pvds()[*id];
      const bool published =
          snap && !def.explicitId.empty() &&
          std::any_of(snap->pvds.begin(), snap->pvds.end(),
                      [&](const view::BoundPvd& b) { return b.id == *id && b.ifindex != 0; });
      if (def.adHoc && snap && snap->error.empty() && !published &&
          snap->interfaceByName(def.interfaceGlob) == nullptr) {
        cli::unknownPvdError("--pvd " + name, "no PvD of that name in the policy and no such interface",
                             *compiled, snap.get(), given);
        return cli::kExitRunFailed;
      }
    }
  }

  const std::string program = o.program[0];
  const std::string path = resolveProgram(program);
  if (path.empty()) {
    cli::error(program, std::strerror(ENOENT));
    return cli::kExitNotFound;
  }
  if (auto why = secureExecReason(path); why && o.enforce) {
    // no_new_privs (required for the filter) makes exec ignore set-id bits and file
    // capabilities: the program runs, but as the caller.
    cli::error(program, *why + ": under --enforce it runs without those privileges (no_new_privs)");
  } else if (why) {
    cli::error(program, *why + ": the dynamic loader ignores LD_PRELOAD for it, so mif cannot "
                               "act on it; use 'mif run --enforce'");
    return cli::kExitRunFailed;
  }
  std::optional<std::string> lib = findPreloadLibrary();
  if (!lib) {
    cli::error("run", "libmif.so not found beside the mif binary (expected ../" MIF_PRELOAD_RELDIR
                      "/libmif.so)");
    return cli::kExitRunFailed;
  }

  // --probe changes only the order of the preference handed over as MIF_PVD (a [default]
  // preference becomes a non-strict pin of the same PvDs: step 6, just before [default]).
  if (o.probe) {
    if (auto order = probedOrder(o, *compiled)) {
      o.pvds = *order;
      pin.pvds = *order;
      compiled = compilePolicy(o, pin, /*quiet=*/true);  // for --enforce's decisions
      if (!compiled) {
        cli::error("run", "--probe: the reordered preference does not compile");
        return cli::kExitRunFailed;
      }
    }
  }

  // --trace=FILE: a file this user can append to, checked here where the error can be seen
  // (the library, or the supervisor, opens it later, when a failure can only be silent).
  if (o.trace && *o.trace != "stderr") {
    const int fd = o.trace->empty() ? -1
                                    : ::open(absolutePath(*o.trace).c_str(),
                                             O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      cli::error("--trace=" + *o.trace, o.trace->empty() ? "needs a FILE (--trace alone: stderr)"
                                                         : std::strerror(errno));
      return cli::kExitRunFailed;
    }
    ::close(fd);
  }

  // Active probes (a PvD with `probe`): a prober of its own runs them while the program
  // runs, and the program's library reads what it finds (probe/prober.h).
  const probe::ProberStart prober = probe::startProber(*compiled);
  if (!prober.error.empty())
    cli::error("run", "probe: " + prober.error + "; the program runs without active probes");

  setenv("LD_PRELOAD", prependPreload(*lib).c_str(), 1);
  reserveStaticTls();
  preloadSanitizerRuntime();
  setOrUnset("MIF_POLICY", o.policyFile ? absolutePath(*o.policyFile) : "");
  setOrUnset("MIF_PVD", join(o.pvds));
  setOrUnset("MIF_DNS", join(o.dns));
  setOrUnset("MIF_STRICT", o.strict ? "1" : "");
  setOrUnset("MIF_PROBES", prober.path);
  setOrUnset("MIF_TRACE", !o.trace ? "" : *o.trace == "stderr" ? "stderr" : absolutePath(*o.trace));

  o.program.push_back(nullptr);
  if (o.enforce) {
    enforce::EnforceOptions eo;
    eo.policy = &*compiled;
    eo.trace = !o.trace ? "" : *o.trace == "stderr" ? "stderr" : absolutePath(*o.trace);
    eo.probes = prober.path;
    return enforce::runEnforced(eo, o.program.data());
  }
  // io_uring connects and sends in the kernel, where the preload never sees it: a program
  // that can be strict must not have it (FACTS.md "io_uring"). --enforce's filter closes
  // it too, so only this path needs it. Never run the program unprotected.
  if (strictPossible(*compiled, o.strict)) {
    if (int rc = enforce::installIoUringClosure(); rc != 0) {
      cli::error("run", std::string("cannot close io_uring under --strict: ") + std::strerror(-rc));
      return cli::kExitRunFailed;
    }
  }
  execv(path.c_str(), o.program.data());
  const int err = errno;
  cli::error(program, std::strerror(err));
  return err == ENOENT ? cli::kExitNotFound : cli::kExitCannotExecute;
}

}  // namespace mif::cmd
