// Inside `mif lab exec` (MIF_LAB, MIF_LAB_POLICY set), every mif command takes the lab's
// policy as its command-line layer unless --policy is given, and says so; run as
// processes with the environment a lab sets, no namespace needed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

struct Result {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class LabCli : public testing::Test {
 protected:
  void SetUp() override {
    if (::access(MIF_BINARY, X_OK) != 0) GTEST_SKIP() << MIF_BINARY << " not built";
    char tmpl[] = "/tmp/mif-lab-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    policy_ = dir_ + "/policy.toml";
    std::ofstream(policy_) << "[pvd.wifi]\ninterface = \"wlan0\"\n"
                              "[pvd.vpn]\ninterface = \"tun0\"\ndomains = [\"corp.example\"]\n"
                              "[default]\npvd = \"wifi\"\n";
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + quote(dir_)).c_str());
  }
  // mif ARGS with the environment `mif lab exec pg` sets in the node (policy "" = outside
  // a lab), and no user layer of this machine (an empty XDG_CONFIG_HOME).
  Result mif(const std::string& args, const std::string& labPolicy) {
    std::string env = "env -u MIF_LAB -u MIF_LAB_POLICY XDG_CONFIG_HOME=" + quote(dir_ + "/xdg") + " ";
    if (!labPolicy.empty()) env += "MIF_LAB=pg MIF_LAB_POLICY=" + quote(labPolicy) + " ";
    std::string cmd = env + MIF_BINARY + " " + args + " >" + quote(dir_ + "/out") + " 2>" + quote(dir_ + "/err");
    int st = std::system(cmd.c_str());
    Result r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(dir_ + "/out");
    r.err = slurp(dir_ + "/err");
    return r;
  }
  std::string layer() const { return "command line: " + policy_ + " (lab pg, MIF_LAB_POLICY)"; }
  std::string dir_, policy_;
};

TEST_F(LabCli, ExplainTakesTheLabsPolicyAndNamesIt) {
  Result r = mif("explain --system-policy '' --assume-usable wiki.corp.example:80", policy_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("policy     " + layer() + "\n\nresolve wiki.corp.example\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("result     vpn"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(policy_ + ":"), std::string::npos) << "the deciding line: " << r.out;
  Result j = mif("explain --system-policy '' --assume-usable --json wiki.corp.example:80", policy_);
  EXPECT_NE(j.out.find("\"policy_layers\":[{\"layer\":\"command line\",\"file\":\"" + policy_ +
                       "\",\"from\":\"lab pg, MIF_LAB_POLICY\"}]"),
            std::string::npos)
      << j.out;

  // --policy replaces it; outside a lab, nothing.
  std::string other = dir_ + "/other.toml";
  std::ofstream(other) << "[pvd.cell]\ninterface = \"wwan0\"\n[default]\npvd = \"cell\"\n";
  Result own = mif("explain --system-policy '' --assume-usable --policy " + quote(other) + " 192.0.2.1", policy_);
  ASSERT_EQ(own.status, 0) << own.err;
  EXPECT_NE(own.out.find("policy     command line: " + other + " (--policy)"), std::string::npos) << own.out;
  EXPECT_NE(own.out.find("result     cell"), std::string::npos) << own.out;
  EXPECT_EQ(own.out.find(policy_), std::string::npos) << own.out;
  Result outside = mif("explain --system-policy '' --assume-usable 192.0.2.1", "");
  ASSERT_EQ(outside.status, 0) << outside.err;
  EXPECT_EQ(outside.out.rfind("policy     none (no system, user or command-line policy file)\n", 0), 0u)
      << outside.out;
}

TEST_F(LabCli, ShowsHeaderNamesTheLayersInForce) {
  Result r = mif("show", policy_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("policy " + layer() + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pvd vpn\n"), std::string::npos) << r.out;
  Result j = mif("show --json", policy_);
  ASSERT_EQ(j.status, 0) << j.err;
  EXPECT_NE(j.out.find("\"from\":\"lab pg, MIF_LAB_POLICY\""), std::string::npos) << j.out;
  Result own = mif("show --policy " + quote(policy_), "");
  ASSERT_EQ(own.status, 0) << own.err;
  EXPECT_NE(own.out.find("policy command line: " + policy_ + " (--policy)\n"), std::string::npos) << own.out;
}

TEST_F(LabCli, UnknownPvdListsThePvdsAndTheLab) {
  Result r = mif("run --pvd vpm -- true", policy_);
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.err.find("mif: --pvd vpm: no PvD of that name in the policy and no such interface; "
                       "PvDs of the policy: wifi (wlan0), vpn (tun0); interfaces: "),
            std::string::npos)
      << r.err;
  const size_t ifs = r.err.find("interfaces: ");
  ASSERT_NE(ifs, std::string::npos) << r.err;
  EXPECT_NE(r.err.substr(ifs, r.err.find('\n', ifs) - ifs).find("lo"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\nmif: in lab pg: the command-line layer is its policy " + policy_ + "\n"),
            std::string::npos)
      << r.err;
  // With --policy inside the lab: the note says that it replaced the lab's policy.
  Result own = mif("run --policy " + quote(policy_) + " --pvd vpm -- true", policy_);
  EXPECT_EQ(own.status, 125);
  EXPECT_NE(own.err.find("mif: in lab pg: --policy replaces its policy " + policy_), std::string::npos) << own.err;
  // Outside a lab: the list, no note.
  Result outside = mif("run --policy " + quote(policy_) + " --pvd vpm -- true", "");
  EXPECT_EQ(outside.status, 125);
  EXPECT_NE(outside.err.find("PvDs of the policy: wifi (wlan0), vpn (tun0)"), std::string::npos) << outside.err;
  EXPECT_EQ(outside.err.find("in lab"), std::string::npos) << outside.err;

  Result probe = mif("probe --pvd vpm", policy_);
  EXPECT_EQ(probe.status, 2);
  EXPECT_NE(probe.err.find("mif: probe: --pvd vpm: no PvD of that name in the policy and no such interface; "
                           "PvDs of the policy: wifi (wlan0), vpn (tun0)"),
            std::string::npos)
      << probe.err;
  EXPECT_NE(probe.err.find("in lab pg"), std::string::npos) << probe.err;
}

TEST_F(LabCli, RunHandsTheLabsPolicyToTheLibraryAsMifPolicy) {
  Result r = mif("run -- /usr/bin/env", policy_);
  if (r.status == 125 && r.err.find("libmif.so not found") != std::string::npos)
    GTEST_SKIP() << "libmif.so not built";
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("MIF_POLICY=" + policy_ + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MIF_LAB=pg\n"), std::string::npos) << r.out;
}

TEST_F(LabCli, AGoneLabsPolicyIsAClearError) {
  const std::string gone = dir_ + "/gone.toml";
  for (const char* cmd : {"run -- true", "show", "explain 192.0.2.1", "probe"}) {
    Result r = mif(cmd, gone);
    EXPECT_NE(r.status, 0) << cmd;
    EXPECT_NE(r.err.find("MIF_LAB_POLICY " + gone + ": No such file or directory (is lab pg still up?"),
              std::string::npos)
        << cmd << ": " << r.err;
  }
}

TEST_F(LabCli, CheckWithoutFileChecksTheLabsPolicy) {
  Result r = mif("check --system-policy '' --user-policy ''", policy_);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(policy_ + ": ok (command line layer)"), std::string::npos) << r.out;
  EXPECT_EQ(mif("check --system-policy '' --user-policy ''", "").status, 2);
  std::ofstream(policy_, std::ios::app) << "[[rule]]\napp = \"curl\"\npvd = \"cell\"\n";
  Result bad = mif("check --system-policy '' --user-policy ''", policy_);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find(policy_ + ":10:7: error: rule names unknown PvD 'cell'"), std::string::npos) << bad.out;
}

TEST_F(LabCli, HelpSaysSo) {
  for (const char* cmd : {"run", "show", "explain", "probe", "check"}) {
    Result r = mif(std::string(cmd) + " --help", "");
    EXPECT_EQ(r.status, 0) << cmd;
    EXPECT_NE(r.out.find("mif lab exec"), std::string::npos) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("MIF_LAB_POLICY"), std::string::npos) << cmd << ": " << r.out;
  }
  Result lab = mif("lab --help", "");
  EXPECT_NE(lab.out.find("MIF_LAB_POLICY"), std::string::npos) << lab.out;
  // Each subcommand's --help is the same usage, not "no topology named '--help'".
  for (const char* sub : {"up", "down", "facts", "exec", "portal", "demo", "status"}) {
    Result r = mif(std::string("lab ") + sub + " --help", "");
    EXPECT_EQ(r.status, 0) << sub << ": " << r.err;
    EXPECT_NE(r.out.find("mif lab up TOPOLOGY"), std::string::npos) << sub << ": " << r.out;
  }
}

}  // namespace
