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
