// RFC 6418 4.1 item 6: an answer one PvD's resolver synthesises (as a DNS64 resolver
// synthesises AAAA records that work only through its own NAT64) must be used through that
// PvD only. Here the VPN's resolver gives mail.corp.example an IPv6 address that exists
// only behind the VPN; Wi-Fi's resolver gives a public decoy. Without mif, curl -6 gets the
// decoy; with mif it gets the VPN's address and its connection leaves through tun0 —
// although the policy's default is Wi-Fi and the VPN has no `prefixes`: the address's
// DNS tag decides (precedence step 4).
#include "e2e_dns_common.h"

namespace {

using mif::e2e::Lab;
using mifdns::e2e::run;

TEST(SynthesisedAaaa, UsedOnlyThroughThePvdThatAnsweredIt) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab(mifdns::e2e::privateTopology("wifi-vpn"));
  ASSERT_TRUE(lab.ok()) << lab.error();
  mifdns::e2e::TempFile policy(
      "policy-aaaa",
      "[pvd.wifi]\ninterface = \"wlan0\"\n"
      "[pvd.vpn]\ninterface = \"tun0\"\ndns = [\"2001:db8:8::53\"]\ndomains = [\"corp.example\"]\n"
      "[default]\npvd = \"wifi\"\n");
  mifdns::e2e::TempFile trace("trace-aaaa", "");
  const std::vector<std::string> curl = {
      "curl", "-6",        "-s", "-m",           "5",
      "-o",   "/dev/null", "-w", "%{remote_ip}", "http://mail.corp.example/"};

  auto without = run(lab, lab.dns4("wifi"), "", {}, curl);
  EXPECT_EQ(without.out, lab.hostAddr6("decoy")) << without.describe();
  lab.clearLogs();

  auto with = run(lab, lab.dns4("wifi"), policy.path(), {"--trace=" + trace.path()}, curl);
  ASSERT_EQ(with.status, 0) << with.describe();
  EXPECT_EQ(with.out, lab.hostAddr6("mail"));
  auto seen = lab.served("mail");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, lab.addr6("vpn"));
  EXPECT_TRUE(lab.served("decoy").empty());
  std::ifstream t(trace.path());
  std::string traced((std::istreambuf_iterator<char>(t)), std::istreambuf_iterator<char>());
  EXPECT_NE(traced.find("\"step_name\":\"DNS tag\""), std::string::npos) << traced;
}

}  // namespace
