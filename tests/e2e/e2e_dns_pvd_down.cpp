// RFC 6418 4.1 item 5: answers are valid only on the PvD that gave them. When the VPN goes
// down, a process that resolved a private name through it must not keep using the VPN's
// answer (nor assume the VPN's NXDOMAINs elsewhere): mif drops that PvD's cache and tags
// as soon as its view shows the PvD gone, and asks again through what is usable now.
// Without mif there is nothing to compare: the system resolver never reached the VPN's
// server in the first place (see e2e_dns_split_dns).
#include "e2e_dns_common.h"

namespace {

using mif::e2e::Lab;
using mifdns::e2e::run;

const char* kPolicy = R"([pvd.wifi]
interface = "wlan0"
[pvd.vpn]
interface = "tun0"
dns = ["10.8.0.53"]
domains = ["corp.example"]
[default]
pvd = "wifi"
)";

std::string script(const std::string& link) {
  return "import socket, subprocess, time\n"
         "def lookup():\n"
         "    try:\n"
         "        return sorted({a[4][0] for a in socket.getaddrinfo('wiki.corp.example', 80, "
         "type=socket.SOCK_STREAM)})\n"
         "    except socket.gaierror as e:\n"
         "        return 'gaierror %d' % e.errno\n"
         "print('before', lookup())\n"
         "print('cached', lookup())\n"
         "subprocess.run(['ip', 'link', 'set', '" +
         link +
         "', 'down'], check=True)\n"
         "time.sleep(0.3)\n"
         "print('after', lookup())\n";
}

TEST(PvdDown, CachedAnswersOfAPvdThatWentDownAreDropped) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab(mifdns::e2e::privateTopology("wifi-vpn"));
  ASSERT_TRUE(lab.ok()) << lab.error();
  mifdns::e2e::TempFile policy("policy-down", kPolicy);
  mifdns::e2e::TempFile trace("trace-down", "");
  auto r = run(lab, lab.dns4("wifi"), policy.path(), {"--trace=" + trace.path()},
               {"python3", "-c", script(lab.link("vpn"))});
  ASSERT_EQ(r.status, 0) << r.describe();
  const std::string wiki = lab.hostAddr4("wiki");
  auto line = [&](const std::string& tag) {
    size_t at = r.out.find(tag + " ");
    return at == std::string::npos ? std::string() : r.out.substr(at, r.out.find('\n', at) - at);
  };
  EXPECT_NE(line("before").find(wiki), std::string::npos) << r.out;
  EXPECT_NE(line("cached").find(wiki), std::string::npos) << r.out;
  // The VPN is gone: the name is asked of what is left (Wi-Fi, non-strict), which does not
  // know it; the VPN's cached address is not handed out.
  EXPECT_EQ(line("after").find(wiki), std::string::npos) << r.out;
  EXPECT_NE(line("after").find("gaierror"), std::string::npos) << r.out;
  EXPECT_TRUE(lab.dnsSaw("wifi", "wiki.corp.example"));
  // The lab's servers give TTL 0 (nothing to cache; the unit test
  // Resolver.APvdGoingDownDropsItsAnswersAndTags covers cached answers and tags): here the
  // trace shows the last resolution went to Wi-Fi, not to the VPN's leftovers.
  std::ifstream t(trace.path());
  std::string traced((std::istreambuf_iterator<char>(t)), std::istreambuf_iterator<char>());
  // The last PvD asked (an "attempt" line, docs/trace.md), and the call's own line after it.
  size_t last = traced.rfind("\"call\":\"getaddrinfo\",\"attempt\":true");
  ASSERT_NE(last, std::string::npos) << traced;
  EXPECT_NE(traced.find("\"pvd\":\"wifi\"", last), std::string::npos) << traced;
  EXPECT_NE(traced.find("\"pvds\":[\"wifi\"]", last), std::string::npos) << traced;
}

TEST(PvdDown, StrictPinFailsInsteadOfServingTheStaleAnswer) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab(mifdns::e2e::privateTopology("wifi-vpn"));
  ASSERT_TRUE(lab.ok()) << lab.error();
  mifdns::e2e::TempFile policy("policy-down-strict", kPolicy);
  auto r = run(lab, lab.dns4("wifi"), policy.path(), {"--pvd", "vpn", "--strict"},
               {"python3", "-c", script(lab.link("vpn"))});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_NE(r.out.find("after gaierror -3"), std::string::npos) << r.out;  // EAI_AGAIN
  EXPECT_TRUE(lab.dnsQueries("wifi").empty());
}

}  // namespace
