// `mif run --enforce` under signals (issue 28, item 3): a Go program whose spinning
// goroutines the runtime preempts with signals (SIGURG, every 10 ms) makes thousands of
// TCP connects and unconnected UDP sends, each decided by the supervisor. None may fail
// with EINTR, which the kernel alone never returns for them (SA_RESTART): the filter is
// loaded with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (docs/architecture.md), so a call the
// supervisor has received is not ended by a signal.
#include <string>

#include "lab.h"

using namespace std::chrono_literals;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;

TEST(EnforceSignals, BusyGoProgramsCallsNeverFailWithEintr) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab(mif::e2e::renamedTopology("wifi-vpn", "enf-signals"));
  ASSERT_TRUE(lab.ok()) << lab.error();
  std::string why, storm = mif::e2e::goProgram("enforce_storm", &why);
  ASSERT_FALSE(storm.empty()) << why;
  const std::string wiki = lab.hostAddr4("wiki");
  // 8 workers x 300 rounds: 2,400 supervised connects and 2,400 supervised sends while
  // 2 x CPUs goroutines spin.
  // Each round also sends a query to Wi-Fi's server (the node's resolver) over a connected
  // UDP socket: the supervisor redirects that connect to the VPN's server by connecting the
  // socket itself. A connect restarted by a signal after that would connect it again, to
  // Wi-Fi's server, and the query would leak there.
  lab.clearLogs();
  auto r = lab.mifRun({"--pvd", lab.link("vpn"), "--dns", lab.dns4("vpn"), "--strict", "--enforce"},
                      {storm, wiki + ":80", wiki + ":7", "8", "300", lab.dns4("wifi") + ":53"},
                      ExecOptions().within(120s));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("connects=2400 sends=2400 queries=2400 eintr=0 errors=0"), std::string::npos)
      << r.out;
  EXPECT_FALSE(lab.dnsSaw("wifi", "storm.invalid", 0ms)) << "a query leaked to Wi-Fi's server";
  EXPECT_TRUE(lab.dnsSaw("vpn", "storm.invalid"));
  // The connects went through the pinned PvD: the service saw the VPN's address.
  auto seen = lab.served("wiki");
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().client, lab.addr4("vpn"));
}
