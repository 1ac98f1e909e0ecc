// RFC 6418 4.1 (captive portals): until the user authenticates, the hotspot's resolver
// answers every name with the portal's address. Without mif, with the hotspot's resolver
// as the system resolver, www.example.com resolves to the portal. With mif, the portal's
// answers stay with the hotspot PvD — its own name reaches the portal through the
// hotspot — while the rest of the process resolves and connects through cellular, and no
// answer of the hotspot is ever used for (or cached into) another PvD.
#include "e2e_dns_common.h"

namespace {

using mif::e2e::Lab;
using mifdns::e2e::run;

TEST(CaptivePortal, PortalAnswersAreNotUsedForOtherPvds) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab(mifdns::e2e::privateTopology("captive"));
  ASSERT_TRUE(lab.ok()) << lab.error();
  mifdns::e2e::TempFile policy(
      "policy-captive", "[pvd.hotspot]\ninterface = \"" + lab.link("hotspot") + "\"\ndns = [\"" +
                            lab.dns4("hotspot") +
                            "\"]\ndomains = [\"hotspot.example\"]\n"
                            "[pvd.cell]\ninterface = \"" +
                            lab.link("cell") + "\"\ndns = [\"" + lab.dns4("cell") +
                            "\"]\n[default]\npvd = \"cell\"\n");
  auto without = run(lab, lab.dns4("hotspot"), "", {}, {"getent", "ahosts", "www.example.com"});
  ASSERT_EQ(without.status, 0) << without.describe();
  EXPECT_NE(without.out.find(lab.hostAddr4("portal")), std::string::npos) << without.out;
  lab.clearLogs();

  auto with =
      run(lab, lab.dns4("hotspot"), policy.path(), {},
          {"python3", "-c",
           "import socket, urllib.request\n"
           "print('portal', socket.gethostbyname('portal.hotspot.example'))\n"
           "print('www', socket.gethostbyname('www.example.com'))\n"
           "print(urllib.request.urlopen('http://www.example.com/', timeout=5).status)\n"
           "print(urllib.request.urlopen('http://portal.hotspot.example/', timeout=5).status)\n"});
  ASSERT_EQ(with.status, 0) << with.describe();
  EXPECT_NE(with.out.find("portal " + lab.hostAddr4("portal")), std::string::npos) << with.out;
  EXPECT_NE(with.out.find("www " + lab.hostAddr4("www")), std::string::npos) << with.out;
  auto www = lab.served("www"), portal = lab.served("portal");
  ASSERT_EQ(www.size(), 1u);
  ASSERT_EQ(portal.size(), 1u);
  EXPECT_EQ(lab.pvdOfAddress(www[0].client), "cell");
  EXPECT_EQ(lab.pvdOfAddress(portal[0].client), "hotspot");
  EXPECT_FALSE(lab.dnsSaw("hotspot", "www.example.com", std::chrono::milliseconds(0)));
}

}  // namespace
