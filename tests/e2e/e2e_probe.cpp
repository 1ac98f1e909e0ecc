// RFC 6418 4.4 "poor layer 2" and 5.5 item 6 (connectivity checks), on the built-in
// `poorlink` topology: cellular (wwan0) is up, addressed and routed, but loses 90 % of the
// packets each way; Wi-Fi (wlan0) works. Both reach the internet host www.
//
// From link state and addresses alone, cellular looks as good as Wi-Fi: a program that
// prefers it (`mif run --pvd cell,wifi`) is sent there first (and, since the race across
// PvDs, gets through Wi-Fi one attempt delay later). `mif probe` sends
// real traffic through each PvD and says cellular is not ok; `mif run --probe` moves it to
// the end of the preference, and the same command reaches www through Wi-Fi. A strict pin
// to cellular stays on cellular, probe or not.
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lab.h"

namespace {

using namespace std::chrono_literals;
using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::TempDir;

// The fields of one PvD of `mif probe --json`, read by python3's json module (so the
// output must be valid JSON): "verdict attempts successes loss_percent checks rtt|none".
std::string jsonSummary(const std::string& json, const std::string& pvd) {
  const std::string script =
      "import json, sys\n"
      "d = json.load(sys.stdin)\n"
      "p = [p for p in d['pvds'] if p['name'] == sys.argv[1]][0]\n"
      "assert p['attempts'] == sum(c['attempts'] for c in p['checks'])\n"
      "assert p['successes'] == sum(c['successes'] for c in p['checks'])\n"
      "rtt = 'none' if p['median_rtt_ms'] is None else 'rtt'\n"
      "print(p['verdict'], p['attempts'], p['successes'], p['loss_percent'], "
      "len(p['checks']), rtt)\n";
  CommandResult r = mif::e2e::runHere({"python3", "-c", script, pvd}, ExecOptions().withInput(json));
  EXPECT_TRUE(r.ok()) << r.describe() << "\njson: " << json;
  return r.out;
}

class Probe : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    ASSERT_TRUE(dir_.ok());
    xdg_ = dir_.path() + "/xdg";
    std::filesystem::create_directories(xdg_);
    lab_ = std::make_unique<Lab>("poorlink");
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    policy_ = lab_->policyFile();
    wifi4_ = lab_->addr4("wifi");
    cell4_ = lab_->addr4("cell");
    www4_ = lab_->hostAddr4("www");
    ASSERT_FALSE(policy_.empty());
    ASSERT_FALSE(wifi4_.empty());
    ASSERT_FALSE(cell4_.empty());
    ASSERT_FALSE(www4_.empty());
    lab_->clearLogs();
  }

  ExecOptions opts() const { return ExecOptions().withEnv("XDG_CONFIG_HOME=" + xdg_).within(20s); }

  CommandResult probe(std::vector<std::string> args) const {
    args.insert(args.begin(), {mif::e2e::mifBinary(), "probe", "--policy", policy_});
    return lab_->exec(args, opts());
  }

  std::vector<std::string> curl(const std::string& host) const {
    return {"curl", "-sS", "--max-time", "2", "http://" + host + "/"};
  }

  TempDir dir_{"e2e-probe"};
  std::string xdg_, policy_, wifi4_, cell4_, www4_;
  std::unique_ptr<Lab> lab_;
};

TEST_F(Probe, JsonSaysTheLossyCellularPvdIsNotOkAndWifiIs) {
  CommandResult r = probe({"--json", "--count", "5", "--timeout", "1000"});
  EXPECT_EQ(r.status, 1) << "cellular is not ok: " << r.describe();
  ASSERT_FALSE(r.out.empty()) << r.describe();

  std::istringstream wifi(jsonSummary(r.out, "wifi"));
  std::string verdict, rtt;
  int attempts = 0, successes = 0, checks = 0;
  double loss = -1;
  wifi >> verdict >> attempts >> successes >> loss >> checks >> rtt;
  EXPECT_EQ(verdict, "ok");
  // Its DNS server, IPv4 and IPv6, over UDP (a query) and TCP (a connect): 4 checks x 5.
  EXPECT_EQ(checks, 4);
  EXPECT_EQ(attempts, 5 * checks);
  EXPECT_LT(loss, 50.0);
  EXPECT_EQ(rtt, "rtt");

  std::istringstream cell(jsonSummary(r.out, "cell"));
  cell >> verdict >> attempts >> successes >> loss >> checks >> rtt;
  EXPECT_TRUE(verdict == "poor" || verdict == "down") << verdict;
  EXPECT_EQ(attempts, 5 * checks);
  EXPECT_GE(loss, 50.0) << "90 % lost each way: about 1 round trip in 100 comes back";
  EXPECT_LT(successes, attempts / 2);

  // The probes went through each PvD from its own address: Wi-Fi's server heard them from
  // Wi-Fi's source, never from cellular's.
  bool fromWifi = false;
  for (const auto& q : lab_->dnsQueries("wifi")) {
    EXPECT_NE(q.from, cell4_) << q.type << " " << q.name;
    fromWifi = fromWifi || q.from == wifi4_;
  }
  EXPECT_TRUE(fromWifi);

  // The table: one row per PvD, with its verdict; --pvd restricts, and an ok PvD exits 0.
  r = probe({"--count", "3", "--timeout", "1000"});
  EXPECT_EQ(r.status, 1) << r.describe();
  EXPECT_NE(r.out.find("VERDICT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(lab_->link("cell")), std::string::npos) << r.out;
  r = probe({"--pvd", "wifi", "--count", "3", "--timeout", "1000"});
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_NE(r.out.find(" ok"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("cell"), std::string::npos) << r.out;
}

// The problem without --probe, solved with it: the same command, preferring cellular.
// Without --probe curl's connect goes to the lossy cellular PvD first; since the race across
// PvDs (issue 30, non-blocking connects inside curl's poll) it still gets through, by
// racing Wi-Fi after one attempt delay, but the attempt through cellular is made (and its
// SYNs are mostly lost on the way). With --probe cellular is behind Wi-Fi before the program
// starts: no attempt through it at all.
TEST_F(Probe, RunWithProbeMovesTheLossyPvdBehindWifi) {
  const std::string trace = dir_.path() + "/plain.jsonl";
  std::vector<std::string> pref = {"--policy", policy_, "--pvd", "cell,wifi"};
  std::vector<std::string> traced = pref;
  traced.push_back("--trace=" + trace);
  CommandResult plain = lab_->mifRun(traced, curl(www4_), opts());
  for (const auto& s : lab_->served("www", "http")) {
    // Through cellular only when its SYN and SYN-ACK both got through within the delay.
    if (s.client != cell4_) {
      EXPECT_EQ(s.client, wifi4_);
    }
  }
  {
    std::ifstream in(trace);
    std::string first;
    while (std::getline(in, first) && first.find("\"call\":\"connect\"") == std::string::npos) {
    }
    EXPECT_NE(first.find("\"pvd\":\"cell\""), std::string::npos)
        << "the first attempt goes to the lossy cellular PvD: " << first << plain.describe();
  }

  lab_->clearLogs();
  std::vector<std::string> probed = pref;
  probed.push_back("--probe");
  probed.push_back("--trace=" + dir_.path() + "/probed.jsonl");
  CommandResult r = lab_->mifRun(probed, curl(www4_), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("host=www"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("mif: run: cell demoted: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("probes lost"), std::string::npos) << r.err;
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, wifi4_);
  {
    std::ifstream in(dir_.path() + "/probed.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("\"call\":\"connect\"") == std::string::npos) continue;
      EXPECT_EQ(line.find("\"pvd\":\"cell\""), std::string::npos) << "an attempt through cellular: " << line;
    }
  }

  // By name: resolved through Wi-Fi's server, not through cellular's.
  lab_->clearLogs();
  r = lab_->mifRun(probed, curl("www.example.com"), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(lab_->dnsSaw("wifi", "www.example.com"));
  EXPECT_FALSE(lab_->dnsSaw("cell", "www.example.com", 0ms));
  seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(lab_->pvdOfAddress(seen[0].client), "wifi") << seen[0].client;  // IPv6 first
}

// A [default] preference is reordered the same way (handed over as MIF_PVD).
TEST_F(Probe, RunWithProbeReordersTheDefaultPreference) {
  std::ifstream in(policy_);
  std::stringstream text;
  text << in.rdbuf();
  std::string policy = text.str();
  const std::string def = "[default]\npvd = \"wifi\"";
  ASSERT_NE(policy.find(def), std::string::npos) << policy;
  policy.replace(policy.find(def), def.size(), "[default]\npvd = [\"cell\", \"wifi\"]");
  const std::string file = dir_.write("prefer-cell.toml", policy);

  CommandResult r = lab_->mifRun({"--policy", file, "--probe"}, curl(www4_), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.err.find("mif: run: cell demoted: "), std::string::npos) << r.err;
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, wifi4_);

  // What the library is handed: the same PvDs, reordered, as a non-strict pin.
  const std::vector<std::string> env = {"sh", "-c", "echo \"pvd=$MIF_PVD strict=$MIF_STRICT\""};
  r = lab_->mifRun({"--policy", file, "--probe"}, env, opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "pvd=wifi,cell strict=\n");
  // --strict without --pvd: a reordered pin would be a strict pin (above every rule), so
  // [default] keeps its order and nothing else is handed over.
  r = lab_->mifRun({"--policy", file, "--strict", "--probe"}, env, opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "pvd= strict=1\n");
  EXPECT_NE(r.err.find("[default] keeps its order"), std::string::npos) << r.err;
}

// --strict never moves to a PvD outside the pin: pinned to cellular alone, it stays there
// (and says so); pinned to cellular then Wi-Fi, the order within the pin changes.
TEST_F(Probe, StrictPinNeverLeavesItsList) {
  CommandResult r = lab_->mifRun({"--policy", policy_, "--pvd", "cell", "--strict", "--probe"},
                                 curl(www4_), opts());
  EXPECT_NE(r.err.find("mif: run: cell kept: "), std::string::npos) << r.describe();
  for (const auto& s : lab_->served("www", "http"))
    EXPECT_EQ(s.client, cell4_) << "strict pin to cellular leaked: " << r.describe();

  lab_->clearLogs();
  r = lab_->mifRun({"--policy", policy_, "--pvd", "cell,wifi", "--strict", "--probe"},
                   curl(www4_), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.err.find("mif: run: cell demoted: "), std::string::npos) << r.err;
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, wifi4_);
}

// Bad arguments: one line naming the argument, exit 2. Nothing here sends a packet.
TEST(ProbeArguments, BadArgumentsNameTheArgumentAndExit2) {
  TempDir dir("e2e-probe");
  ASSERT_TRUE(dir.ok());
  const ExecOptions env = ExecOptions().withEnv("XDG_CONFIG_HOME=" + dir.path());
  struct Case {
    std::vector<std::string> args;
    std::string line;
  };
  const std::vector<Case> cases = {
      {{"--count", "0"}, "mif: probe: --count 0: not a whole number from 1 to 100\n"},
      {{"--count=x"}, "mif: probe: --count x: not a whole number from 1 to 100\n"},
      {{"--timeout", "-5"}, "mif: probe: --timeout -5: not a number of milliseconds from 1 to 60000\n"},
      {{"--target", "192.0.2.1"}, "mif: probe: --target 192.0.2.1: expected ADDRESS:PORT\n"},
      {{"--target", "192.0.2.1:0"}, "mif: probe: --target 192.0.2.1:0: port '0' is not 1-65535\n"},
      {{"--target", "2001:db8::1:80"},
       "mif: probe: --target 2001:db8::1:80: an IPv6 target is written [ADDRESS]:PORT\n"},
      {{"--target", "www.example.com:80"},
       "mif: probe: --target www.example.com:80: 'www.example.com' is not an IP address (a name "
       "would first have to be resolved through each PvD)\n"},
      {{"--dns", "x"}, "mif: probe: --dns x: not an IP address\n"},
      {{"--count"}, "mif: probe: --count: needs a value (try 'mif probe --help')\n"},
      {{"--frobnicate"}, "mif: probe: --frobnicate: unknown argument (try 'mif probe --help')\n"},
      // Then this machine's interfaces, which the test does not know: a prefix.
      {{"--pvd", "no-such-if0"},
       "mif: probe: --pvd no-such-if0: no PvD of that name in the policy and no such interface; "
       "PvDs of the policy: none; interfaces: "},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {mif::e2e::mifBinary(), "probe"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CommandResult r = mif::e2e::runHere(argv, env);
    EXPECT_EQ(r.status, 2) << r.describe();
    if (c.line.back() == '\n') {
      EXPECT_EQ(r.err, c.line);
    } else {
      EXPECT_EQ(r.err.rfind(c.line, 0), 0u) << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    }
    EXPECT_EQ(r.out, "");
  }
  CommandResult help = mif::e2e::runHere({mif::e2e::mifBinary(), "probe", "--help"}, env);
  EXPECT_EQ(help.status, 0) << help.describe();
  EXPECT_NE(help.out.find("Usage: mif probe"), std::string::npos) << help.out;
}

}  // namespace
