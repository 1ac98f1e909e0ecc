// RFC 6418 4.2 items 1 and 2 (node routing), on the built-in `oneway` topology.
//
// Item 1: svc.cell.example (host "cellsvc") is reachable only through the cellular PvD,
// while the node's preferred default route goes through Wi-Fi. The node-scoped routing
// table sends every connection to it out of Wi-Fi, where it never arrives. With a policy
// that gives the cellular PvD that destination (PvD `prefixes`, precedence step 5, or a
// `[[rule]] dst`, step 3), the same unmodified program reaches it through cellular.
//
// Item 2: the internet host www is reachable through both PvDs; the kernel always picks
// Wi-Fi (the lower metric), whatever the user prefers for this application. A policy rule
// (`app = "curl"`, or `dst`) preferring cellular sends it through cellular, and the server
// sees cellular's source address.
//
// RFC 6418 5.3 item 2: the node's routing ignores the traffic class (DSCP). A `dscp` rule
// sends the sockets a program marked (EF, voice) through cellular, the rest through Wi-Fi.
//
// Each case runs the real program first without mif (the problem), then under `mif run`,
// and asserts what the lab's servers saw.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "lab.h"

namespace {

using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::Served;

class OnewayRouting : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    ASSERT_TRUE(dir_.ok());
    lab_ = std::make_unique<Lab>("oneway");
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    lab_->clearLogs();
    wifi4_ = lab_->addr4("wifi");
    cell4_ = lab_->addr4("cell");
    svc4_ = lab_->hostAddr4("cellsvc");
    www4_ = lab_->hostAddr4("www");
    ASSERT_FALSE(wifi4_.empty());
    ASSERT_FALSE(cell4_.empty());
    ASSERT_FALSE(svc4_.empty());
    ASSERT_FALSE(www4_.empty());
    xdg_ = dir_.path() + "/xdg";
    std::filesystem::create_directories(xdg_);
  }

  // The two PvDs of the node, by their interfaces, with Wi-Fi as the default.
  std::string pvds(const std::string& cellExtra = "") const {
    return "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\n"
           "[pvd.cell]\ninterface = \"" + lab_->link("cell") + "\"\n" + cellExtra +
           "[default]\npvd = \"wifi\"\n";
  }

  ExecOptions opts() const { return ExecOptions().withEnv("XDG_CONFIG_HOME=" + xdg_); }

  std::vector<std::string> curl(const std::string& address) const {
    return {"curl", "-sS", "--max-time", "4", "http://" + address + "/"};
  }

  // Without mif: the kernel sends it out of Wi-Fi, the cellular-only server never sees it.
  void expectUnreachableWithoutMif() {
    auto plain = lab_->exec(curl(svc4_), opts());
    EXPECT_FALSE(plain.ok()) << "the kernel's default route (Wi-Fi) cannot reach it: "
                             << plain.describe();
    EXPECT_TRUE(lab_->served("cellsvc", "http").empty());
    lab_->clearLogs();
  }

  mif::e2e::TempDir dir_{"e2e-oneway"};
  std::unique_ptr<Lab> lab_;
  std::string xdg_, wifi4_, cell4_, svc4_, www4_;
};

// Item 1, step 5: the cellular PvD's `prefixes` name the destination.
TEST_F(OnewayRouting, PvdPrefixesReachTheCellularOnlyDestination) {
  expectUnreachableWithoutMif();
  const std::string policy =
      dir_.write("prefixes.toml", pvds("prefixes = [\"" + svc4_ + "/32\"]\n"));
  auto r = lab_->mifRun({"--policy", policy}, curl(svc4_), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("host=cellsvc"), std::string::npos) << r.out;
  auto seen = lab_->served("cellsvc", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, cell4_);
  EXPECT_EQ(lab_->pvdOfAddress(seen[0].client), "cell");

  // The same policy leaves other destinations to [default] (Wi-Fi).
  lab_->clearLogs();
  r = lab_->mifRun({"--policy", policy}, curl(www4_), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, wifi4_);
}

// Item 1, step 3: a `[[rule]] dst` names the destination; python3 as the program.
TEST_F(OnewayRouting, DstRuleReachesTheCellularOnlyDestination) {
  const std::string script =
      "import socket, sys\n"
      "try:\n"
      "    s = socket.create_connection(('" + svc4_ + "', 80), timeout=4)\n"
      "    s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); sys.stdout.write(s.recv(500).decode())\n"
      "except OSError as e:\n"
      "    print('failed', e); sys.exit(3)\n";
  auto plain = lab_->exec({"python3", "-c", script}, opts());
  EXPECT_EQ(plain.status, 3) << plain.describe();
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());

  lab_->clearLogs();
  const std::string policy = dir_.write(
      "rule.toml", pvds() + "[[rule]]\ndst = \"" + svc4_ + "/32\"\npvd = \"cell\"\n");
  auto r = lab_->mifRun({"--policy", policy}, {"python3", "-c", script}, opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("host=cellsvc"), std::string::npos) << r.out;
  auto seen = lab_->served("cellsvc", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, cell4_);

  // curl too, and `mif explain` names the rule that decided.
  lab_->clearLogs();
  r = lab_->mifRun({"--policy", policy}, curl(svc4_), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  seen = lab_->served("cellsvc", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, cell4_);
  auto ex = lab_->exec({mif::e2e::mifBinary(), "explain", "--policy", policy, "--app", "curl",
                        svc4_ + ":80"},
                       opts());
  ASSERT_TRUE(ex.ok()) << ex.describe();
  EXPECT_NE(ex.out.find("result     cell"), std::string::npos) << ex.out;
  EXPECT_NE(ex.out.find(policy + ":"), std::string::npos) << ex.out;
}

// Item 2: both PvDs reach www; the kernel picks Wi-Fi, the user's rule prefers cellular
// for curl (then Wi-Fi), and only for curl.
TEST_F(OnewayRouting, UserPreferenceForAnAppOverridesTheDefaultRoute) {
  auto plain = lab_->exec(curl(www4_), opts());
  ASSERT_TRUE(plain.ok()) << plain.describe();
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, wifi4_) << "the kernel's choice is Wi-Fi (the problem)";

  lab_->clearLogs();
  const std::string policy = dir_.write(
      "prefer.toml", pvds() + "[[rule]]\napp = \"curl\"\npvd = [\"cell\", \"wifi\"]\n");
  auto r = lab_->mifRun({"--policy", policy}, curl(www4_), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, cell4_);

  // Another program under the same policy is not matched by the app rule: [default].
  lab_->clearLogs();
  const std::string script =
      "import socket\n"
      "s = socket.create_connection(('" + www4_ + "', 80), timeout=4)\n"
      "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); s.recv(500); s.close()\n";
  r = lab_->mifRun({"--policy", policy}, {"python3", "-c", script}, opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, wifi4_);

  // A preference by destination works the same way, for every program.
  lab_->clearLogs();
  const std::string byDst = dir_.write(
      "prefer-dst.toml", pvds() + "[[rule]]\ndst = \"" + www4_ + "/32\"\npvd = [\"cell\", \"wifi\"]\n");
  r = lab_->mifRun({"--policy", byDst}, {"python3", "-c", script}, opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, cell4_);
}

}  // namespace

// 5.3 item 2: python3 marks some sockets EF (IP_TOS / IPV6_TCLASS 0xb8); the kernel sends
// them out of Wi-Fi like the rest. Under a policy with `dscp = "EF"`, exactly the marked
// sockets (TCP connects and unconnected UDP sends, both families) leave through cellular.
TEST_F(OnewayRouting, DscpRuleSendsMarkedSocketsThroughCellular) {
  const std::string www6 = lab_->hostAddr6("www"), cell6 = lab_->addr6("cell"), wifi6 = lab_->addr6("wifi");
  ASSERT_FALSE(www6.empty());
  // ARGV: host tos tcp|udp
  const std::string script =
      "import socket, sys\n"
      "host, tos, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
      "fam = socket.AF_INET6 if ':' in host else socket.AF_INET\n"
      "s = socket.socket(fam, socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)\n"
      "if tos:\n"
      "    if fam == socket.AF_INET: s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)\n"
      "    else: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tos)\n"
      "s.settimeout(4)\n"
      "if kind == 'tcp':\n"
      "    s.connect((host, 80)); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); s.recv(500)\n"
      "else:\n"
      "    s.sendto(b'x', (host, 7)); s.recv(500)\n";
  auto run = [&](const std::string& policy, const std::string& host, int tos, const std::string& kind) {
    std::vector<std::string> argv{"python3", "-c", script, host, std::to_string(tos), kind};
    lab_->clearLogs();
    auto r = policy.empty() ? lab_->exec(argv, opts()) : lab_->mifRun({"--policy", policy}, argv, opts());
    EXPECT_TRUE(r.ok()) << r.describe();
    auto seen = lab_->served("www", kind == "tcp" ? "http" : "udp");
    return seen.size() == 1 ? seen[0].client : "seen " + std::to_string(seen.size()) + " times";
  };
  constexpr int kEf = 0xb8;  // DSCP 46 << 2
  EXPECT_EQ(run("", www4_, kEf, "tcp"), wifi4_) << "without mif the traffic class is ignored";
  EXPECT_EQ(run("", www4_, kEf, "udp"), wifi4_);

  const std::string policy = dir_.write("dscp.toml", pvds() + "[[rule]]\ndscp = \"EF\"\npvd = [\"cell\", \"wifi\"]\n");
  EXPECT_EQ(run(policy, www4_, kEf, "tcp"), cell4_);
  EXPECT_EQ(run(policy, www4_, 0, "tcp"), wifi4_);
  EXPECT_EQ(run(policy, www4_, 0x88, "tcp"), wifi4_) << "AF41 is not EF";
  EXPECT_EQ(run(policy, www4_, kEf, "udp"), cell4_);
  EXPECT_EQ(run(policy, www4_, 0, "udp"), wifi4_);
  EXPECT_EQ(run(policy, www6, kEf, "tcp"), cell6);
  EXPECT_EQ(run(policy, www6, 0, "tcp"), wifi6);

  // A static program under --enforce: the supervisor reads the traffic class too.
  const std::string prog = std::string(MIF_BIN_DIR) + "/enforce_connect";
  for (auto [tos, want] : {std::pair<int, std::string>{kEf, cell4_}, {0, wifi4_}}) {
    lab_->clearLogs();
    auto r = lab_->mifRun({"--enforce", "--policy", policy}, {prog, www4_, "80", std::to_string(tos)}, opts());
    ASSERT_TRUE(r.ok()) << r.describe();
    auto seen = lab_->served("www", "http");
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].client, want) << "tos " << tos;
  }
}
