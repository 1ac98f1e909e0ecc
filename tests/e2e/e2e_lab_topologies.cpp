// The built-in lab topologies behave as RFC 6418 describes, with no mif involved: plain
// programs (curl, dig, socat, python3) in the node namespace, bound by hand where a test
// needs a particular interface or source address.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "lab.h"

using namespace std::chrono_literals;
using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;

namespace {

// A datagram to the echo service, sent out IFACE from SOURCE; true if answered. The sender
// repeats the datagram every 0.5 s for up to 3 s and stops at the first answer: on a loaded
// machine the first datagrams after bring-up can wait for neighbour discovery on each of
// the four hops, and a sender that gave up after its first wait made this test flaky.
bool udpEcho(const Lab& lab, const std::string& iface, const std::string& source,
             const std::string& dst) {
  static const char* kSender =
      "import socket, sys\n"
      "iface, src, dst = sys.argv[1:4]\n"
      "fam = socket.AF_INET6 if ':' in dst else socket.AF_INET\n"
      "s = socket.socket(fam, socket.SOCK_DGRAM)\n"
      "s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())\n"
      "s.bind((src, 0))\n"
      "s.settimeout(0.5)\n"
      "for _ in range(6):\n"
      "    s.sendto(b'ping\\n', (dst, 7))\n"
      "    try:\n"
      "        print(s.recv(4096).decode(errors='replace'))\n"
      "        break\n"
      "    except socket.timeout:\n"
      "        pass\n";
  auto r = lab.exec({"python3", "-c", kSender, iface, source, dst}, ExecOptions().within(8s));
  return r.out.find("host=") != std::string::npos;
}

CommandResult curl(const Lab& lab, const std::string& url, const std::string& iface = "") {
  std::vector<std::string> argv{"curl", "-s", "-g", "-m", "3"};
  if (!iface.empty()) argv.insert(argv.end(), {"--interface", iface});
  argv.push_back(url);
  return lab.exec(argv, ExecOptions().within(6s));
}

std::string url(const std::string& address) {
  return address.find(':') != std::string::npos ? "http://[" + address + "]/"
                                                : "http://" + address + "/";
}

// dig's answer section, one record per line ("" on NXDOMAIN or no answer).
std::string dig(const Lab& lab, const std::string& server, const std::string& type,
                const std::string& name) {
  auto r = lab.exec({"dig", "+short", "+time=2", "+tries=2", "@" + server, type, name},
                    ExecOptions().within(10s));
  // dig prints a retried timeout as a ";;" comment line even with +short.
  std::string answer;
  size_t i = 0;
  while (i < r.out.size()) {
    size_t j = r.out.find('\n', i);
    if (j == std::string::npos) j = r.out.size();
    if (r.out.compare(i, 2, ";;") != 0) answer += r.out.substr(i, j - i) + "\n";
    i = j + 1;
  }
  return answer;
}

std::string digStatus(const Lab& lab, const std::string& server, const std::string& name) {
  auto r = lab.exec({"dig", "+time=2", "+tries=2", "@" + server, name}, ExecOptions().within(10s));
  auto pos = r.out.find("status: ");
  return pos == std::string::npos ? "" : r.out.substr(pos + 8, r.out.find(',', pos) - pos - 8);
}

}  // namespace

// RFC 6418 4.2 / BCP 38: a packet leaving through one PvD with another PvD's source address
// is dropped by that PvD's router, for IPv4 (rp_filter) and IPv6 (source rules); the same
// packet with the right source is answered.
TEST(LabWifiVpn, WrongPvdSourceIsDropped) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("wifi-vpn");
  ASSERT_TRUE(lab.ok()) << lab.error();
  auto arrived = lab.capture("node", "udp port 7", "router.vpn");
  ASSERT_TRUE(arrived.running()) << arrived.error();

  EXPECT_TRUE(udpEcho(lab, lab.link("vpn"), lab.addr4("vpn"), lab.hostAddr4("wiki")));
  EXPECT_TRUE(udpEcho(lab, lab.link("vpn"), lab.addr6("vpn"), lab.hostAddr6("wiki")));
  EXPECT_FALSE(udpEcho(lab, lab.link("vpn"), lab.addr4("wifi"), lab.hostAddr4("wiki")));
  EXPECT_FALSE(udpEcho(lab, lab.link("vpn"), lab.addr6("wifi"), lab.hostAddr6("wiki")));

  // The wrong-source packets did reach the router: they were dropped there, not lost.
  EXPECT_GE(arrived.count(lab.addr4("wifi") + "."), 1u);
  EXPECT_GE(arrived.count(lab.addr6("wifi") + "."), 1u);
  for (const auto& s : lab.served("wiki")) {
    EXPECT_NE(s.client, lab.addr4("wifi"));
    EXPECT_NE(s.client, lab.addr6("wifi"));
  }
  EXPECT_GE(lab.served("wiki").size(), 2u);  // the IPv4 and the IPv6 datagram
}

// RFC 6418 4.1 items 1-3: the private name resolves only at the VPN's server; Wi-Fi's
// answers NXDOMAIN for it (item 2) or a public decoy (item 3). Each server logs its queries.
TEST(LabWifiVpn, PrivateNameResolvesOnlyAtItsOwnServer) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("wifi-vpn");
  ASSERT_TRUE(lab.ok()) << lab.error();
  const std::string vpn = lab.dns4("vpn"), wifi = lab.dns4("wifi");

  EXPECT_EQ(dig(lab, vpn, "A", "wiki.corp.example"), lab.hostAddr4("wiki") + "\n");
  EXPECT_EQ(dig(lab, lab.dns6("vpn"), "AAAA", "wiki.corp.example"), lab.hostAddr6("wiki") + "\n");
  EXPECT_EQ(digStatus(lab, wifi, "wiki.corp.example"), "NXDOMAIN");
  EXPECT_TRUE(lab.dnsSaw("vpn", "wiki.corp.example"));
  EXPECT_TRUE(lab.dnsSaw("wifi", "wiki.corp.example"));

  EXPECT_EQ(dig(lab, vpn, "A", "mail.corp.example"), lab.hostAddr4("mail") + "\n");
  EXPECT_EQ(dig(lab, wifi, "A", "mail.corp.example"), lab.hostAddr4("decoy") + "\n");
  // Reverse lookups are private too (item 2).
  EXPECT_EQ(dig(lab, vpn, "PTR", "10.0.8.10.in-addr.arpa"), "wiki.corp.example.\n");
  EXPECT_EQ(digStatus(lab, wifi, "10.0.8.10.in-addr.arpa"), "NXDOMAIN");
  // CNAMEs, and names nobody knows.
  EXPECT_NE(dig(lab, vpn, "A", "intranet.corp.example").find("wiki.corp.example."),
            std::string::npos);
  EXPECT_EQ(digStatus(lab, vpn, "nothing.corp.example"), "NXDOMAIN");

  // The query log says which of the node's addresses asked.
  auto queries = lab.dnsQueries("vpn");
  ASSERT_FALSE(queries.empty());
  EXPECT_EQ(queries.front().type, "A");
  EXPECT_EQ(queries.front().name, "wiki.corp.example");
  EXPECT_EQ(lab.pvdOfAddress(queries.front().from), "vpn");

  // The VPN's server lives behind the tunnel: not reachable through Wi-Fi (item 1).
  auto r = lab.exec({"dig", "+time=1", "+tries=1", "-b", lab.addr4("wifi"), "@" + vpn,
                     "wiki.corp.example"},
                    ExecOptions().within(5s));
  EXPECT_EQ(r.out.find("status: NOERROR"), std::string::npos) << r.out;
}

// No NAT between the PvDs and the shared internet: a server there sees which PvD a client
// came through.
TEST(LabWifiVpn, InternetServerSeesWhichPvd) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("wifi-vpn");
  ASSERT_TRUE(lab.ok()) << lab.error();
  for (const std::string pvd : {"wifi", "vpn"}) {
    for (const auto& dst : {lab.hostAddr4("www"), lab.hostAddr6("www")}) {
      lab.clearLogs();
      auto r = curl(lab, url(dst), lab.link(pvd));
      ASSERT_TRUE(r.ok()) << pvd << " " << dst << ": " << r.describe();
      auto seen = lab.served("www");
      ASSERT_EQ(seen.size(), 1u);
      EXPECT_EQ(seen[0].proto, "http");
      EXPECT_EQ(lab.pvdOfAddress(seen[0].client), pvd) << seen[0].client;
      EXPECT_NE(r.out.find("host=www client=" + seen[0].client), std::string::npos) << r.out;
    }
  }
}

// RFC 6418 4.1 item 4: 10.0.0.10 is the NAS through home and the app server through the
// office; the kernel alone (10.0.0.0/8 via the office) always picks the office.
TEST(LabOverlap, SameAddressIsADifferentHostThroughEachPvd) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("overlap");
  ASSERT_TRUE(lab.ok()) << lab.error();
  ASSERT_EQ(lab.hostAddr4("nas"), lab.hostAddr4("app"));
  const std::string dst = url(lab.hostAddr4("nas"));
  EXPECT_NE(curl(lab, dst, lab.link("home")).out.find("host=nas"), std::string::npos);
  EXPECT_NE(curl(lab, dst, lab.link("office")).out.find("host=app"), std::string::npos);
  EXPECT_NE(curl(lab, dst).out.find("host=app"), std::string::npos);
  EXPECT_EQ(dig(lab, lab.dns4("home"), "A", "nas.home.arpa"), lab.hostAddr4("nas") + "\n");
  EXPECT_EQ(dig(lab, lab.dns4("office"), "A", "app.corp.example"), lab.hostAddr4("app") + "\n");
}

// RFC 6418 4.2 items 1 and 3: the cellular-only destination fails over the preferred
// default route, and the 10.0.0.0/8 route pushed by Wi-Fi takes 10.20.0.10 the wrong way;
// both work when the socket is bound to the cellular interface.
TEST(LabOneway, DestinationOnlyThroughOnePvd) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("oneway");
  ASSERT_TRUE(lab.ok()) << lab.error();
  for (const auto& host : {"cellsvc", "mms"}) {
    const std::string dst = url(lab.hostAddr4(host));
    EXPECT_FALSE(curl(lab, dst).ok()) << host;
    auto r = curl(lab, dst, lab.link("cell"));
    EXPECT_NE(r.out.find(std::string("host=") + host), std::string::npos) << r.describe();
  }
  auto r = lab.exec({"ip", "route", "get", lab.hostAddr4("mms")});
  EXPECT_NE(r.out.find("dev " + lab.link("wifi")), std::string::npos) << r.out;
  EXPECT_NE(curl(lab, url(lab.hostAddr4("printer"))).out.find("host=printer"), std::string::npos);
}

// RFC 6418 4.1 (captive portal) and 4.4 item 1: every name is the portal until the user
// authenticates, and nothing is forwarded; afterwards names resolve and traffic flows.
TEST(LabCaptive, PortalFlips) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("captive");
  ASSERT_TRUE(lab.ok()) << lab.error();
  const std::string dns = lab.dns4("hotspot");
  const std::string portal4 = lab.hostAddr4("portal") + "\n";
  EXPECT_EQ(dig(lab, dns, "A", "www.example.com"), portal4);
  EXPECT_EQ(dig(lab, dns, "A", "anything.example.org"), portal4);
  EXPECT_EQ(dig(lab, lab.dns6("hotspot"), "AAAA", "www.example.com"),
            lab.hostAddr6("portal") + "\n");
  EXPECT_NE(curl(lab, url(lab.hostAddr4("portal"))).out.find("host=portal"), std::string::npos);
  EXPECT_FALSE(curl(lab, url(lab.hostAddr4("www")), lab.link("hotspot")).ok());
  EXPECT_FALSE(curl(lab, url(lab.hostAddr6("www")), lab.link("hotspot")).ok());
  // The cellular PvD is not captive.
  EXPECT_EQ(dig(lab, lab.dns4("cell"), "A", "www.example.com"), lab.hostAddr4("www") + "\n");
  EXPECT_TRUE(curl(lab, url(lab.hostAddr4("www")), lab.link("cell")).ok());

  ASSERT_TRUE(lab.setPortalAuthenticated("hotspot", true));
  EXPECT_EQ(dig(lab, dns, "A", "www.example.com"), lab.hostAddr4("www") + "\n");
  EXPECT_EQ(digStatus(lab, dns, "anything.example.org"), "NXDOMAIN");
  EXPECT_TRUE(curl(lab, url(lab.hostAddr4("www")), lab.link("hotspot")).ok());
  EXPECT_TRUE(curl(lab, url(lab.hostAddr6("www")), lab.link("hotspot")).ok());

  ASSERT_TRUE(lab.setPortalAuthenticated("hotspot", false));
  EXPECT_EQ(dig(lab, dns, "A", "www.example.com"), portal4);
}

// RFC 6418 4.5: one interface, two routers, two prefixes. IPv6 leaves through the router
// of its source (source-specific routes); an IPv4 packet from b's address follows the only
// default route to router a, which drops it.
TEST(LabOnelink, TwoRoutersOnOneInterface) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("onelink");
  ASSERT_TRUE(lab.ok()) << lab.error();
  ASSERT_EQ(lab.link("a"), lab.link("b"));
  auto r = curl(lab, url(lab.hostAddr6("bsvc")), lab.addr6("b"));
  EXPECT_NE(r.out.find("client=" + lab.addr6("b")), std::string::npos) << r.describe();
  r = curl(lab, url(lab.hostAddr6("www")), lab.addr6("a"));
  EXPECT_NE(r.out.find("client=" + lab.addr6("a")), std::string::npos) << r.describe();
  // b's service is not reachable through a.
  EXPECT_FALSE(curl(lab, url(lab.hostAddr6("bsvc")), lab.addr6("a")).ok());
  // a's source first: the b-sourced attempt makes the node ask for router a's MAC from
  // b's address, which router a (rp_filter) does not answer, leaving the neighbour entry
  // failed for a while — real kernel behaviour, but not what this line checks.
  EXPECT_TRUE(curl(lab, url(lab.hostAddr4("www")), lab.addr4("a")).ok());
  EXPECT_FALSE(curl(lab, url(lab.hostAddr4("www")), lab.addr4("b")).ok());
  EXPECT_EQ(dig(lab, lab.dns4("b"), "A", "svc.b.example"), lab.hostAddr4("bsvc") + "\n");
  EXPECT_EQ(digStatus(lab, lab.dns4("a"), "svc.b.example"), "NXDOMAIN");
}

// RFC 6418 4.4 item 2: the cellular link is up and configured but loses most packets.
TEST(LabPoorlink, LosesMostPackets) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("poorlink");
  ASSERT_TRUE(lab.ok()) << lab.error();
  const std::string script =
      "import socket,sys\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
      "s.setsockopt(socket.SOL_SOCKET,socket.SO_BINDTODEVICE,sys.argv[1].encode())\n"
      "s.settimeout(float(sys.argv[3]))\n"
      "got=0\n"
      "for i in range(100):\n"
      "  s.sendto(b'x',(sys.argv[2],7))\n"
      "  try:\n"
      "    s.recv(4096); got+=1\n"
      "  except socket.timeout: pass\n"
      "print(got)\n";
  // 20 ms for an answer on the lossy link (most never come); 1 s on the good one, where a
  // loaded machine can take longer than 20 ms for a round trip that did happen.
  auto cell = lab.exec({"python3", "-c", script, lab.link("cell"), lab.hostAddr4("cellgw"), "0.02"},
                       ExecOptions().within(20s));
  auto wifi = lab.exec({"python3", "-c", script, lab.link("wifi"), lab.hostAddr4("www"), "1"},
                       ExecOptions().within(20s));
  ASSERT_TRUE(cell.ok()) << cell.describe();
  ASSERT_TRUE(wifi.ok()) << wifi.describe();
  // 90 % lost each way: about 1 in 100 round trips, 10 in 100 arrivals.
  EXPECT_LT(std::stoi(cell.out), 20);
  EXPECT_LT(lab.served("cellgw").size(), 40u);
  EXPECT_GE(std::stoi(wifi.out), 95);
  auto link = lab.exec({"ip", "-br", "link", "show", lab.link("cell")});
  EXPECT_NE(link.out.find("UP"), std::string::npos) << link.out;
}

// The harness's own kill-switch helpers: deleting a PvD's link cuts it off, recreating it
// (mif lab up again) restores addresses, routes and the PvD's DNS server.
TEST(LabHarness, LinkDeleteAndRecreate) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("wifi-vpn");
  ASSERT_TRUE(lab.ok()) << lab.error();
  const std::string wiki = url(lab.hostAddr4("wiki"));
  ASSERT_TRUE(curl(lab, wiki).ok());
  ASSERT_TRUE(lab.linkDelete("vpn"));
  EXPECT_FALSE(curl(lab, wiki).ok());
  ASSERT_TRUE(lab.linkRecreate("vpn"));
  EXPECT_TRUE(curl(lab, wiki).ok());
  EXPECT_TRUE(curl(lab, url(lab.hostAddr6("wiki"))).ok());
  EXPECT_EQ(dig(lab, lab.dns4("vpn"), "A", "wiki.corp.example"), lab.hostAddr4("wiki") + "\n");
  EXPECT_EQ(dig(lab, lab.dns6("vpn"), "A", "wiki.corp.example"), lab.hostAddr4("wiki") + "\n");

  ASSERT_TRUE(lab.linkDown("wifi"));
  EXPECT_FALSE(curl(lab, url(lab.hostAddr4("www")), lab.link("wifi")).ok());
  ASSERT_TRUE(lab.linkUp("wifi"));
  EXPECT_TRUE(curl(lab, url(lab.hostAddr4("www")), lab.link("wifi")).ok());
}

TEST(LabHarness, ExecReportsStatusOutputAndTimeout) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("overlap");
  ASSERT_TRUE(lab.ok()) << lab.error();
  auto r = lab.shell("echo out; echo err >&2; exit 3");
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  r = lab.exec({"sleep", "10"}, ExecOptions().within(300ms));
  EXPECT_TRUE(r.timedOut);
  EXPECT_FALSE(r.ok());
  r = lab.exec({"cat"}, ExecOptions().withInput("hello"));
  EXPECT_EQ(r.out, "hello");
  r = lab.exec({"ip", "-br", "link"});
  EXPECT_NE(r.out.find(lab.link("home")), std::string::npos) << r.out;
  r = lab.exec({"ls", "/sys/class/net"});
  EXPECT_NE(r.out.find(lab.link("office")), std::string::npos) << r.out;
  r = lab.exec({"ip", "-br", "addr"}, ExecOptions().in("router.home"));
  EXPECT_NE(r.out.find(lab.gateway4("home")), std::string::npos) << r.out;
  r = lab.exec({"/nonexistent/program"});
  EXPECT_EQ(r.status, 127);
}

// A PvD with `delay` (docs/lab.md "Poor links"): this kernel has no netem, so `mif lab
// delay` holds every packet of the link in the router's namespace, half the delay each
// way. What crosses the delayed link takes at least the delay per round trip — a TCP
// handshake with a host on the router and with the internet through it, a DNS query to
// its server, over IPv4 and IPv6 — with the node's source address intact; the router
// still drops another PvD's source (BCP 38, now checked after the relay); and `mif lab
// down` stops the relay. A lower bound only, which holds on any machine. About 4 s: the
// lab, six round trips of 40 ms, and the wrong-source datagrams' 1 s wait for nothing.
TEST(LabDelay, EveryRoundTripThroughTheDelayedPvdTakesTheDelay) {
  MIF_E2E_REQUIRE_LAB();
  mif::e2e::TempDir dir("e2e-delay");
  ASSERT_TRUE(dir.ok());
  const std::string file = dir.write("delayed.toml", R"(name = "delayed"
[pvd.wifi]
link = "wlan0"
node = ["192.0.2.10/24", "2001:db8:1::10/64"]
router = ["192.0.2.1/24", "2001:db8:1::1/64"]
routes = [{ to = "default", metric = 100 }]
internet = true

[pvd.cell]
link = "wwan0"
node = ["198.51.100.10/24", "2001:db8:2::10/64"]
router = ["198.51.100.1/24", "2001:db8:2::1/64"]
routes = [{ to = "default", metric = 200 }]
internet = true
delay = "40ms"
[pvd.cell.dns]
[[pvd.cell.dns.record]]
name = "svc.cell.example"
host = "cellsvc"

[[host]]
name = "cellsvc"
behind = "cell"
addrs = ["203.0.113.200", "2001:db8:cc::200"]

[[host]]
name = "www"
behind = "internet"
addrs = ["203.0.113.80", "2001:db8:ff::80"]
)");
  std::string relayPid;
  {
    Lab lab(file);
    ASSERT_TRUE(lab.ok()) << lab.error();
    EXPECT_EQ(lab.fact("pvd.cell.delay_us"), "40000");
    const std::string cell = lab.link("cell");
    for (const std::string host : {"cellsvc", "www"}) {
      for (const std::string& addr : {lab.hostAddr4(host), lab.hostAddr6(host)}) {
        auto r = lab.exec({"curl", "-s", "-g", "-m", "3", "--interface", cell, "-o", "/dev/null",
                           "-w", "%{time_connect}", url(addr)},
                          ExecOptions().within(6s));
        ASSERT_TRUE(r.ok()) << addr << ": " << r.describe();
        EXPECT_GE(std::stod(r.out), 0.040) << "TCP handshake with " << addr << " through cell";
      }
    }
    for (const auto& s : lab.served("cellsvc"))
      EXPECT_TRUE(s.client == lab.addr4("cell") || s.client == lab.addr6("cell")) << s.client;
    EXPECT_EQ(lab.served("cellsvc").size(), 2u);
    for (const std::string& server : {lab.dns4("cell"), lab.dns6("cell")}) {
      auto r = lab.exec({"dig", "+time=2", "+tries=1", "@" + server, "A", "svc.cell.example"},
                        ExecOptions().within(6s));
      ASSERT_NE(r.out.find(lab.hostAddr4("cellsvc")), std::string::npos) << r.describe();
      const auto at = r.out.find("Query time: ");
      ASSERT_NE(at, std::string::npos) << r.out;
      EXPECT_GE(std::stoi(r.out.substr(at + 12)), 40) << "DNS query to " << server;
    }
    // Wi-Fi's source through cellular: dropped by cellular's router, after the relay.
    static const char* kOnce =
        "import socket, sys\n"
        "iface, src, dst = sys.argv[1:4]\n"
        "s = socket.socket(socket.AF_INET6 if ':' in dst else socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())\n"
        "s.bind((src, 0))\n"
        "s.settimeout(1)\n"
        "s.sendto(b'ping', (dst, 7))\n"
        "try:\n"
        "    print(s.recv(4096).decode(errors='replace'))\n"
        "except OSError as e:\n"
        "    print('no answer:', e)\n";
    for (auto [src, dst] : {std::pair{lab.addr4("wifi"), lab.hostAddr4("cellsvc")},
                            std::pair{lab.addr6("wifi"), lab.hostAddr6("cellsvc")},
                            std::pair{lab.addr4("cell"), lab.hostAddr4("cellsvc")}}) {
      auto r = lab.exec({"python3", "-c", kOnce, cell, src, dst}, ExecOptions().within(5s));
      EXPECT_EQ(r.out.find("host=cellsvc") != std::string::npos, src == lab.addr4("cell"))
          << src << " -> " << dst << ": " << r.describe();
    }
    std::ifstream(lab.stateDir() + "/delay-cell.pid") >> relayPid;
    ASSERT_FALSE(relayPid.empty());
    ASSERT_TRUE(std::filesystem::exists("/proc/" + relayPid)) << "the relay " << relayPid;
  }
  // Gone with the lab (or a zombie waiting for PID 1: it holds nothing).
  std::ifstream stat("/proc/" + relayPid + "/stat");
  std::string line;
  std::getline(stat, line);
  EXPECT_TRUE(line.empty() || line.find(") Z ") != std::string::npos) << line;
}
