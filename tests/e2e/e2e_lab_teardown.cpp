// `mif lab down` leaves nothing behind: no namespace, link, process or file, also after
// `mif lab up` was killed half-way; `up` is idempotent; without root, one clear line.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <dirent.h>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "lab.h"

using namespace std::chrono_literals;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::mifBinary;
using mif::e2e::runHere;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> labNamespaces(const std::string& topology) {
  std::vector<std::string> out;
  std::string prefix = "miflab-" + topology + "-";
  if (DIR* d = ::opendir("/run/netns")) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).rfind(prefix, 0) == 0) out.push_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

// Live processes whose command line mentions the topology's state directory (dnsmasq's
// config, the services' logs) or that live in one of the given namespace inodes.
std::vector<std::string> labProcesses(const std::string& topology, const std::set<ino_t>& inodes) {
  std::vector<std::string> out;
  std::string state = "/run/mif-lab/" + topology + "/";
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string pid = e->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = slurp("/proc/" + pid + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || stat[close + 2] == 'Z') continue;
    std::string cmd = slurp("/proc/" + pid + "/cmdline");
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    struct stat st {};
    bool inLab = ::stat(("/proc/" + pid + "/ns/net").c_str(), &st) == 0 && inodes.count(st.st_ino);
    if (inLab || cmd.find(state) != std::string::npos) out.push_back(pid + " " + cmd);
  }
  ::closedir(d);
  return out;
}

std::set<ino_t> inodesOf(const std::vector<std::string>& namespaces) {
  std::set<ino_t> out;
  for (const auto& ns : namespaces) {
    struct stat st {};
    if (::stat(("/run/netns/" + ns).c_str(), &st) == 0) out.insert(st.st_ino);
  }
  return out;
}

void expectNothingLeft(const std::string& topology, const std::set<ino_t>& inodes) {
  EXPECT_TRUE(labNamespaces(topology).empty());
  EXPECT_NE(::access(("/run/mif-lab/" + topology).c_str(), F_OK), 0) << "state directory left";
  auto procs = labProcesses(topology, inodes);
  EXPECT_TRUE(procs.empty()) << procs.size() << " processes left, first: " << procs.front();
}

}  // namespace

TEST(LabTeardown, DownLeavesNothing) {
  MIF_E2E_REQUIRE_LAB();
  std::set<ino_t> inodes;
  std::string name;
  {
    Lab lab("wifi-vpn");
    ASSERT_TRUE(lab.ok()) << lab.error();
    name = lab.name();
    auto namespaces = labNamespaces(name);
    EXPECT_EQ(namespaces.size(), 4u);
    inodes = inodesOf(namespaces);
    EXPECT_GE(labProcesses(name, inodes).size(), 4u);  // 2 dnsmasq, 2 services
    // A test's own leftovers in the node go too.
    ASSERT_TRUE(lab.shell("sleep 60 >/dev/null 2>&1 &").ok());
    auto cap = lab.capture("wifi");
    ASSERT_TRUE(cap.running());
  }
  expectNothingLeft(name, inodes);
}

// Killed at several points of its bring-up (namespaces made, links made, services being
// started), `up` leaves something that `down` removes completely.
TEST(LabTeardown, DownAfterKilledUp) {
  MIF_E2E_REQUIRE_LAB();
  const std::string name = "lt-killed-" + std::to_string(::getpid());
  const auto bound = ExecOptions().within(30s);
  ASSERT_TRUE(runHere({mifBinary(), "lab", "down", name}, bound).ok());
  for (auto delay : {2ms, 15ms, 40ms, 80ms, 150ms}) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl(mifBinary().c_str(), "mif", "lab", "up", "onelink", "--as", name.c_str(),
              "--quiet", nullptr);
      ::_exit(127);
    }
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    auto inodes = inodesOf(labNamespaces(name));
    auto down = runHere({mifBinary(), "lab", "down", name}, bound);
    EXPECT_TRUE(down.ok()) << "killed after " << delay.count() << " ms: " << down.describe();
    expectNothingLeft(name, inodes);
  }
  // down on nothing succeeds too.
  EXPECT_TRUE(runHere({mifBinary(), "lab", "down", name}, bound).ok());
}

TEST(LabTeardown, UpIsIdempotent) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("captive");
  ASSERT_TRUE(lab.ok()) << lab.error();
  std::string pids = slurp(lab.stateDir() + "/dns-hotspot.pid") +
                     slurp(lab.stateDir() + "/serve-inet.pid");
  auto routes = lab.exec({"ip", "route"}).out + lab.exec({"ip", "-6", "route"}).out;
  auto r = lab.mif({"lab", "up", "captive", "--as", lab.name()});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(slurp(lab.stateDir() + "/dns-hotspot.pid") + slurp(lab.stateDir() + "/serve-inet.pid"),
            pids);
  EXPECT_EQ(lab.exec({"ip", "route"}).out + lab.exec({"ip", "-6", "route"}).out, routes);
  auto rules = lab.exec({"ip", "-6", "rule"}, ExecOptions().in("router.hotspot"));
  // The local table's rule moved behind the BCP 38 rules (pref 100), none left at pref 0.
  EXPECT_NE(rules.out.rfind("0:", 0), 0u) << rules.out;
  EXPECT_EQ(rules.out.find("\n0:"), std::string::npos) << rules.out;
  EXPECT_NE(rules.out.find("100:\tfrom all lookup local"), std::string::npos) << rules.out;
}

TEST(LabCommand, NeedsRootSaysSoInOneLine) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("overlap");
  ASSERT_TRUE(lab.ok()) << lab.error();
  auto r = lab.exec({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", mifBinary(),
                     "lab", "status"},
                    ExecOptions());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("mif: lab: needs root"), std::string::npos) << r.err;
}

TEST(LabCommand, FactsAndStatus) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("wifi-vpn");
  ASSERT_TRUE(lab.ok()) << lab.error();
  EXPECT_EQ(lab.fact("pvds"), "vpn wifi");
  EXPECT_EQ(lab.link("vpn"), "tun0");
  EXPECT_EQ(lab.fact("pvd.vpn.domains"), "corp.example");
  EXPECT_EQ(lab.fact("host.wiki.pvd"), "vpn");
  EXPECT_EQ(lab.ns("router.vpn"), "miflab-" + lab.name() + "-r-vpn");
  EXPECT_EQ(lab.name(), "wifi-vpn-t" + std::to_string(::getpid()));
  auto r = lab.mif({"lab", "status", "--json"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("\"name\":\"" + lab.name() + "\""), std::string::npos) << r.out;
  r = lab.mif({"lab", "up", "no-such-topology"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no topology file or built-in topology named 'no-such-topology'"),
            std::string::npos)
      << r.err;
}
