// RFC 6418 4.1 item 4: both PvDs use RFC 1918 space, and 10.0.0.10 is the home NAS behind
// the home router and an application server behind the office. The office's 10.0.0.0/8
// route wins in the node's one routing table, so without mif the NAS is unreachable: its
// name resolves, but the connection lands on the office server. With mif, one process
// reaches both: each address carries the PvD whose DNS returned it, and the connect that
// follows goes through that PvD.
#include "e2e_dns_common.h"

namespace {

using mif::e2e::Lab;
using mifdns::e2e::run;

TEST(OverlappingPrefixes, OneProcessReachesTheSameAddressBehindBothPvds) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab(mifdns::e2e::privateTopology("overlap"));
  ASSERT_TRUE(lab.ok()) << lab.error();
  ASSERT_EQ(lab.hostAddr4("nas"), lab.hostAddr4("app"));
  mifdns::e2e::TempFile policy("policy-overlap", "[pvd.home]\ninterface = \"" + lab.link("home") +
                                                     "\"\ndns = [\"" + lab.dns4("home") +
                                                     "\"]\ndomains = [\"home.arpa\"]\n"
                                                     "[pvd.office]\ninterface = \"" +
                                                     lab.link("office") + "\"\ndns = [\"" +
                                                     lab.dns4("office") +
                                                     "\"]\ndomains = [\"corp.example\"]\n"
                                                     "[default]\npvd = \"home\"\n");
  const std::string fetchBoth =
      "import urllib.request\n"
      "for url in ('http://nas.home.arpa/', 'http://app.corp.example/'):\n"
      "    try:\n"
      "        print(url, urllib.request.urlopen(url, timeout=5).status)\n"
      "    except Exception as e:\n"
      "        print(url, 'failed', e)\n";

  // Without mif: the home resolver names the NAS, but the packets go to the office.
  auto without = run(lab, lab.dns4("home"), "", {}, {"python3", "-c", fetchBoth});
  EXPECT_TRUE(lab.served("nas").empty());
  EXPECT_FALSE(lab.served("app").empty());
  lab.clearLogs();

  auto with = run(lab, lab.dns4("home"), policy.path(), {}, {"python3", "-c", fetchBoth});
  EXPECT_EQ(with.status, 0) << with.describe();
  auto nas = lab.served("nas"), app = lab.served("app");
  ASSERT_EQ(nas.size(), 1u) << with.describe();
  ASSERT_EQ(app.size(), 1u) << with.describe();
  EXPECT_EQ(lab.pvdOfAddress(nas[0].client), "home");
  EXPECT_EQ(lab.pvdOfAddress(app[0].client), "office");
  EXPECT_TRUE(lab.dnsSaw("home", "nas.home.arpa"));
  EXPECT_TRUE(lab.dnsSaw("office", "app.corp.example"));
  EXPECT_FALSE(lab.dnsSaw("office", "nas.home.arpa", std::chrono::milliseconds(0)));
}

}  // namespace
