// The lab as a playground (issue 22): what a user pastes after the demo works. Inside
// `mif lab exec LAB`, `mif` is the build's binary (first in PATH) and every mif command
// takes the lab's policy as its command-line layer (MIF_LAB, MIF_LAB_POLICY), so
// `mif lab exec LAB -- mif run --pvd vpn --strict -- curl ...` fetches through the VPN,
// `mif explain` names the lab's policy, and an unknown PvD's error lists the PvDs there
// are and the lab in force. The demo prints its clients as such lines and runs them so.
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "lab.h"

using namespace std::chrono_literals;
using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::mifBinary;
using mif::e2e::runHere;

namespace {

// The built-in "wifi-vpn" under a name of our own, so that this program never meets
// another's instance (or a user's demo lab).
std::string topology() {
  static const std::string path = mif::e2e::renamedTopology("wifi-vpn", "playground");
  return path;
}

#define START_LAB(lab)   \
  MIF_E2E_REQUIRE_LAB(); \
  Lab lab(topology());   \
  ASSERT_TRUE(lab.ok()) << lab.error()

// `mif lab exec LAB -- ARGV...` from the root namespace, as a user types it.
CommandResult labExec(const Lab& lab, const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = 15s) {
  std::vector<std::string> full{mifBinary(), "lab", "exec", lab.name(), "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return runHere(full, ExecOptions().within(timeout));
}

std::string dirOf(const std::string& path) { return path.substr(0, path.rfind('/')); }

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(LabPlayground, PastedRunFetchesThroughTheVpn) {
  START_LAB(lab);
  lab.clearLogs();
  // No --policy: the lab's policy is the command-line layer; `mif` is found on PATH.
  auto r = labExec(lab, {"mif", "run", "--pvd", "vpn", "--strict", "--", "curl", "-s", "-m", "5",
                         "http://wiki.corp.example/"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("host=wiki"), std::string::npos) << r.out;
  auto seen = lab.served("wiki");
  ASSERT_EQ(seen.size(), 1u) << r.describe();
  EXPECT_EQ(lab.pvdOfAddress(seen[0].client), "vpn") << seen[0].client;
  EXPECT_TRUE(lab.dnsSaw("vpn", "wiki.corp.example"));
  EXPECT_FALSE(lab.dnsSaw("wifi", "wiki.corp.example", 0ms));
}

TEST(LabPlayground, ExecPutsThisMifFirstInPathAndNamesTheLab) {
  START_LAB(lab);
  auto r = labExec(lab, {"/bin/sh", "-c", "command -v mif; echo \"$MIF_LAB $MIF_LAB_POLICY\""});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, mifBinary() + "\n" + lab.name() + " " + lab.policyFile() + "\n");
  EXPECT_EQ(dirOf(lines(r.out)[0]), dirOf(mifBinary()));
  // Outside the node the lab's policy does not describe the namespace: not handed over.
  auto router = runHere({mifBinary(), "lab", "exec", lab.name(), "--in", "router.vpn", "--",
                         "/bin/sh", "-c", "echo \"[$MIF_LAB] [$MIF_LAB_POLICY]\""});
  ASSERT_TRUE(router.ok()) << router.describe();
  EXPECT_EQ(router.out, "[" + lab.name() + "] []\n");
}

TEST(LabPlayground, ExplainAndShowNameTheLabsPolicy) {
  START_LAB(lab);
  const std::string layer = "command line: " + lab.policyFile() + " (lab " + lab.name() + ", MIF_LAB_POLICY)";
  auto ex = labExec(lab, {"mif", "explain", "wiki.corp.example:80"});
  ASSERT_TRUE(ex.ok()) << ex.describe();
  EXPECT_NE(ex.out.find("policy     " + layer), std::string::npos) << ex.out;
  EXPECT_NE(ex.out.find("result     vpn"), std::string::npos) << ex.out;
  EXPECT_NE(ex.out.find(lab.policyFile() + ":"), std::string::npos) << "the deciding line: " << ex.out;

  auto show = labExec(lab, {"mif", "show"});
  ASSERT_TRUE(show.ok()) << show.describe();
  EXPECT_NE(show.out.find("policy " + layer), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("pvd vpn"), std::string::npos) << show.out;

  // --policy replaces the lab's policy, and the header says so.
  auto own = labExec(lab, {"mif", "explain", "--policy", "/dev/null", "wiki.corp.example:80"});
  ASSERT_TRUE(own.ok()) << own.describe();
  EXPECT_NE(own.out.find("policy     command line: /dev/null (--policy)"), std::string::npos) << own.out;
  EXPECT_EQ(own.out.find(lab.policyFile()), std::string::npos) << own.out;

  // check's reference checks: with no FILE, the lab's policy against the other layers.
  auto check = labExec(lab, {"mif", "check"});
  EXPECT_TRUE(check.ok()) << check.describe();
  EXPECT_NE(check.out.find(lab.policyFile() + ": ok (command line layer)"), std::string::npos) << check.out;
}

TEST(LabPlayground, UnknownPvdListsThePvdsAndTheLab) {
  START_LAB(lab);
  auto r = labExec(lab, {"mif", "run", "--pvd", "vpm", "--strict", "--", "curl", "-s", "http://wiki.corp.example/"});
  EXPECT_EQ(r.status, 125) << r.describe();
  EXPECT_NE(r.err.find("mif: --pvd vpm: no PvD of that name in the policy and no such interface"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("wifi (" + lab.link("wifi") + ")"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("vpn (" + lab.link("vpn") + ")"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("interfaces: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(lab.link("vpn")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("in lab " + lab.name() + ": the command-line layer is its policy " + lab.policyFile()),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(lab.served("wiki").empty());

  auto probe = labExec(lab, {"mif", "probe", "--pvd", "vpm"});
  EXPECT_EQ(probe.status, 2) << probe.describe();
  EXPECT_NE(probe.err.find("vpn (" + lab.link("vpn") + ")"), std::string::npos) << probe.err;
  EXPECT_NE(probe.err.find("in lab " + lab.name()), std::string::npos) << probe.err;
}

// The demo prints each client as `MIF lab exec LAB -- mif run ...` and runs it so; every
// line it suggests works pasted into a shell as it is.
TEST(LabPlayground, DemoLinesPasteAsTheyAre) {
  MIF_E2E_REQUIRE_LAB();
  // "-t<pid>": the harness removes it should this program die before its own `down`.
  const std::string name = "pgdemo-t" + std::to_string(::getpid());
  struct Down {
    std::string name;
    ~Down() { runHere({mifBinary(), "lab", "down", name}, ExecOptions().within(30s)); }
  } down{name};
  runHere({mifBinary(), "lab", "down", name}, ExecOptions().within(30s));
  auto demo = runHere({mifBinary(), "lab", "demo", "--as", name}, ExecOptions().within(90s));
  ASSERT_TRUE(demo.ok()) << demo.describe();
  // The demo names this mif as the shell reaches it from here (the same working
  // directory): "mif" when PATH finds it, else a relative or an absolute path.
  const std::string exec = " lab exec " + name + " -- mif ";
  std::string prefix;
  std::vector<std::string> pasted;
  for (const auto& l : lines(demo.out)) {
    size_t at = l.find(exec);
    if (at == std::string::npos || l.rfind("mif", at) != at - 3) continue;
    if (prefix.empty()) prefix = l.substr(0, at + exec.size());
    EXPECT_EQ(l.rfind(prefix, 0), 0u) << l;
    pasted.push_back(l);
  }
  ASSERT_EQ(pasted.size(), 7u) << demo.out;  // four clients, three suggestions
  EXPECT_EQ(pasted[1], prefix + "run --pvd vpn --strict -- curl -s -m 4 http://www.example.com/   "
                                "# public name through the VPN")
      << demo.out;
  EXPECT_NE(demo.out.find("came through PvD vpn"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("came through PvD wifi"), std::string::npos) << demo.out;
  EXPECT_EQ(demo.out.find("FALLBACK"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("Remove it: " + prefix.substr(0, prefix.find(exec)) + " lab down " + name),
            std::string::npos)
      << demo.out;
  // The three suggestions, pasted into a shell.
  for (size_t k = 4; k < pasted.size(); ++k) {
    auto r = runHere({"/bin/sh", "-c", pasted[k]}, ExecOptions().within(20s));
    EXPECT_TRUE(r.ok()) << pasted[k] << ": " << r.describe();
    if (pasted[k].find("curl") != std::string::npos) {
      EXPECT_NE(r.out.find("host=wiki"), std::string::npos) << r.out;
    }
    if (pasted[k].find("explain") != std::string::npos) {
      EXPECT_NE(r.out.find("/run/mif-lab/" + name + "/policy.toml"), std::string::npos) << r.out;
    }
  }
}

}  // namespace
