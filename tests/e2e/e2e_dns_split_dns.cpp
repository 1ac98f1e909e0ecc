// RFC 6418 4.1 items 1-3, split DNS: the node is on Wi-Fi (whose resolver is the system
// resolver) and on a split-tunnel VPN whose resolver alone knows corp.example. Without
// mif, a private name fails (item 2) or resolves to the wrong, public address (item 3),
// and every query goes to the Wi-Fi resolver (item 1). With mif, corp.example names go to
// the VPN's server over tun0, everything else stays on Wi-Fi, for every kind of client:
// getent (getaddrinfo / gethostbyname), python3, curl, and a libresolv program; dig, its
// own resolver, follows a strict pin.
#include "e2e_dns_common.h"

namespace {

using mif::e2e::Lab;
using mifdns::e2e::run;

const char* kPolicy = R"([pvd.wifi]
interface = "wlan0"
[pvd.vpn]
interface = "tun0"
dns = ["10.8.0.53", "2001:db8:8::53"]
domains = ["corp.example"]
[default]
pvd = "wifi"
)";

class SplitDns : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    lab_ = std::make_unique<Lab>(mifdns::e2e::privateTopology("wifi-vpn"));
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    wifiResolver_ = lab_->dns4("wifi");
  }
  std::unique_ptr<Lab> lab_;
  std::string wifiResolver_;
  mifdns::e2e::TempFile policy_{"policy-split", kPolicy};
};

TEST_F(SplitDns, PrivateNameFailsWithoutMifAndResolvesThroughTheVpnWithIt) {
  // Item 2: the Wi-Fi resolver does not know the private zone.
  auto without = run(*lab_, wifiResolver_, "", {}, {"getent", "ahosts", "wiki.corp.example"});
  EXPECT_NE(without.status, 0) << without.describe();
  EXPECT_TRUE(lab_->dnsSaw("wifi", "wiki.corp.example"));  // item 1: it leaked to Wi-Fi
  lab_->clearLogs();

  auto with =
      run(*lab_, wifiResolver_, policy_.path(), {}, {"getent", "ahosts", "wiki.corp.example"});
  ASSERT_EQ(with.status, 0) << with.describe();
  EXPECT_NE(with.out.find(lab_->hostAddr4("wiki")), std::string::npos) << with.out;
  EXPECT_NE(with.out.find(lab_->hostAddr6("wiki")), std::string::npos) << with.out;
  EXPECT_TRUE(lab_->dnsSaw("vpn", "wiki.corp.example"));
  EXPECT_FALSE(lab_->dnsSaw("wifi", "wiki.corp.example", std::chrono::milliseconds(0)));
  // The query left from the node's VPN address, i.e. over tun0.
  bool fromVpn = false;
  for (const auto& q : lab_->dnsQueries("vpn"))
    if (q.name == "wiki.corp.example") fromVpn |= lab_->pvdOfAddress(q.from) == "vpn";
  EXPECT_TRUE(fromVpn);
}

TEST_F(SplitDns, PrivateNameResolvesWrongWithoutMifAndRightWithIt) {
  // Item 3: the public resolver has a decoy answer for the private name.
  auto without = run(*lab_, wifiResolver_, "", {}, {"getent", "ahosts", "mail.corp.example"});
  ASSERT_EQ(without.status, 0) << without.describe();
  EXPECT_NE(without.out.find(lab_->hostAddr4("decoy")), std::string::npos) << without.out;

  auto with =
      run(*lab_, wifiResolver_, policy_.path(), {},
          {"python3", "-c",
           "import socket\n"
           "print(socket.gethostbyname('mail.corp.example'))\n"
           "print(sorted({a[4][0] for a in socket.getaddrinfo('mail.corp.example', 25)}))\n"});
  ASSERT_EQ(with.status, 0) << with.describe();
  EXPECT_NE(with.out.find(lab_->hostAddr4("mail")), std::string::npos) << with.out;
  EXPECT_NE(with.out.find(lab_->hostAddr6("mail")), std::string::npos) << with.out;
  EXPECT_EQ(with.out.find(lab_->hostAddr4("decoy")), std::string::npos) << with.out;
}

TEST_F(SplitDns, CurlReachesThePrivateHostThroughTheVpnAndPublicNamesStayOnWifi) {
  auto wiki = run(*lab_, wifiResolver_, policy_.path(), {},
                  {"curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                   "http://wiki.corp.example/"});
  EXPECT_EQ(wiki.status, 0) << wiki.describe();
  auto seen = lab_->served("wiki");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(lab_->pvdOfAddress(seen[0].client), "vpn");
  // A public name is Wi-Fi's business: asked of Wi-Fi's resolver, never of the VPN's.
  lab_->clearLogs();
  auto www = run(*lab_, wifiResolver_, policy_.path(), {}, {"getent", "ahosts", "www.example.com"});
  EXPECT_EQ(www.status, 0) << www.describe();
  EXPECT_TRUE(lab_->dnsSaw("wifi", "www.example.com"));
  EXPECT_FALSE(lab_->dnsSaw("vpn", "www.example.com", std::chrono::milliseconds(0)));
}

TEST_F(SplitDns, LibresolvProgramAsksTheVpnsServer) {
  auto without = run(*lab_, wifiResolver_, "", {},
                     {mifdns::e2e::resQueryProgram(), "query", "wiki.corp.example"});
  EXPECT_NE(without.status, 0) << without.describe();
  lab_->clearLogs();
  auto with = run(*lab_, wifiResolver_, policy_.path(), {},
                  {mifdns::e2e::resQueryProgram(), "search", "wiki.corp.example"});
  ASSERT_EQ(with.status, 0) << with.describe();
  EXPECT_NE(with.out.find("rcode=0 answers=1"), std::string::npos) << with.out;
  EXPECT_NE(with.out.find(lab_->hostAddr4("wiki")), std::string::npos) << with.out;
  EXPECT_FALSE(lab_->dnsSaw("wifi", "wiki.corp.example", std::chrono::milliseconds(0)));
}

TEST_F(SplitDns, StrictPinNeverAsksAnotherPvdsServer) {
  // Pinned strictly to the VPN: even a public name is asked of the VPN's server only, and
  // the Wi-Fi server's query log stays empty.
  lab_->clearLogs();
  auto r = run(*lab_, wifiResolver_, policy_.path(), {"--pvd", "vpn", "--strict"},
               {"python3", "-c",
                "import socket\n"
                "print(socket.getaddrinfo('www.example.com', 80)[0][4][0])\n"
                "try:\n  socket.getaddrinfo('nosuch.example.com', 80)\nexcept socket.gaierror as "
                "e:\n  print('gaierror', e.errno)\n"});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_TRUE(lab_->dnsSaw("vpn", "www.example.com"));
  EXPECT_TRUE(lab_->dnsQueries("wifi").empty());
  EXPECT_NE(r.out.find("gaierror"), std::string::npos) << r.out;  // NXDOMAIN: no fallback
}

// dig is a resolver of its own (no getaddrinfo, no libresolv): it reads /etc/resolv.conf
// and sends its queries itself. Without mif its query leaves through Wi-Fi to the Wi-Fi
// server. Under a strict VPN pin nothing of it leaves through Wi-Fi: whatever the Wi-Fi
// server sees comes from the node's VPN address, and a query to the VPN's server goes
// over tun0 and is answered.
TEST_F(SplitDns, DigsOwnQueriesFollowTheStrictPin) {
  const std::vector<std::string> dig = {"dig", "+time=1", "+tries=1"};
  auto argv = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = dig;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  lab_->clearLogs();
  auto without = run(*lab_, wifiResolver_, "", {}, argv({"www.example.com"}));
  EXPECT_NE(without.out.find("status: NOERROR"), std::string::npos) << without.describe();
  ASSERT_TRUE(lab_->dnsSaw("wifi", "www.example.com"));
  for (const auto& q : lab_->dnsQueries("wifi")) EXPECT_EQ(lab_->pvdOfAddress(q.from), "wifi");

  lab_->clearLogs();
  auto pinned = run(*lab_, wifiResolver_, policy_.path(), {"--pvd", "vpn", "--strict"},
                    argv({"www.example.com"}));
  EXPECT_NE(pinned.out.find("<<>> DiG"), std::string::npos) << pinned.describe();  // it ran
  EXPECT_EQ(pinned.out.find("status: NOERROR"), std::string::npos) << pinned.describe();
  lab_->dnsSaw("wifi", "www.example.com", std::chrono::milliseconds(500));  // let the log settle
  for (const auto& q : lab_->dnsQueries("wifi"))
    EXPECT_EQ(lab_->pvdOfAddress(q.from), "vpn") << "a query left through Wi-Fi: " << pinned.describe();

  lab_->clearLogs();
  auto vpn = run(*lab_, wifiResolver_, policy_.path(), {"--pvd", "vpn", "--strict"},
                 argv({"+short", "@" + lab_->dns4("vpn"), "wiki.corp.example"}));
  EXPECT_NE(vpn.out.find(lab_->hostAddr4("wiki")), std::string::npos) << vpn.describe();
  ASSERT_TRUE(lab_->dnsSaw("vpn", "wiki.corp.example"));
  for (const auto& q : lab_->dnsQueries("vpn")) EXPECT_EQ(lab_->pvdOfAddress(q.from), "vpn");
}

}  // namespace
