// Issue 21, io_uring under a strict pin without --enforce (RFC 6418 6, the VPN app that
// must never leak). programs/uring_connect.c is an ordinary dynamic program: the preload
// is loaded into it, but its connect is an IORING_OP_CONNECT that the kernel runs without
// any libc call, so the preload never sees it and it leaves by the kernel's default route.
// `mif run` closes io_uring whenever anything can be strict (io_uring_setup answers
// ENOSYS, as on a kernel without io_uring); the program falls back to connect(), which
// the preload pins.
//
// Topology "wifi-vpn": Wi-Fi holds the default route (metric 100, the VPN's 200); the
// host "www" on the shared internet is reachable through both.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lab.h"

namespace {

using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;

// The built-in "wifi-vpn" under a name of our own, so that another test program using
// "wifi-vpn" at the same time never meets, or tears down, this one.
std::string topology() {
  static const std::string path = mif::e2e::renamedTopology("wifi-vpn", "uring-wifi-vpn");
  return path;
}

std::string uringConnect() { return std::string(MIF_BIN_DIR) + "/uring_connect"; }

class StrictIoUring : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    lab_ = std::make_unique<Lab>(topology());
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    lab_->clearLogs();
    www4_ = lab_->hostAddr4("www");
    www6_ = lab_->hostAddr6("www");
    ASSERT_FALSE(www4_.empty());
    ASSERT_FALSE(www6_.empty());
    xdg_ = dir_.path() + "/xdg";  // no user policy layer of the machine
    std::filesystem::create_directories(xdg_);
  }

  ExecOptions opts() const { return ExecOptions().withEnv("XDG_CONFIG_HOME=" + xdg_); }

  // `--pvd LINK --dns SERVER [--strict]`: an ad hoc PvD, as a user would pin one.
  std::vector<std::string> pin(const std::string& pvd, bool strict) const {
    std::vector<std::string> a{"--pvd", lab_->link(pvd), "--dns", lab_->dns4(pvd)};
    if (strict) a.push_back("--strict");
    return a;
  }

  // The program against www at `address`, checking that it got the server's reply.
  CommandResult fetch(const std::vector<std::string>* mifArgs, const std::string& address) const {
    std::vector<std::string> argv{uringConnect(), address, "80"};
    CommandResult r = mifArgs ? lab_->mifRun(*mifArgs, argv, opts()) : lab_->exec(argv, opts());
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_NE(r.out.find("HTTP/1."), std::string::npos) << r.out;
    return r;
  }

  // The source address www saw on its latest request ("" if none).
  std::string lastClient() const {
    auto seen = lab_->served("www", "http");
    return seen.empty() ? "" : seen.back().client;
  }

  static bool usedIoUring(const CommandResult& r) { return r.out.rfind("io_uring\n", 0) == 0; }
  static bool fellBack(const CommandResult& r) {
    return r.out.rfind("fallback: io_uring_setup: Function not implemented\n", 0) == 0;
  }

  mif::e2e::TempDir dir_{"e2e-uring"};
  std::unique_ptr<Lab> lab_;
  std::string www4_, www6_, xdg_;
};

// 1. Without mif the program uses io_uring and leaves through Wi-Fi, the default route.
// 3. Under a pin without --strict, nothing changes: io_uring is open, and its connect is
//    not pinned (documented: only --strict closes it, --enforce supervises it).
TEST_F(StrictIoUring, WithoutStrictIoUringStaysOpenAndUnpinned) {
  auto plain = fetch(nullptr, www4_);
  EXPECT_TRUE(usedIoUring(plain)) << plain.out;
  EXPECT_EQ(lastClient(), lab_->addr4("wifi"));

  lab_->clearLogs();
  const auto loose = pin("vpn", false);
  auto r = fetch(&loose, www4_);
  EXPECT_TRUE(usedIoUring(r)) << r.out;
  EXPECT_EQ(lastClient(), lab_->addr4("wifi"))
      << "an io_uring connect under a non-strict pin is the kernel's, as without mif";
}

// 2. Under --strict io_uring_setup fails with ENOSYS, the program falls back to connect(),
//    nothing to www leaves through Wi-Fi, and www sees the VPN's address.
TEST_F(StrictIoUring, StrictPinClosesIoUringAndTheFallbackIsPinned) {
  const auto strict = pin("vpn", true);
  for (const std::string& www : {www4_, www6_}) {
    lab_->clearLogs();
    auto cap = lab_->capture("wifi", "host " + www);
    ASSERT_TRUE(cap.running()) << cap.error();
    auto r = fetch(&strict, www);
    EXPECT_TRUE(fellBack(r)) << r.out;
    EXPECT_EQ(cap.count(), 0u) << "packets to " << www << " left through Wi-Fi:\n"
                               << ::testing::PrintToString(cap.packets());
    EXPECT_EQ(lab_->pvdOfAddress(lastClient()), "vpn") << www << " saw " << lastClient();
  }
}

// A strict rule of the policy, with no --strict on the command line, closes it too: the
// preload may decide any socket strictly, so io_uring must not bypass it.
TEST_F(StrictIoUring, StrictPolicyRuleClosesIoUring) {
  const std::string policy = dir_.write(
      "strict-rule.toml", "[pvd.vpn]\ninterface = \"" + lab_->link("vpn") + "\"\ndns = [\"" +
                              lab_->dns4("vpn") + "\"]\n\n[[rule]]\ndst = \"" + www4_ +
                              "/32\"\npvd = \"vpn\"\nstrict = true\n");
  auto cap = lab_->capture("wifi", "host " + www4_);
  ASSERT_TRUE(cap.running()) << cap.error();
  const std::vector<std::string> args{"--policy", policy};
  auto r = fetch(&args, www4_);
  EXPECT_TRUE(fellBack(r)) << r.out;
  EXPECT_EQ(cap.count(), 0u) << ::testing::PrintToString(cap.packets());
  EXPECT_EQ(lastClient(), lab_->addr4("vpn"));

  // The same policy without strict leaves io_uring open.
  const std::string loose = dir_.write(
      "loose-rule.toml", "[pvd.vpn]\ninterface = \"" + lab_->link("vpn") + "\"\ndns = [\"" +
                             lab_->dns4("vpn") + "\"]\n\n[[rule]]\ndst = \"" + www4_ +
                             "/32\"\npvd = \"vpn\"\n");
  const std::vector<std::string> looseArgs{"--policy", loose};
  auto open = fetch(&looseArgs, www4_);
  EXPECT_TRUE(usedIoUring(open)) << open.out;
}

}  // namespace
