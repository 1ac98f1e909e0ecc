// `mif show --json`, checked field by field, run as a program inside the test namespace.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "mif/view/probe_results.h"
#include "netns.h"

namespace mif::view::test {
namespace {

// JSON flattened to "path value" lines ("pvds.0.dns.0.origin" -> "\"policy\"", and
// "pvds#" -> the length of a list), so the test needs no JSON library.
constexpr const char* kFlatten = R"PY(
import json, sys
def walk(p, v):
    if isinstance(v, dict):
        for k, x in v.items(): walk(p + "." + k if p else k, x)
    elif isinstance(v, list):
        print(p + "#", len(v))
        for i, x in enumerate(v): walk(p + "." + str(i), x)
    else:
        print(p, json.dumps(v))
walk("", json.load(sys.stdin))
)PY";

using Flat = std::map<std::string, std::string>;

Flat flatten(const std::string& cmd) {
  Flat out;
  std::istringstream in(capture(cmd + " | python3 -c '" + kFlatten + "'"));
  for (std::string line; std::getline(in, line);) {
    auto sp = line.find(' ');
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

class ShowTest : public NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    vethPair("va0", "vb0", "192.0.2.10/24 2001:db8:1::10/64");
    vethPair("vx0", "vy0");
    must("ip route add default via 192.0.2.1 metric 50");
    must("ip tuntap add tun0 mode tun && ip link set tun0 up && ip addr add 10.8.0.2/24 dev tun0");
    policyFile_ = "/tmp/" + name_ + ".toml";
    FILE* f = std::fopen(policyFile_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(
        "[pvd.corp]\ninterface = \"tun0\"\ndns = [\"198.51.100.53\"]\n"
        "domains = [\"corp.example\"]\n"
        "[pvd.lan]\ninterface = \"va0\"\ndns = [\"192.0.2.53\"]\n"
        "[pvd.wifi]\ninterface = \"wl*\"\n",
        f);
    std::fclose(f);
  }
  void TearDown() override {
    if (!policyFile_.empty()) std::remove(policyFile_.c_str());
    NetnsTest::TearDown();
  }
  // What a prober of process `pid` would publish: lan ok (portal captive), corp down.
  static void writeProbes(const std::string& path, pid_t pid) {
    std::string why;
    ASSERT_TRUE(writeProbeResults(
        path,
        formatProbeResults({{"lan", ProbeVerdict::Ok, PortalVerdict::Captive},
                            {"corp", ProbeVerdict::Down, PortalVerdict::None}},
                           probeRunToken(pid)),
        &why))
        << why;
  }
  std::string mif(const std::string& args) {
    // No user layer from whoever runs the tests.
    return std::string("XDG_CONFIG_HOME=/nonexistent HOME=/nonexistent ") + MIF_BINARY + " show " +
           args;
  }
  std::string policyFile_;
};

TEST_F(ShowTest, JsonFieldByField) {
  Flat j = flatten(mif("--json --policy " + policyFile_));
  ASSERT_FALSE(j.empty()) << "mif show --json printed nothing parsable";
  EXPECT_EQ(j["error"], "null");
  EXPECT_EQ(j["pvds#"], "3");

  // corp: tun0 without a process behind it has no carrier.
  EXPECT_EQ(j["pvds.0.name"], "\"corp\"");
  EXPECT_EQ(j["pvds.0.interface"], "\"tun0\"");
  EXPECT_EQ(j["pvds.0.kind"], "\"tun\"");
  EXPECT_EQ(j["pvds.0.state"], "\"no-carrier\"");
  EXPECT_EQ(j["pvds.0.usable_ipv4"], "false");
  EXPECT_EQ(j["pvds.0.addresses.0.address"], "\"10.8.0.2/24\"");
  EXPECT_EQ(j["pvds.0.dns.0.address"], "\"198.51.100.53\"");
  EXPECT_EQ(j["pvds.0.dns.0.port"], "53");
  EXPECT_EQ(j["pvds.0.dns.0.origin"], "\"policy\"");
  EXPECT_EQ(j["pvds.0.domains.0.domain"], "\"corp.example\"");
  EXPECT_EQ(j["pvds.0.domains.0.origin"], "\"policy\"");
  EXPECT_EQ(j["pvds.0.warnings.0"],
            "\"corp: no carrier on tun0 \\u2014 the link is not connected\"");

  // lan: usable on both families, one address each (kernel chooses the source).
  EXPECT_EQ(j["pvds.1.name"], "\"lan\"");
  EXPECT_EQ(j["pvds.1.ad_hoc"], "false");
  EXPECT_EQ(j["pvds.1.match"], "\"va0\"");
  EXPECT_EQ(j["pvds.1.kind"], "\"veth\"");
  EXPECT_EQ(j["pvds.1.state"], "\"up\"");
  EXPECT_EQ(j["pvds.1.carrier"], "true");
  EXPECT_EQ(j["pvds.1.usable_ipv4"], "true");
  EXPECT_EQ(j["pvds.1.usable_ipv6"], "true");
  EXPECT_EQ(j["pvds.1.source_ipv4"], "null");
  EXPECT_EQ(j["pvds.1.addresses.0.address"], "\"192.0.2.10/24\"");
  EXPECT_EQ(j["pvds.1.addresses.0.scope"], "\"global\"");
  EXPECT_EQ(j["pvds.1.addresses.0.usable"], "true");
  EXPECT_EQ(j["pvds.1.addresses.0.valid_lifetime"], "4294967295");
  EXPECT_EQ(j["pvds.1.gateways#"], "1");
  EXPECT_EQ(j["pvds.1.gateways.0.gateway"], "\"192.0.2.1\"");
  EXPECT_EQ(j["pvds.1.gateways.0.dst"], "\"default\"");
  EXPECT_EQ(j["pvds.1.gateways.0.table"], "\"main\"");
  EXPECT_EQ(j["pvds.1.gateways.0.metric"], "50");
  EXPECT_EQ(j["pvds.1.dns.0.address"], "\"192.0.2.53\"");
  // No IPv6 default route through va0.
  EXPECT_EQ(j["pvds.1.warnings#"], "1");
  EXPECT_EQ(j["pvds.1.warnings.0"],
            "\"lan: no IPv6 route through va0 \\u2014 pinned sockets reach only on-link hosts\"");

  EXPECT_EQ(j["pvds.2.name"], "\"wifi\"");
  EXPECT_EQ(j["pvds.2.state"], "\"absent\"");
  EXPECT_EQ(j["pvds.2.interface"], "null");
  EXPECT_EQ(j["pvds.2.warnings.0"], "\"wifi: no interface matches wl*\"");

  // Interfaces outside every PvD: lo, vb0, vx0, vy0.
  EXPECT_EQ(j["interfaces#"], "4");
  EXPECT_EQ(j["interfaces.0.name"], "\"lo\"");
  EXPECT_EQ(j["interfaces.0.kind"], "\"loopback\"");
  EXPECT_EQ(j["interfaces.0.usable_ipv4"], "null");
  EXPECT_EQ(j["interfaces.0.addresses.0.address"], "\"127.0.0.1/8\"");
  EXPECT_EQ(j["interfaces.0.addresses.0.scope"], "\"host\"");
  EXPECT_EQ(j["interfaces.0.addresses.0.usable"], "false");
}

TEST_F(ShowTest, TextShowsTheSameFields) {
  std::string t = capture(mif("--policy " + policyFile_));
  EXPECT_NE(t.find("pvd corp\n"), std::string::npos) << t;
  EXPECT_NE(t.find("    interface    tun0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("    dns          198.51.100.53 port 53 origin policy\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("    gateway      192.0.2.1 dst default table main metric 50\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("    warning      wifi: no interface matches wl*\n"), std::string::npos) << t;
  EXPECT_NE(t.find("interface vx0\n"), std::string::npos) << t;
}

// What running programs' probers published under $MIF_RUN_DIR/probe: each PvD's verdict
// per program (this test's process stands for one), with its age; a file whose process
// has ended is not shown.
TEST_F(ShowTest, ProbeVerdictsOfRunningPrograms) {
  char tmpl[] = "/tmp/mif-show-probes-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string run = tmpl;
  ASSERT_EQ(::mkdir((run + "/probe").c_str(), 0755), 0);
  const std::string pid = std::to_string(::getpid());
  writeProbes(run + "/probe/run-" + pid, ::getpid());
  std::ofstream(run + "/probe/run-999999999") << "mif-probes 1\nlan down -\n";
  const std::string env = "MIF_RUN_DIR=" + run + " ";
  std::string t = capture(env + mif("--policy " + policyFile_));
  // (The age: seconds since the file was written, a moment ago.)
  const size_t at = t.find("    probe        ok portal captive age ");
  ASSERT_NE(at, std::string::npos) << t;
  EXPECT_EQ(t.substr(t.find("s pid ", at), 6 + pid.size() + 9), "s pid " + pid + " program ") << t;
  EXPECT_NE(t.find("    probe        down age "), std::string::npos) << t;
  EXPECT_EQ(t.find("pid 999999999"), std::string::npos) << t;
  Flat j = flatten(env + mif("--json --policy " + policyFile_));
  EXPECT_EQ(j["pvds.1.name"], "\"lan\"");
  EXPECT_EQ(j["pvds.1.probes#"], "1");
  EXPECT_EQ(j["pvds.1.probes.0.verdict"], "\"ok\"");
  EXPECT_EQ(j["pvds.1.probes.0.portal"], "\"captive\"");
  EXPECT_LT(std::stoi(j["pvds.1.probes.0.age"]), 60);
  EXPECT_EQ(j["pvds.1.probes.0.pid"], pid);
  EXPECT_EQ(j["pvds.0.probes.0.verdict"], "\"down\"");
  EXPECT_EQ(j["pvds.0.probes.0.portal"], "null");
  EXPECT_EQ(j["pvds.2.probes#"], "0");
  std::system(("rm -rf " + run).c_str());
}

// `mif probe` lists the same verdicts of running programs beside its own, in the same
// words (cmd_show.cpp's field is the one writer), for the PvDs it probed.
TEST_F(ShowTest, ProbeListsTheVerdictsOfRunningProgramsAsShowDoes) {
  char tmpl[] = "/tmp/mif-probe-running-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string run = tmpl;
  ASSERT_EQ(::mkdir((run + "/probe").c_str(), 0755), 0);
  const std::string pid = std::to_string(::getpid());
  writeProbes(run + "/probe/run-" + pid, ::getpid());
  const std::string probe = "MIF_RUN_DIR=" + run +
                            " XDG_CONFIG_HOME=/nonexistent HOME=/nonexistent " + MIF_BINARY +
                            " probe --count 1 --timeout 50 --policy " + policyFile_;
  std::string shown = capture("MIF_RUN_DIR=" + run + " " + mif("--policy " + policyFile_));
  const size_t at = shown.find("    probe        ok portal captive age ");
  ASSERT_NE(at, std::string::npos) << shown;
  const std::string line = shown.substr(at + 17, shown.find('\n', at) - at - 17);
  std::string t = capture(probe + " --pvd lan,corp 2>/dev/null");
  EXPECT_NE(t.find("probe of lan by a running program: " + line + "\n"), std::string::npos)
      << line << "\n" << t;
  EXPECT_NE(t.find("probe of corp by a running program: down age "), std::string::npos) << t;
  t = capture(probe + " --pvd corp 2>/dev/null");
  EXPECT_EQ(t.find("probe of lan"), std::string::npos) << "only the PvDs probed: " << t;
  Flat j = flatten(probe + " --json --pvd lan 2>/dev/null");
  EXPECT_EQ(j["pvds.0.name"], "\"lan\"");
  EXPECT_EQ(j["pvds.0.running_probes#"], "1");
  EXPECT_EQ(j["pvds.0.running_probes.0.verdict"], "\"ok\"");
  EXPECT_EQ(j["pvds.0.running_probes.0.portal"], "\"captive\"");
  EXPECT_EQ(j["pvds.0.running_probes.0.pid"], pid);
  EXPECT_LT(std::stoi(j["pvds.0.running_probes.0.age"]), 60);
  std::system(("rm -rf " + run).c_str());
}

TEST_F(ShowTest, AdHocPvdAndUsage) {
  Flat j = flatten(mif("--json --pvd vx0 --dns 192.0.2.99"));
  EXPECT_EQ(j["pvds#"], "1");
  EXPECT_EQ(j["pvds.0.name"], "\"vx0\"");
  EXPECT_EQ(j["pvds.0.ad_hoc"], "true");
  EXPECT_EQ(j["pvds.0.dns.0.origin"], "\"command-line\"");
  EXPECT_EQ(sh(mif("--help >/dev/null")), 0);
  EXPECT_EQ(sh(mif("--bogus 2>/dev/null")), 2);
  EXPECT_EQ(sh(mif("--policy /nonexistent/p.toml 2>/dev/null")), 1);
}

}  // namespace
}  // namespace mif::view::test
