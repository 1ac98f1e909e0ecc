// RFC 6418 4.1-4.2, 5.3 and 6 for the programs an LD_PRELOAD interposer cannot see: a
// static C program making raw system calls, busybox-static's wget and nslookup, and a
// CGO_ENABLED=0 Go HTTP client. Each test first shows the leak without --enforce (the
// static binary ignores LD_PRELOAD and follows the host's default route and resolver),
// then the same command under --enforce going where the pin says.
//
// Topology "wifi-vpn": Wi-Fi holds the default route; the VPN (tun0) has its own resolver,
// the only one that knows corp.example. PvDs are pinned by interface name (ad hoc PvDs),
// with the PvD's DNS server given by --dns, as a user would on the command line.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lab.h"

namespace {

using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using namespace std::chrono_literals;

// The built-in "wifi-vpn" under a name of our own, so that another test program using
// "wifi-vpn" at the same time (whose Lab would tear ours down) never meets this one.
std::string topology() {
  static const std::string path = mif::e2e::renamedTopology("wifi-vpn", "enf-wifi-vpn");
  return path;
}
const char* kBusybox = "/bin/busybox";

std::string staticConnect() { return std::string(MIF_BIN_DIR) + "/enforce_connect"; }

std::string goClient(std::string* why) { return mif::e2e::goProgram("enforce_httpget", why); }

// `--pvd LINK --dns SERVER [--strict] [--enforce]` for a PvD of the topology.
std::vector<std::string> pin(const Lab& lab, const std::string& pvd, bool enforce,
                             bool strict = false) {
  std::vector<std::string> a{"--pvd", lab.link(pvd), "--dns", lab.dns4(pvd)};
  if (strict) a.push_back("--strict");
  if (enforce) a.push_back("--enforce");
  return a;
}

// The source address the service of `host` saw on its latest request ("" if none).
std::string lastClient(const Lab& lab, const std::string& host) {
  auto seen = lab.served(host);
  return seen.empty() ? "" : seen.back().client;
}

#define START_LAB(lab)   \
  MIF_E2E_REQUIRE_LAB(); \
  Lab lab(topology());   \
  ASSERT_TRUE(lab.ok()) << lab.error()

// Runs `argv` pinned to each PvD, without --enforce (expecting Wi-Fi: the leak) and with
// it (expecting the PvD's own address), against the internet host "www".
void expectPinnedOnlyUnderEnforce(const Lab& lab, const std::vector<std::string>& argv) {
  lab.clearLogs();
  auto leak = lab.mifRun(pin(lab, "vpn", false), argv);
  ASSERT_TRUE(leak.ok()) << leak.describe();
  EXPECT_EQ(lastClient(lab, "www"), lab.addr4("wifi"))
      << "without --enforce the static program ignores LD_PRELOAD and leaves by the default route";
  for (const char* pvd : {"wifi", "vpn"}) {
    lab.clearLogs();
    auto r = lab.mifRun(pin(lab, pvd, true), argv);
    ASSERT_TRUE(r.ok()) << pvd << ": " << r.describe();
    EXPECT_EQ(lastClient(lab, "www"), lab.addr4(pvd)) << pvd;
  }
}

TEST(EnforceStatic, RawSyscallConnectIsPinnedToEachPvd) {
  START_LAB(lab);
  expectPinnedOnlyUnderEnforce(lab, {staticConnect(), lab.hostAddr4("www"), "80"});
}

TEST(EnforceStatic, RawSyscallConnectOverIpv6IsPinnedToEachPvd) {
  START_LAB(lab);
  for (const char* pvd : {"wifi", "vpn"}) {
    lab.clearLogs();
    auto r = lab.mifRun(pin(lab, pvd, true), {staticConnect(), lab.hostAddr6("www"), "80"});
    ASSERT_TRUE(r.ok()) << pvd << ": " << r.describe();
    EXPECT_EQ(lab.pvdOfAddress(lastClient(lab, "www")), pvd) << lastClient(lab, "www");
  }
}

TEST(EnforceStatic, BusyboxWgetIsPinnedToEachPvd) {
  START_LAB(lab);
  expectPinnedOnlyUnderEnforce(
      lab, {kBusybox, "wget", "-q", "-O", "-", "http://" + lab.hostAddr4("www") + "/"});
}

TEST(EnforceStatic, GoHttpClientIsPinnedToEachPvd) {
  START_LAB(lab);
  std::string why, go = goClient(&why);
  ASSERT_FALSE(go.empty()) << why;
  expectPinnedOnlyUnderEnforce(lab, {go, "http://" + lab.hostAddr4("www") + "/"});
}

// RFC 6418 4.1 item 1: the private name is known only to the VPN's server.
TEST(EnforceStatic, PrivateNameResolvesThroughTheVpnServerOnly) {
  START_LAB(lab);
  const std::string name = "wiki.corp.example";
  lab.clearLogs();
  auto leak = lab.mifRun(pin(lab, "vpn", false), {kBusybox, "nslookup", name});
  EXPECT_FALSE(lab.dnsSaw("vpn", name, 500ms))
      << "without --enforce busybox asks the host's resolver, not the VPN's: " << leak.describe();

  lab.clearLogs();
  auto ns = lab.mifRun(pin(lab, "vpn", true), {kBusybox, "nslookup", name});
  ASSERT_TRUE(ns.ok()) << ns.describe();
  EXPECT_NE(ns.out.find(lab.hostAddr4("wiki")), std::string::npos) << ns.out;
  EXPECT_TRUE(lab.dnsSaw("vpn", name));
  EXPECT_FALSE(lab.dnsSaw("wifi", name, 0ms)) << "the private name leaked to Wi-Fi's resolver";

  std::string why, go = goClient(&why);
  ASSERT_FALSE(go.empty()) << why;
  const std::vector<std::vector<std::string>> clients = {
      {kBusybox, "wget", "-q", "-O", "-", "http://" + name + "/"},
      {go, "http://" + name + "/"},
      {staticConnect(), name, "80"},
  };
  for (const auto& argv : clients) {
    lab.clearLogs();
    auto r = lab.mifRun(pin(lab, "vpn", true), argv);
    ASSERT_TRUE(r.ok()) << argv[0] << ": " << r.describe();
    // The name has A and AAAA records: either family, as long as it is the VPN's address.
    EXPECT_EQ(lab.pvdOfAddress(lastClient(lab, "wiki")), "vpn") << argv[0];
    EXPECT_TRUE(lab.dnsSaw("vpn", name)) << argv[0];
    EXPECT_FALSE(lab.dnsSaw("wifi", name, 0ms)) << argv[0];
  }
}

// RFC 6418 6 (the VPN app that must never leak): tunnel down, strict pin to it.
TEST(EnforceStatic, StrictKillSwitchHoldsForStaticPrograms) {
  START_LAB(lab);
  std::string why, go = goClient(&why);
  ASSERT_FALSE(go.empty()) << why;
  const std::string www = lab.hostAddr4("www");
  ASSERT_TRUE(lab.linkDown("vpn"));
  {
    auto cap = lab.capture("wifi", "host " + www + " or port 53");
    ASSERT_TRUE(cap.running()) << cap.error();
    const std::vector<std::vector<std::string>> clients = {
        {staticConnect(), www, "80"},
        {kBusybox, "wget", "-q", "-T", "3", "-O", "-", "http://" + www + "/"},
        {go, "http://" + www + "/"},
        {staticConnect(), "wiki.corp.example", "80"},
    };
    for (const auto& argv : clients) {
      auto r = lab.mifRun(pin(lab, "vpn", true, true), argv, ExecOptions().within(8s));
      EXPECT_NE(r.status, 0) << argv[0] << ": " << r.describe();
      EXPECT_FALSE(r.timedOut) << argv[0] << " should fail fast: " << r.describe();
    }
    EXPECT_EQ(cap.count(), 0u) << "packets left through Wi-Fi:\n"
                               << ::testing::PrintToString(cap.packets());
  }
  // The contrast: without --enforce the static program leaves through Wi-Fi.
  lab.clearLogs();
  auto leak = lab.mifRun(pin(lab, "vpn", false, true), {staticConnect(), www, "80"});
  EXPECT_TRUE(leak.ok()) << leak.describe();
  EXPECT_EQ(lastClient(lab, "www"), lab.addr4("wifi"));
  ASSERT_TRUE(lab.linkUp("vpn"));
}

// A dynamic program is decided by the preload library; --enforce must change nothing.
TEST(EnforceDynamic, CurlBehavesExactlyAsWithoutEnforce) {
  START_LAB(lab);
  for (const std::string& target :
       {"http://" + lab.hostAddr4("www") + "/", std::string("http://wiki.corp.example/")}) {
    const std::string host = target.find("wiki") != std::string::npos ? "wiki" : "www";
    std::vector<std::string> argv{"curl", "-s", "--max-time", "5", target};
    lab.clearLogs();
    auto plain = lab.mifRun(pin(lab, "vpn", false), argv);
    ASSERT_TRUE(plain.ok()) << plain.describe();
    std::string plainClient = lastClient(lab, host);
    lab.clearLogs();
    auto enforced = lab.mifRun(pin(lab, "vpn", true), argv);
    ASSERT_TRUE(enforced.ok()) << enforced.describe();
    EXPECT_EQ(lab.pvdOfAddress(plainClient), "vpn") << target << " from " << plainClient;
    EXPECT_EQ(lastClient(lab, host), plainClient) << target;
    EXPECT_EQ(enforced.err, plain.err) << target;
  }
}

}  // namespace
