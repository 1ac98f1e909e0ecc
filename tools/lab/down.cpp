// `mif lab down` and `mif lab status`. Down works from what is on the machine, not from
// what the last `up` finished: the namespace list written before anything was created,
// the topology file when it is still there, and the namespace names themselves. It kills
// every process living in those namespaces (the recorded daemons, and whatever a test or a
// killed `up` left there), then removes the namespaces (their links go with them) and the
// state directory.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "cli.h"
#include "lab/lab.h"
#include "lab/system.h"

namespace mif::lab {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('\n', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::vector<std::string> stateNames() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kStateRoot, ec))
    if (e.is_directory()) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

// Namespaces of topology NAME found by prefix, leaving out those of another topology
// whose name extends this one ("wifi" must not take "wifi-vpn"'s namespaces).
std::vector<std::string> namespacesByPrefix(const std::string& name) {
  std::string prefix = std::string(kNsPrefix) + name + "-";
  std::vector<std::string> longer;
  for (const auto& other : stateNames())
    if (other != name && other.rfind(name + "-", 0) == 0) longer.push_back(other);
  std::vector<std::string> out;
  for (const auto& ns : sys::namespacesWithPrefix(prefix)) {
    bool theirs = std::any_of(longer.begin(), longer.end(), [&](const std::string& o) {
      return ns.rfind(std::string(kNsPrefix) + o + "-", 0) == 0;
    });
    if (!theirs) out.push_back(ns);
  }
  return out;
}

int teardown(const std::string& name, const std::set<std::string>& known, bool quiet) {
  std::string state = std::string(kStateRoot) + "/" + name;
  std::set<std::string> namespaces = known;
  for (const auto& ns : lines(sys::readFile(state + "/namespaces"))) namespaces.insert(ns);
  for (const auto& ns : namespacesByPrefix(name)) namespaces.insert(ns);

  std::set<ino_t> inodes;
  for (const auto& ns : namespaces)
    if (ino_t i = sys::namespaceInode(ns)) inodes.insert(i);
  // Also what names the state directory on its command line (dnsmasq's configuration,
  // the services' logs): such a process may have left the namespaces' reach.
  auto pids = sys::processesIn(inodes, state + "/");
  auto left = sys::killAll(pids, std::chrono::milliseconds(2000));
  int status = cli::kExitOk;
  for (pid_t p : left) {
    cli::error("lab down", "process " + std::to_string(p) + " in " + name + " did not die");
    status = cli::kExitFailure;
  }
  size_t removed = 0;
  for (const auto& ns : namespaces) {
    if (::access(("/run/netns/" + ns).c_str(), F_OK) != 0) continue;
    if (sys::deleteNamespace(ns)) {
      ++removed;
    } else {
      cli::error("lab down", "cannot remove namespace " + ns);
      status = cli::kExitFailure;
    }
  }
  std::error_code ec;
  fs::remove_all(state, ec);
  // The root holds nothing but topologies' directories: leave no trace once empty.
  ::rmdir(std::string(kStateRoot).c_str());
  if (!quiet && status == cli::kExitOk)
    std::printf("mif lab: %s down (%zu namespaces, %zu processes)\n", name.c_str(), removed,
                pids.size());
  return status;
}

}  // namespace

int down(std::string_view fileOrName, bool quiet) {
  std::set<std::string> known;
  Topology t;
  std::string err;
  std::string name;
  if (loadTopology(fileOrName, t, err)) {
    name = t.name;
    for (const auto& ns : t.namespaces()) known.insert(ns);
  } else {
    name = topologyName(fileOrName);
  }
  return teardown(name, known, quiet);
}

int downAll(bool quiet) {
  std::set<std::string> names;
  for (const auto& n : stateNames()) names.insert(n);
  int status = cli::kExitOk;
  for (const auto& n : names) status = std::max(status, teardown(n, {}, quiet));
  // Namespaces whose topology left no state directory (killed before writing it).
  auto orphans = sys::namespacesWithPrefix(std::string(kNsPrefix));
  if (!orphans.empty()) {
    std::set<std::string> all(orphans.begin(), orphans.end());
    status = std::max(status, teardown("orphans", all, quiet));
  }
  return status;
}

int status(bool json) {
  auto names = stateNames();
  std::set<std::string> claimed;
  std::string topologies;
  json::StringSink topologiesSink(&topologies);
  json::Array<json::StringSink> topologyList(topologiesSink);
  for (const auto& name : names) {
    std::string state = std::string(kStateRoot) + "/" + name;
    auto nss = lines(sys::readFile(state + "/namespaces"));
    std::set<ino_t> inodes;
    size_t present = 0;
    for (const auto& ns : nss) {
      claimed.insert(ns);
      if (ino_t i = sys::namespaceInode(ns)) {
        inodes.insert(i);
        ++present;
      }
    }
    size_t procs = sys::processesIn(inodes).size();
    std::string facts = sys::readFile(state + "/facts");
    std::string file;
    for (const auto& l : lines(facts))
      if (l.rfind("file=", 0) == 0) file = l.substr(5);
    if (json) {
      cli::JsonObject t(topologyList.element());
      t.str("name", name).str("file", file).unum("namespaces", nss.size());
      t.unum("namespaces_present", present).unum("processes", procs).str("state", state);
      t.close();
    } else {
      std::printf("%-16s %zu/%zu namespaces, %zu processes  %s\n", name.c_str(), present,
                  nss.size(), procs, file.c_str());
    }
  }
  topologyList.close();
  std::vector<std::string> orphans;
  for (const auto& ns : sys::namespacesWithPrefix(std::string(kNsPrefix)))
    if (!claimed.count(ns)) orphans.push_back(ns);
  if (json) {
    std::string out;
    json::StringSink sink(&out);
    cli::JsonObject o(sink);
    o.raw("topologies", topologies).strings("orphan_namespaces", orphans);
    o.close();
    std::printf("%s\n", out.c_str());
  } else {
    if (names.empty() && orphans.empty()) std::printf("no lab is up\n");
    for (const auto& ns : orphans)
      std::printf("orphan namespace %s (mif lab down --all removes it)\n", ns.c_str());
  }
  return cli::kExitOk;
}

}  // namespace mif::lab
