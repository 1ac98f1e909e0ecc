// A PvD behind a captive portal carries nothing but the portal's traffic (issue 29, the
// captive rule; RFC 6418 4.1 and 4.4): on the `oneway` lab, Wi-Fi's router announces a
// captive portal (RFC 8910, in its router advertisement; tests/e2e/programs/send_ra.py)
// whose URI names Wi-Fi's printer (10.1.0.10, reachable through Wi-Fi only) as the portal.
// `mif show` hears the advertisement and records it (nothing has found the portal open).
// A program under `mif run --pvd wifi --pvd cell` then connects to www (reachable through
// both PvDs) through cellular, Wi-Fi being captive, and to the portal through Wi-Fi.
// Without the rule, and without mif, www's connection goes through Wi-Fi, the first PvD
// and the node's default route, where a real hotspot would answer with its portal.
// `mif show` and `mif explain` say so: health "captive", and the order as tried.
#include <sys/stat.h>

#include <string>

#include "lab.h"

namespace {

using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::TempDir;
using namespace std::chrono_literals;

// Connects to each address given (port 80), one line each: "ADDRESS local SOURCE".
const char* kClient = R"PY(
import socket, sys
for host in sys.argv[1:]:
    s = socket.create_connection((host, 80), timeout=5)
    s.sendall(b'GET / HTTP/1.0\r\n\r\n')
    while s.recv(4096):
        pass
    print(host, 'local', s.getsockname()[0], flush=True)
)PY";

TEST(CaptivePvd, IsTriedLastForEveryDestinationButItsPortal) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("oneway");
  ASSERT_TRUE(lab.ok()) << lab.error();
  TempDir dir("e2e-captive");
  const std::string wifi = lab.link("wifi");
  const std::string policy =
      dir.write("policy.toml", "[pvd.wifi]\ninterface = \"" + wifi +
                                   "\"\n[pvd.cell]\ninterface = \"" + lab.link("cell") + "\"\n");
  const std::string www = lab.hostAddr4("www"), portal = lab.hostAddr4("printer");
  // `mif show` records what routers said under $MIF_RUN_DIR/ra, where every program under
  // mif reads it: a directory of the test's own, not the host's /run/mif.
  const std::string runDir = dir.path() + "/run";
  ASSERT_EQ(::mkdir(runDir.c_str(), 0755), 0) << runDir;
  const ExecOptions opts = ExecOptions()
                               .withEnv("XDG_CONFIG_HOME=" + dir.path())
                               .withEnv("MIF_RUN_DIR=" + runDir)
                               .within(20s);

  // Without mif and without the rule: www through Wi-Fi.
  CommandResult plain = lab.exec({"/usr/bin/python3", "-c", kClient, www}, opts);
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_EQ(plain.out, www + " local " + lab.addr4("wifi") + "\n");
  CommandResult before = lab.mifRun({"--policy", policy, "--pvd", "wifi", "--pvd", "cell"},
                                    {"/usr/bin/python3", "-c", kClient, www}, opts);
  ASSERT_TRUE(before.ok()) << before.describe();
  EXPECT_EQ(before.out, www + " local " + lab.addr4("wifi") + "\n") << "no portal announced yet";

  // Wi-Fi's router announces its portal while `mif show` listens (it solicits; the
  // router answers), once both ends' link-local addresses are usable.
  CommandResult r = lab.shell("sysctl -qw net.ipv6.conf." + wifi + ".accept_ra=1");
  ASSERT_TRUE(r.ok()) << r.describe();
  const std::string dadOver =
      "for i in $(seq 100); do ip -6 addr show dev DEV scope link tentative | grep -q . || "
      "exit 0; sleep 0.05; done; exit 1";
  auto on = [&](const std::string& dev) {
    std::string s = dadOver;
    return s.replace(s.find("DEV"), 3, dev);
  };
  ASSERT_TRUE(lab.shell(on(wifi)).ok()) << "node's link-local address still tentative";
  ASSERT_TRUE(lab.shell(on("node"), ExecOptions().in("router.wifi")).ok());
  const std::string uri = "http://" + portal + "/login";
  r = lab.shell("ip netns exec " + lab.ns("router.wifi") + " /usr/bin/python3 " +
                    mif::e2e::sendRaProgram() + " node --answer 5 captive=" + uri +
                    " & p=$!; sleep 0.2; " + mif::e2e::mifBinary() + " show --policy " + policy +
                    "; s=$?; kill $p; wait $p; exit $s",
                opts);
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_NE(r.out.find("    portal       " + uri), std::string::npos) << r.out;
  ASSERT_NE(r.out.find("    captive      yes\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    health       captive (usable for its portal only)\n"),
            std::string::npos)
      << r.out;

  // `mif explain` (another process) knows it from the record: the order a program starts
  // with, and each PvD's health for that destination.
  const auto explain = [&](const std::string& target) {
    return lab.exec(
        {mif::e2e::mifBinary(), "explain", "--policy", policy, "--pvd", "wifi,cell", target}, opts);
  };
  r = explain(www + ":80");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("  order      cell, wifi (as tried: a captive PvD last)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("health failed for this destination (captive: portal " + uri),
            std::string::npos)
      << r.out;
  r = explain(portal + ":80");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out.find("  order "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("health usable for its portal (captive: " + uri + ")"), std::string::npos)
      << r.out;

  // Under mif: www through cellular, the portal through Wi-Fi (its router is silent now:
  // the program uses what `mif show` recorded).
  lab.clearLogs();
  CommandResult with = lab.mifRun({"--policy", policy, "--pvd", "wifi", "--pvd", "cell"},
                                  {"/usr/bin/python3", "-c", kClient, www, portal}, opts);
  ASSERT_TRUE(with.ok()) << with.describe();
  EXPECT_EQ(with.out, www + " local " + lab.addr4("cell") + "\n" + portal + " local " +
                          lab.addr4("wifi") + "\n");
  auto served = lab.served("www");
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(lab.pvdOfAddress(served[0].client), "cell");
}

}  // namespace
