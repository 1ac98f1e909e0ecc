// What routers announce and the kernel does not keep (issue 31): the NAT64 prefix
// (PREF64, RFC 8781) and the captive portal (RFC 8910) of a PvD, with their lifetimes,
// as a user sees them in `mif show`; and a program strictly pinned to a PvD whose router
// left (router lifetime 0) stops sending. The test is the router: it sends the
// advertisements itself (tests/e2e/programs/send_ra.py, a raw ICMPv6 socket, hop limit
// 255, link-local source) from the router's side of the Wi-Fi link; accept_ra is turned on
// for the node's Wi-Fi link only, inside the lab's namespace.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "lab.h"

namespace {

using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::TempDir;
using namespace std::chrono_literals;

const std::string kSendRa = mif::e2e::sendRaProgram();

class RouterAdvertisements : public ::testing::Test {
 protected:
  // The lab: wifi-vpn (a test may add to it).
  virtual std::string topology() { return "wifi-vpn"; }

  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    // mif show and mif probe record what routers said under $MIF_RUN_DIR/ra, and every
    // program under mif reads it from there: a directory of the test's own, not the
    // host's /run/mif (the commands run in the lab inherit this environment).
    ASSERT_EQ(::mkdir(runDir().c_str(), 0755), 0) << runDir();
    ::setenv("MIF_RUN_DIR", runDir().c_str(), 1);
    lab_ = std::make_unique<Lab>(topology());
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    link_ = lab_->link("wifi");
    policy_ = dir_.write("policy.toml", "[pvd.wifi]\ninterface = \"" + link_ +
                                            "\"\n[pvd.vpn]\ninterface = \"" + lab_->link("vpn") +
                                            "\"\n");
    CommandResult r = lab_->shell("sysctl -qw net.ipv6.conf." + link_ + ".accept_ra=1");
    ASSERT_TRUE(r.ok()) << r.describe();
    // An advertisement leaves from the router's link-local address and is taken only once
    // duplicate address detection is over on both ends (a second or two after the lab
    // came up).
    const std::string dadOver =
        "for i in $(seq 100); do ip -6 addr show dev %s scope link tentative | grep -q . || "
        "exit 0; sleep 0.05; done; exit 1";
    auto on = [&](const std::string& dev) {
      std::string s = dadOver;
      return s.replace(s.find("%s"), 2, dev);
    };
    r = lab_->shell(on(link_));
    ASSERT_TRUE(r.ok()) << "node's link-local address still tentative";
    r = lab_->shell(on("node"), ExecOptions().in("router.wifi"));
    ASSERT_TRUE(r.ok()) << "router's link-local address still tentative";
  }

  // What mif show recorded (mif/view/ra_state.h) goes with the test's directory.
  void TearDown() override { ::unsetenv("MIF_RUN_DIR"); }

  std::string runDir() const { return dir_.path() + "/run"; }
  // The lab's state file, for a shell in the node's namespace.
  std::string stateFile() const {
    return runDir() + "/ra/net-$(stat -Lc %i /proc/self/ns/net)";
  }

  // Sends one advertisement from Wi-Fi's router (ARGS: send_ra.py's).
  CommandResult advertise(const std::string& args) const {
    return lab_->shell("/usr/bin/python3 " + kSendRa + " node " + args,
                       ExecOptions().in("router.wifi"));
  }

  // `mif show ARGS` in the node while Wi-Fi's router answers solicitations with RA's
  // advertisement, as a router does (the first one goes out unasked, before show runs).
  CommandResult showWhileAdvertising(const std::string& showArgs, const std::string& ra) const {
    // show starts once the router answers (a loaded host may take longer than any fixed
    // sleep to start python).
    const std::string ready = dir_.path() + "/ra-ready";
    std::string script = "rm -f " + ready + "; ip netns exec " + lab_->ns("router.wifi") +
                         " /usr/bin/python3 " + kSendRa + " node --ready " + ready +
                         " --answer 5 " + ra + " & p=$!; for i in $(seq 200); do [ -e " + ready +
                         " ] && break; sleep 0.05; done; " +
                         mif::e2e::mifBinary() + " show --policy " + policy_ + " " + showArgs +
                         "; s=$?; kill $p; wait $p; exit $s";
    return lab_->shell(script, ExecOptions().withEnv("XDG_CONFIG_HOME=" + dir_.path()));
  }

  TempDir dir_{"e2e-ra"};
  std::unique_ptr<Lab> lab_;
  std::string link_, policy_;
};

TEST_F(RouterAdvertisements, ShowListsPref64AndCaptivePortalUntilTheRouterLeaves) {
  const std::string ra = "pref64=1800,2001:db8:64::/96 captive=https://portal.example/api";
  CommandResult show = showWhileAdvertising("--json", ra);
  ASSERT_TRUE(show.ok()) << show.describe();
  // The Wi-Fi PvD (first of the policy) has them; the VPN has none.
  size_t wifi = show.out.find("\"name\":\"wifi\""), vpn = show.out.find("\"name\":\"vpn\"");
  ASSERT_NE(wifi, std::string::npos) << show.out;
  ASSERT_NE(vpn, std::string::npos) << show.out;
  size_t pref = show.out.find("\"pref64\":[{\"prefix\":\"2001:db8:64::/96\",\"router\":\"fe80::");
  EXPECT_NE(pref, std::string::npos) << show.out;
  EXPECT_TRUE(pref > wifi && pref < vpn) << show.out;
  size_t portal =
      show.out.find("\"captive_portal\":[{\"uri\":\"https://portal.example/api\",\"router\":\"fe80::");
  EXPECT_NE(portal, std::string::npos) << show.out;
  EXPECT_TRUE(portal > wifi && portal < vpn) << show.out;
  EXPECT_NE(show.out.find("\"pref64\":[],\"captive_portal\":[]", vpn), std::string::npos)
      << show.out;

  show = showWhileAdvertising("", ra);
  ASSERT_TRUE(show.ok()) << show.describe();
  EXPECT_NE(show.out.find("    nat64        2001:db8:64::/96 router fe80::"), std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("    portal       https://portal.example/api router fe80::"),
            std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("    captive      yes\n"), std::string::npos) << show.out;

  // Malformed options beside it change nothing (the kernel hands them over as they came):
  // a PREF64 of length 3, a PREF64 with prefix length code 7, a portal URI with text after
  // its padding.
  show = showWhileAdvertising(
      "", ra + " raw=2603025820010db80bad0000000000000000000000000000"
               " raw=2602025f20010db80bad000100000000"
               " raw=2502687474703a2f2f78004100000000");
  ASSERT_TRUE(show.ok()) << show.describe();
  EXPECT_NE(show.out.find("    nat64        2001:db8:64::/96 router fe80::"), std::string::npos)
      << show.out;
  EXPECT_EQ(show.out.find("2001:db8:bad"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("http://x"), std::string::npos) << show.out;

  // Router lifetime 0: the router leaves, and with it what it announced, whatever the
  // options' own lifetimes say.
  CommandResult r = advertise("--router-lifetime 0 " + ra);
  ASSERT_TRUE(r.ok()) << r.describe();
  show = showWhileAdvertising("", "--router-lifetime 0 " + ra);
  ASSERT_TRUE(show.ok()) << show.describe();
  EXPECT_EQ(show.out.find("nat64"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("portal "), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("captive "), std::string::npos) << show.out;
}

// RFC 8910 announces the portal's API (RFC 8908); `mif show` marks the PvD captive until
// `mif probe` finds the portal open, through that PvD, and records it where `mif show`
// (and any later program) finds it. The test's portal API (capport_api.py, on Wi-Fi's
// router) says "captive": true until the test opens it.
TEST_F(RouterAdvertisements, MifProbeClearsTheCaptiveMarkOnceThePortalIsOpen) {
  const std::string gw = lab_->fact("pvd.wifi.gateway4"), flag = dir_.path() + "/open",
                    uri = "http://" + gw + ":8080/capport-api";
  const std::string mif = mif::e2e::mifBinary(), pol = " --policy " + policy_;
  const std::string script =
      "ip netns exec " + lab_->ns("router.wifi") + " /usr/bin/python3 " + MIF_SOURCE_DIR +
      "/tests/e2e/programs/capport_api.py " + gw + " 8080 " + flag + " & api=$!; for i in $(seq 100); do ip netns exec " +
      lab_->ns("router.wifi") + " ss -ltn | grep -q :8080 && break; sleep 0.05; done; " +
      "ip netns exec " + lab_->ns("router.wifi") + " /usr/bin/python3 " + kSendRa +
      " node --ready " + dir_.path() + "/ra-ready --answer 15 captive=" + uri +
      " & ra=$!; for i in $(seq 200); do [ -e " + dir_.path() + "/ra-ready ] && break; "
      "sleep 0.05; done; " +
      "echo '== show'; " + mif + " show" + pol + "; " +
      "echo '== probe'; " + mif + " probe" + pol + " --pvd wifi --count 1 --timeout 300; " +
      "echo '== show'; " + mif + " show" + pol + "; touch " + flag + "; " +
      "echo '== probe'; " + mif + " probe" + pol + " --pvd wifi --count 1 --timeout 300; " +
      "echo '== show'; " + mif + " show" + pol + "; " +
      "echo '== json'; " + mif + " show --json" + pol +
      "; kill $api $ra; wait $api $ra; exit 0";
  CommandResult r = lab_->shell(script, ExecOptions()
                                            .withEnv("XDG_CONFIG_HOME=" + dir_.path())
                                            .within(20s));
  ASSERT_TRUE(r.ok()) << r.describe();
  std::vector<std::string> part;
  for (size_t at = 0; (at = r.out.find("== ", at)) != std::string::npos; ++at)
    part.push_back(r.out.substr(at, r.out.find("== ", at + 1) - at));
  ASSERT_EQ(part.size(), 6u) << r.describe();
  // Announced: captive.
  EXPECT_NE(part[0].find("    portal       " + uri + " router fe80::"), std::string::npos)
      << part[0];
  EXPECT_NE(part[0].find("state captive"), std::string::npos) << part[0];
  EXPECT_NE(part[0].find("    captive      yes\n"), std::string::npos) << part[0];
  // The portal's API still says captive: so does mif.
  EXPECT_NE(part[1].find("portal of wifi: " + uri + " captive (its API says so)"),
            std::string::npos)
      << part[1];
  EXPECT_NE(part[2].find("    captive      yes\n"), std::string::npos) << part[2];
  // Opened: mif probe clears it, and mif show no longer says captive, while the router
  // goes on announcing the same portal.
  EXPECT_NE(part[3].find("portal of wifi: " + uri + " open (its API says so)"),
            std::string::npos)
      << part[3];
  EXPECT_NE(part[4].find("    captive      no\n"), std::string::npos) << part[4];
  EXPECT_EQ(part[4].find("captive      yes"), std::string::npos) << part[4];
  EXPECT_NE(part[4].find("state open checked "), std::string::npos) << part[4];
  EXPECT_NE(part[5].find("\"captive_portal\":[{\"uri\":\"" + uri +
                         "\",\"router\":\"fe80::"),
            std::string::npos)
      << part[5];
  EXPECT_NE(part[5].find("\"state\":\"open\""), std::string::npos) << part[5];
  EXPECT_NE(part[5].find("\"captive\":false"), std::string::npos) << part[5];
}

// A program strictly pinned to Wi-Fi reaches a server over IPv6 through the router that
// announced itself; once that router leaves, its next connect fails with ENETUNREACH at
// once (the PvD is not usable for IPv6 any more): nothing is sent to guess a path.
TEST_F(RouterAdvertisements, AStrictProgramStopsSendingWhenItsRouterLeaves) {
  // IPv6 beyond the link only through the advertised router: the lab's static default
  // route is removed (in the lab's namespace).
  CommandResult r = lab_->shell("ip -6 route del default dev " + link_);
  ASSERT_TRUE(r.ok()) << r.describe();
  r = advertise("");
  ASSERT_TRUE(r.ok()) << r.describe();
  r = lab_->shell("for i in $(seq 50); do ip -6 route show default dev " + link_ +
                  " proto ra | grep -q . && exit 0; sleep 0.05; done; exit 1");
  ASSERT_TRUE(r.ok()) << "the advertised default route did not appear";

  const std::string www6 = lab_->hostAddr6("www"), go = dir_.path() + "/go";
  const std::string prog =
      "import errno, os, socket, sys, time\n"
      "def attempt():\n"
      "    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n"
      "    s.settimeout(3)\n"
      "    try:\n"
      "        s.connect(('" + www6 + "', 80)); return 'connected'\n"
      "    except OSError as e:\n"
      "        return errno.errorcode.get(e.errno, str(e))\n"
      "    finally:\n"
      "        s.close()\n"
      "print('before', attempt(), flush=True)\n"
      "for i in range(100):\n"
      "    if os.path.exists('" + go + "'): break\n"
      "    time.sleep(0.05)\n"
      "print('after', attempt(), flush=True)\n";
  const std::string script =
      mif::e2e::mifBinary() + " run --policy " + policy_ +
      " --pvd wifi --strict -- /usr/bin/python3 -c \"$PROG\" > " + dir_.path() +
      "/out & p=$!; for i in $(seq 100); do grep -q before " + dir_.path() +
      "/out 2>/dev/null && break; sleep 0.05; done; ip netns exec " + lab_->ns("router.wifi") +
      " /usr/bin/python3 " + kSendRa + " node --router-lifetime 0; " +
      "for i in $(seq 50); do ip -6 route show default dev " + link_ +
      " | grep -q . || break; sleep 0.05; done; touch " + go + "; wait $p; s=$?; cat " +
      dir_.path() + "/out; exit $s";
  r = lab_->shell(script, ExecOptions()
                              .withEnv("PROG=" + prog)
                              .withEnv("XDG_CONFIG_HOME=" + dir_.path())
                              .within(20s));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("before connected"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("after ENETUNREACH"), std::string::npos) << r.describe();
}

// PREF64 (RFC 8781) on an IPv6-only PvD whose DNS server does no DNS64: a program under
// mif that heard the advertisement gets, for a name with only an IPv4 address, AAAA answers
// synthesized in the announced prefix (RFC 6052 embedding), tagged with the PvD; without
// mif, or before the advertisement, the name has no IPv6 address at all.
class Nat64Prefix : public RouterAdvertisements {
 protected:
  // wifi-vpn with a host that has only an IPv4 address, which Wi-Fi's resolver knows.
  std::string topology() override {
    std::string path = mif::e2e::renamedTopology("wifi-vpn", "ra-nat64");
    std::ofstream(path, std::ios::app)
        << "\n[[host]]\nname = \"legacy\"\nbehind = \"internet\"\naddrs = [\"203.0.113.90\"]\n"
           "\n[[pvd.wifi.dns.record]]\nname = \"legacy.example.com\"\nhost = \"legacy\"\n";
    return path;
  }
};

TEST_F(Nat64Prefix, AnIpv4OnlyNameGetsAaaaInTheAnnouncedPrefix) {
  // Wi-Fi becomes IPv6-only (in the lab's namespace): its IPv4 address goes.
  CommandResult r = lab_->shell("ip -4 addr flush dev " + link_);
  ASSERT_TRUE(r.ok()) << r.describe();
  const std::string policy = dir_.write(
      "v6only.toml", "[pvd.wifi]\ninterface = \"" + link_ + "\"\ndns = [\"" +
                         lab_->fact("pvd.wifi.gateway6") + "\"]\n");
  // Without mif: a resolver that asks Wi-Fi's server (which does no DNS64) gets only the
  // IPv4 address, which this IPv6-only host cannot reach. (The test's shell has a mount
  // namespace of its own; the lab's node has no resolver of its own, and glibc would spend
  // 10 s on the host's unreachable one.)
  const std::string conf =
      dir_.write("resolv.conf", "nameserver " + lab_->fact("pvd.wifi.gateway6") + "\n");
  // An IPv6-only lookup (AF_INET6) finds nothing at all.
  const std::string v6only =
      "import socket\n"
      "try:\n"
      "    for ai in socket.getaddrinfo('legacy.example.com', 80, socket.AF_INET6,\n"
      "                                 socket.SOCK_STREAM):\n"
      "        print('v6only', ai[4][0], flush=True)\n"
      "except socket.gaierror as e:\n"
      "    print('v6only none', e.errno)\n";
  r = lab_->shell("mount --bind " + conf +
                      " /etc/resolv.conf && getent ahosts legacy.example.com && "
                      "/usr/bin/python3 -c \"$V6\"",
                  ExecOptions().withEnv("V6=" + v6only));
  EXPECT_NE(r.out.find("203.0.113.90"), std::string::npos) << r.describe();
  EXPECT_EQ(r.out.find(':'), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("v6only none"), std::string::npos) << r.describe();

  const std::string out = dir_.path() + "/out", go = dir_.path() + "/go",
                    trace = dir_.path() + "/trace.jsonl";
  // The program's first network call starts mif's view, which then hears the
  // advertisement; it resolves once the test has sent it.
  const std::string prog =
      "import os, socket, time\n"
      "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
      "s.connect(('" + lab_->fact("pvd.wifi.gateway6") + "', 9)); s.close()\n"
      "print('ready', time.monotonic(), flush=True)\n"
      "for i in range(100):\n"
      "    if os.path.exists('" + go + "'): break\n"
      "    time.sleep(0.05)\n"
      "for ai in socket.getaddrinfo('legacy.example.com', 80, type=socket.SOCK_STREAM):\n"
      "    print('addr', ai[4][0], flush=True)\n"
      "for ai in socket.getaddrinfo('legacy.example.com', 80, socket.AF_INET6,\n"
      "                             socket.SOCK_STREAM):\n"
      "    print('v6only', ai[4][0], flush=True)\n"
      "print('t', time.monotonic(), flush=True)\n";
  const std::string script =
      mif::e2e::mifBinary() + " run --policy " + policy + " --trace=" + trace +
      " --pvd wifi -- /usr/bin/python3 -c \"$PROG\" > " + out +
      " & p=$!; for i in $(seq 100); do grep -q ready " + out +
      " 2>/dev/null && break; sleep 0.05; done; ip netns exec " + lab_->ns("router.wifi") +
      " /usr/bin/python3 " + kSendRa + " node pref64=600,2001:db8:64::/96; " +
      "for i in $(seq 50); do ip -6 route show default proto ra dev " + link_ +
      " | grep -q . && break; sleep 0.05; done; touch " + go + "; wait $p; s=$?; cat " + out +
      "; exit $s";
  r = lab_->shell(script, ExecOptions()
                              .withEnv("PROG=" + prog)
                              .withEnv("XDG_CONFIG_HOME=" + dir_.path())
                              .within(20s));
  ASSERT_TRUE(r.ok()) << r.describe();
  // 203.0.113.90 = cb00:715a, after the /96.
  EXPECT_NE(r.out.find("addr 2001:db8:64::cb00:715a\n"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("addr 203.0.113.90\n"), std::string::npos) << r.describe();
  // Asked for IPv6 only (AF_INET6): the synthesized address, and nothing else.
  EXPECT_NE(r.out.find("v6only 2001:db8:64::cb00:715a\n"), std::string::npos) << r.describe();
  EXPECT_EQ(r.out.find("v6only 203.0.113.90"), std::string::npos) << r.describe();
  EXPECT_EQ(r.out.find("v6only ::ffff:"), std::string::npos) << r.describe();
  std::ifstream t(trace);
  std::stringstream lines;
  lines << t.rdbuf();
  EXPECT_NE(lines.str().find("AAAA synthesized from its PREF64"), std::string::npos)
      << lines.str();
}

// The kernel keeps nothing of an advertisement: a program started after it, under mif,
// knows no NAT64 prefix until the router speaks again (often minutes). `mif show` heard the
// routers (it solicits them) and recorded what they said under /run/mif; a program started
// afterwards, with no advertisement since, synthesizes from the recorded prefix, and a
// later `mif show` prints each fact with its age.
TEST_F(Nat64Prefix, AProgramStartedAfterTheAdvertisementUsesWhatMifShowRecorded) {
  CommandResult r = lab_->shell("ip -4 addr flush dev " + link_);
  ASSERT_TRUE(r.ok()) << r.describe();
  const std::string policy = dir_.write(
      "v6only.toml", "[pvd.wifi]\ninterface = \"" + link_ + "\"\ndns = [\"" +
                         lab_->fact("pvd.wifi.gateway6") + "\"]\n");
  const std::string ra = "pref64=600,2001:db8:64::/96 captive=http://192.0.2.1/api";
  r = advertise(ra);  // nobody under mif is listening
  ASSERT_TRUE(r.ok()) << r.describe();
  r = lab_->shell("for i in $(seq 50); do ip -6 route show default proto ra dev " + link_ +
                  " | grep -q . && exit 0; sleep 0.05; done; exit 1");
  ASSERT_TRUE(r.ok()) << "the advertised default route did not appear";
  const std::string prog =
      "import socket\n"
      "for ai in socket.getaddrinfo('legacy.example.com', 80, type=socket.SOCK_STREAM):\n"
      "    print('addr', ai[4][0])\n";
  auto run = [&] {
    return lab_->shell(mif::e2e::mifBinary() + " run --policy " + policy +
                           " --pvd wifi -- /usr/bin/python3 -c \"$PROG\"",
                       ExecOptions()
                           .withEnv("PROG=" + prog)
                           .withEnv("XDG_CONFIG_HOME=" + dir_.path())
                           .within(10s));
  };
  // The lab has no translator: beyond the router, the IPv4-only server is given the address
  // a NAT64 with that prefix presents it under (203.0.113.90 in 2001:db8:64::/96).
  r = lab_->shell("ip -6 addr add 2001:db8:64::cb00:715a/128 dev lo nodad",
                  ExecOptions().in("internet"));
  ASSERT_TRUE(r.ok()) << r.describe();
  auto curl = [&] {
    return lab_->shell(mif::e2e::mifBinary() + " run --policy " + policy +
                           " --pvd wifi --strict -- curl -s -m 5 -o /dev/null -w '%{remote_ip} "
                           "%{http_code}\\n' http://legacy.example.com/; echo \"exit $?\"",
                       ExecOptions().withEnv("XDG_CONFIG_HOME=" + dir_.path()).within(10s));
  };
  r = run();  // started after the advertisement: no prefix known
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("addr 203.0.113.90\n"), std::string::npos) << r.describe();
  EXPECT_EQ(r.out.find("2001:db8:64::"), std::string::npos) << r.describe();
  r = curl();  // IPv4 only, strictly through an IPv6-only PvD: curl cannot connect
  EXPECT_NE(r.out.find("exit 7"), std::string::npos) << r.describe();

  policy_ = policy;
  CommandResult show = showWhileAdvertising("", ra);  // heard, and recorded
  ASSERT_TRUE(show.ok()) << show.describe();
  EXPECT_NE(show.out.find("    nat64        2001:db8:64::/96 router fe80::"), std::string::npos)
      << show.out;
  r = lab_->shell("head -1 " + stateFile() + "; grep -c '^pref64 ' " + stateFile());
  EXPECT_EQ(r.out, "mif-ra-state 1\n1\n") << r.describe();

  r = run();  // the router is silent now
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("addr 2001:db8:64::cb00:715a\n"), std::string::npos) << r.describe();
  // curl, started now, connects (strictly through Wi-Fi) to the server's address in the
  // prefix.
  r = curl();
  EXPECT_EQ(r.out, "2001:db8:64::cb00:715a 200\nexit 0\n") << r.describe();

  show = lab_->shell(mif::e2e::mifBinary() + " show --policy " + policy,
                     ExecOptions().withEnv("XDG_CONFIG_HOME=" + dir_.path()));
  ASSERT_TRUE(show.ok()) << show.describe();
  std::smatch m;
  const std::string out = show.out;
  EXPECT_TRUE(std::regex_search(
      out, m, std::regex("    nat64        2001:db8:64::/96 router fe80::[0-9a-f:]+ "
                         "lifetime [0-9]+s age [0-9]+s\n")))
      << out;
  EXPECT_TRUE(std::regex_search(
      out, m, std::regex("    portal       http://192.0.2.1/api router fe80::[0-9a-f:]+ "
                         "age [0-9]+s state captive\n")))
      << out;
  EXPECT_NE(out.find("    captive      yes\n"), std::string::npos) << out;

  // Lifetime 0 for the prefix, and the URN that says there is no portal: gone from the
  // `mif show` that hears it, from the record, and from the next program.
  show = showWhileAdvertising("", "pref64=0,2001:db8:64::/96 "
                                  "captive=urn:ietf:params:capport:unrestricted");
  ASSERT_TRUE(show.ok()) << show.describe();
  EXPECT_EQ(show.out.find("nat64"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("portal "), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("captive "), std::string::npos) << show.out;
  r = run();
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out.find("2001:db8:64::"), std::string::npos) << r.describe();
}

}  // namespace
