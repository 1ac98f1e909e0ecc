// RFC 6418 4.3, 5.3 item 4 and 5.5 item 5: policies from different actors conflict. The
// user's own policy ($XDG_CONFIG_HOME/mif/policy.toml, the user layer) and the policy the
// program is launched with (`mif run --policy FILE`, the command-line layer) both have a
// rule for the same connection and disagree on the PvD. mif resolves it deterministically
// (docs/policy.md, "Decision precedence" step 3: command-line rules, then the user's, each
// in file order, whichever rule is more specific), and `mif explain` shows the winning
// rule by FILE:LINE and the losing one. Without mif both policies are ignored: the routing
// table alone decides (Wi-Fi, the lower-metric default route of the `oneway` topology).
//
// The system layer (/etc/mif/policy.toml) is not touched by this test.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "lab.h"

namespace {

using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::Served;

// 1-based line of the first line of TEXT that starts with PREFIX (0 when none).
int lineOf(const std::string& text, const std::string& prefix) {
  int line = 1;
  size_t start = 0;
  while (start <= text.size()) {
    if (text.compare(start, prefix.size(), prefix) == 0) return line;
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) break;
    start = nl + 1;
    ++line;
  }
  return 0;
}

// The explain output's lines.
std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

bool hasLine(const std::vector<std::string>& ls, const std::string& a, const std::string& b) {
  for (const auto& l : ls) {
    if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
  }
  return false;
}

class PolicyConflicts : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    ASSERT_TRUE(tmp_.ok());
    xdg_ = tmp_.path() + "/xdg";
    std::filesystem::create_directories(xdg_ + "/mif");
    userFile_ = xdg_ + "/mif/policy.toml";
    cliFile_ = tmp_.path() + "/cli.toml";
    lab_ = std::make_unique<Lab>("oneway");
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    lab_->clearLogs();
    wifi4_ = lab_->addr4("wifi");
    cell4_ = lab_->addr4("cell");
    www4_ = lab_->hostAddr4("www");
    ASSERT_FALSE(wifi4_.empty());
    ASSERT_FALSE(cell4_.empty());
    ASSERT_FALSE(www4_.empty());
  }
  // The user layer defines the PvDs (the command-line layer only refers to them: layers
  // are merged before references are checked), a [default] of Wi-Fi, and RULE.
  void writeUser(const std::string& rule) {
    userText_ = "# the user's own policy\n"
                "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\n"
                "[pvd.cell]\ninterface = \"" + lab_->link("cell") + "\"\n"
                "[default]\npvd = \"wifi\"\n\n" + rule;
    std::ofstream(userFile_) << userText_;
  }
  void writeCli(const std::string& rule) {
    cliText_ = "# the launcher's policy, given on the command line\n\n" + rule;
    std::ofstream(cliFile_) << cliText_;
  }

  ExecOptions opts() const { return ExecOptions().withEnv("XDG_CONFIG_HOME=" + xdg_); }
  std::vector<std::string> curl() const {
    return {"curl", "-sS", "--max-time", "4", "http://" + www4_ + "/"};
  }
  // The source address www saw for one curl run (plain or under mif with MIFARGS).
  std::string clientOf(const CommandResult& r) {
    EXPECT_TRUE(r.ok()) << r.describe();
    auto seen = lab_->served("www", "http");
    lab_->clearLogs();
    if (seen.size() != 1u) {
      ADD_FAILURE() << "www served " << seen.size() << " requests; " << r.describe();
      return "";
    }
    return seen[0].client;
  }
  CommandResult explain(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {mif::e2e::mifBinary(), "explain"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"--app", "curl", www4_ + ":80"});
    return lab_->exec(argv, opts());
  }

  std::unique_ptr<Lab> lab_;
  mif::e2e::TempDir tmp_{"e2e-conflicts"};
  std::string xdg_, userFile_, cliFile_, userText_, cliText_;
  std::string wifi4_, cell4_, www4_;
};

// The user prefers cellular for curl; the launcher's command-line policy sends this
// destination through Wi-Fi. The command-line rule wins, although the user's rule also
// matches; the user rule alone would have sent curl through cellular.
TEST_F(PolicyConflicts, CommandLineDstRuleBeatsUserAppRule) {
  writeUser("[[rule]]\napp = \"curl\"\npvd = \"cell\"\n");
  writeCli("[[rule]]\ndst = \"" + www4_ + "/32\"\npvd = \"wifi\"\n");
  const int userLine = lineOf(userText_, "[[rule]]");
  const int cliLine = lineOf(cliText_, "[[rule]]");
  ASSERT_GT(userLine, 0);
  ASSERT_GT(cliLine, 0);

  EXPECT_EQ(clientOf(lab_->exec(curl(), opts())), wifi4_) << "without mif: the routing table";
  // The user layer alone is in force under mif (read through XDG_CONFIG_HOME).
  EXPECT_EQ(clientOf(lab_->mifRun({}, curl(), opts())), cell4_) << "the user layer alone";
  EXPECT_EQ(clientOf(lab_->mifRun({"--policy", cliFile_}, curl(), opts())), wifi4_)
      << "the command-line rule wins";
  // Deterministic: again, the same outcome.
  EXPECT_EQ(clientOf(lab_->mifRun({"--policy", cliFile_}, curl(), opts())), wifi4_);

  auto ex = explain({"--policy", cliFile_});
  ASSERT_TRUE(ex.ok()) << ex.describe();
  auto ls = lines(ex.out);
  const std::string cliWhere = cliFile_ + ":" + std::to_string(cliLine);
  const std::string userWhere = userFile_ + ":" + std::to_string(userLine);
  EXPECT_TRUE(hasLine(ls, "result     wifi", "")) << ex.out;
  EXPECT_TRUE(hasLine(ls, "by         ", cliWhere + ":")) << ex.out;
  EXPECT_TRUE(hasLine(ls, "won ", "(" + cliWhere + ")")) << ex.out;
  EXPECT_TRUE(hasLine(ls, "lost", "(" + userWhere + ")")) << ex.out;
}

// The roles reversed: the user's rule is by destination (Wi-Fi), the launcher's by
// application (cellular). Still the command-line layer's rule wins: the outcome follows
// the layer, not which rule is more specific.
TEST_F(PolicyConflicts, CommandLineAppRuleBeatsUserDstRule) {
  writeUser("[[rule]]\ndst = \"" + www4_ + "/32\"\npvd = \"wifi\"\n");
  writeCli("[[rule]]\napp = \"curl\"\npvd = \"cell\"\n");
  const int userLine = lineOf(userText_, "[[rule]]");
  const int cliLine = lineOf(cliText_, "[[rule]]");

  EXPECT_EQ(clientOf(lab_->exec(curl(), opts())), wifi4_) << "without mif: the routing table";
  EXPECT_EQ(clientOf(lab_->mifRun({"--policy", cliFile_}, curl(), opts())), cell4_)
      << "the command-line rule wins";

  auto ex = explain({"--policy", cliFile_});
  ASSERT_TRUE(ex.ok()) << ex.describe();
  auto ls = lines(ex.out);
  const std::string cliWhere = cliFile_ + ":" + std::to_string(cliLine);
  const std::string userWhere = userFile_ + ":" + std::to_string(userLine);
  EXPECT_TRUE(hasLine(ls, "result     cell", "")) << ex.out;
  EXPECT_TRUE(hasLine(ls, "by         ", cliWhere + ":")) << ex.out;
  EXPECT_TRUE(hasLine(ls, "lost", "(" + userWhere + ")")) << ex.out;

  // Without the command-line policy, explain (same XDG_CONFIG_HOME) names the user rule.
  ex = explain({});
  ASSERT_TRUE(ex.ok()) << ex.describe();
  ls = lines(ex.out);
  EXPECT_TRUE(hasLine(ls, "result     wifi", "")) << ex.out;
  EXPECT_TRUE(hasLine(ls, "by         ", userWhere + ":")) << ex.out;
}

// Within one layer, file order decides: the first matching rule of the command-line file
// wins over a later one that also matches, and over the user's.
TEST_F(PolicyConflicts, FirstMatchingRuleOfTheCommandLineFileWins) {
  writeUser("[[rule]]\napp = \"curl\"\npvd = \"wifi\"\n");
  writeCli("[[rule]]\nport = 80\npvd = \"cell\"\n\n[[rule]]\ndst = \"" + www4_ +
           "/32\"\npvd = \"wifi\"\n");
  const int firstLine = lineOf(cliText_, "[[rule]]");
  const int secondLine = lineOf(cliText_, "dst = ") - 1;

  EXPECT_EQ(clientOf(lab_->exec(curl(), opts())), wifi4_) << "without mif: the routing table";
  EXPECT_EQ(clientOf(lab_->mifRun({"--policy", cliFile_}, curl(), opts())), cell4_);

  auto ex = explain({"--policy", cliFile_});
  ASSERT_TRUE(ex.ok()) << ex.describe();
  auto ls = lines(ex.out);
  EXPECT_TRUE(hasLine(ls, "result     cell", "")) << ex.out;
  EXPECT_TRUE(hasLine(ls, "by         ", cliFile_ + ":" + std::to_string(firstLine) + ":")) << ex.out;
  EXPECT_TRUE(hasLine(ls, "lost", "(" + cliFile_ + ":" + std::to_string(secondLine) + ")")) << ex.out;
  EXPECT_TRUE(hasLine(ls, "lost", userFile_ + ":")) << ex.out;
}

}  // namespace
