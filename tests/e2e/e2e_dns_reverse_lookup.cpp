// RFC 6418 4.1 item 2 names reverse queries too: the PTR record of a private address is
// known only to the PvD that owns it. Without mif the reverse lookup goes to the Wi-Fi
// resolver and fails; with mif it goes through the PvD that owns the address — the one
// whose prefixes hold it, or whose DNS returned it (its tag) — for gethostbyaddr (getent,
// python3), getnameinfo and a libresolv PTR query.
#include "e2e_dns_common.h"

namespace {

using mif::e2e::Lab;
using mifdns::e2e::run;

class ReverseLookup : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    lab_ = std::make_unique<Lab>(mifdns::e2e::privateTopology("wifi-vpn"));
    ASSERT_TRUE(lab_->ok()) << lab_->error();
  }
  std::unique_ptr<Lab> lab_;
};

TEST_F(ReverseLookup, ThroughThePvdWhosePrefixesHoldTheAddress) {
  mifdns::e2e::TempFile policy(
      "policy-rev",
      "[pvd.wifi]\ninterface = \"wlan0\"\n"
      "[pvd.vpn]\ninterface = \"tun0\"\ndns = [\"10.8.0.53\"]\ndomains = [\"corp.example\"]\n"
      "prefixes = [\"10.8.0.0/16\", \"2001:db8:8::/48\"]\n"
      "[default]\npvd = \"wifi\"\n");
  const std::string wiki = lab_->hostAddr4("wiki");
  auto without = run(*lab_, lab_->dns4("wifi"), "", {}, {"getent", "hosts", wiki});
  EXPECT_NE(without.status, 0) << without.describe();
  lab_->clearLogs();

  auto with = run(*lab_, lab_->dns4("wifi"), policy.path(), {}, {"getent", "hosts", wiki});
  ASSERT_EQ(with.status, 0) << with.describe();
  EXPECT_NE(with.out.find("wiki.corp.example"), std::string::npos) << with.out;
  auto py = run(*lab_, lab_->dns4("wifi"), policy.path(), {},
                {"python3", "-c",
                 "import socket\n"
                 "print(socket.gethostbyaddr('" +
                     lab_->hostAddr4("mail") +
                     "')[0])\n"
                     "print(socket.getnameinfo(('" +
                     lab_->hostAddr6("wiki") + "', 80), socket.NI_NAMEREQD)[0])\n"});
  ASSERT_EQ(py.status, 0) << py.describe();
  EXPECT_NE(py.out.find("mail.corp.example"), std::string::npos) << py.out;
  EXPECT_NE(py.out.find("wiki.corp.example"), std::string::npos) << py.out;
  auto ptr = run(*lab_, lab_->dns4("wifi"), policy.path(), {},
                 {mifdns::e2e::resQueryProgram(), "query", "10.0.8.10.in-addr.arpa", "PTR"});
  EXPECT_NE(ptr.out.find("wiki.corp.example"), std::string::npos) << ptr.describe();
  EXPECT_TRUE(lab_->dnsSaw("vpn", "10.0.8.10.in-addr.arpa"));
  EXPECT_FALSE(lab_->dnsSaw("wifi", "10.0.8.10.in-addr.arpa", std::chrono::milliseconds(0)));
}

TEST_F(ReverseLookup, ThroughThePvdWhoseDnsReturnedTheAddress) {
  // No prefixes for the VPN: only the tag left by the forward lookup says where it belongs.
  mifdns::e2e::TempFile policy(
      "policy-rev-tag",
      "[pvd.wifi]\ninterface = \"wlan0\"\n"
      "[pvd.vpn]\ninterface = \"tun0\"\ndns = [\"10.8.0.53\"]\ndomains = [\"corp.example\"]\n"
      "[default]\npvd = \"wifi\"\n");
  auto py = run(*lab_, lab_->dns4("wifi"), policy.path(), {},
                {"python3", "-c",
                 "import socket\n"
                 "a = socket.gethostbyname('wiki.corp.example')\n"
                 "print(a, socket.gethostbyaddr(a)[0])\n"});
  ASSERT_EQ(py.status, 0) << py.describe();
  EXPECT_NE(py.out.find("wiki.corp.example"), std::string::npos) << py.out;
  EXPECT_TRUE(lab_->dnsSaw("vpn", "10.0.8.10.in-addr.arpa"));
  EXPECT_FALSE(lab_->dnsSaw("wifi", "10.0.8.10.in-addr.arpa", std::chrono::milliseconds(0)));
}

}  // namespace
