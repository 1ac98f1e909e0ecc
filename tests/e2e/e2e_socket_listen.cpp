// Servers under a strict pin (DESIGN.md: `--strict`: nothing of the program leaves
// through any other PvD; a program that bound a socket itself keeps its choice unless
// strict forbids it). An unmodified python3 server listens on 0.0.0.0 (TCP and UDP) in the
// node of the wifi-vpn lab; clients in the routers' namespaces reach it through each PvD's
// link, and one client on the Wi-Fi side aims at the node's VPN address (weak host model:
// Linux accepts it on any interface). Without mif, and under a non-strict pin, every
// client is served; under `mif run --pvd vpn --strict` only those arriving through the
// VPN's interface are, and the others are refused as if nothing listened.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "e2e_socket_util.h"
#include "lab.h"

namespace {

using namespace std::chrono_literals;
using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::sock::outputLines;
using mif::e2e::sock::privateTopology;

constexpr const char* kPort = "8081";

// Serves TCP and UDP on 0.0.0.0:PORT, answering each client with the address it came from
// and the address it reached; a UDP "quit" ends it (so does a 25 s deadline).
const char* kServer = R"(
import select, socket, sys, time
port = int(sys.argv[1])
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(('0.0.0.0', port))
t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', port))
end = time.time() + 25
while time.time() < end:
    ready, _, _ = select.select([t, u], [], [], 0.5)
    for s in ready:
        if s is t:
            try:
                c, peer = t.accept()
            except OSError as e:
                print('accept-error', e.errno, flush=True)
                continue
            c.sendall(('tcp peer=%s local=%s\n' % (peer[0], c.getsockname()[0])).encode())
            c.close()
        else:
            data, peer = u.recvfrom(64)
            if data == b'quit':
                sys.exit(0)
            print('udp-in', peer[0], flush=True)
            u.sendto(('udp peer=%s\n' % peer[0]).encode(), peer)
)";

// One request: prints "ok <the server's line>" or "err <errno>". TCP retries a refused
// connect up to TRIES times, 0.1 s apart (the server may still be starting). UDP is
// unconnected: a wildcard server answers a datagram aimed at the node's VPN address with
// the source its route back prefers, and the answer still counts.
const char* kClient = R"(
import socket, sys, time
proto, addr, port, tries = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(tries):
    try:
        if proto == 'tcp':
            s = socket.create_connection((addr, port), timeout=2)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.sendto(b'ping', (addr, port))
        print('ok', s.recv(128).decode().strip(), flush=True)
        break
    except ConnectionRefusedError as e:
        if i + 1 == tries:
            print('err', e.errno, flush=True)
        else:
            time.sleep(0.1)
    except OSError as e:
        print('err', e.errno or type(e).__name__, flush=True)
        break
)";

class ListeningSockets : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    lab_ = std::make_unique<Lab>(privateTopology("wifi-vpn"));
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    wifi4_ = lab_->addr4("wifi");
    vpn4_ = lab_->addr4("vpn");
    ASSERT_FALSE(wifi4_.empty());
    ASSERT_FALSE(vpn4_.empty());
    // The Wi-Fi router reaches the node's VPN address over the Wi-Fi link: a packet for the
    // VPN's address arriving through another PvD.
    auto route = lab_->exec({"ip", "route", "replace", vpn4_ + "/32", "via", wifi4_},
                            ExecOptions().in("router.wifi"));
    ASSERT_TRUE(route.ok()) << route.describe();
  }

  std::string client(const std::string& router, const std::string& proto, const std::string& addr,
                     int tries = 1) const {
    auto r = lab_->exec({"python3", "-c", kClient, proto, addr, kPort, std::to_string(tries)},
                        ExecOptions().in(router).within(15s));
    EXPECT_TRUE(r.ok()) << r.describe();
    auto lines = outputLines(r.out);
    return lines.empty() ? "" : lines.back();
  }

  struct Seen {
    std::string tcpVpn, tcpWifi, tcpCross, udpVpn, udpWifi, udpCross;
    CommandResult server;
  };

  // Starts the server (under `mif run MIFARGS` unless empty), waits until the VPN-side
  // client is served, then tries the other clients, then stops the server.
  Seen run(const std::vector<std::string>& mifArgs) {
    Seen seen;
    std::thread server([&] {
      const std::vector<std::string> argv{"python3", "-c", kServer, kPort};
      const auto opts =
          ExecOptions().within(40s).withEnv("XDG_CONFIG_HOME=/nonexistent/mifpre-listen");
      seen.server = mifArgs.empty() ? lab_->exec(argv, opts) : lab_->mifRun(mifArgs, argv, opts);
    });
    seen.tcpVpn = client("router.vpn", "tcp", vpn4_, 100);
    seen.tcpWifi = client("router.wifi", "tcp", wifi4_);
    seen.tcpCross = client("router.wifi", "tcp", vpn4_);
    seen.udpVpn = client("router.vpn", "udp", vpn4_);
    seen.udpWifi = client("router.wifi", "udp", wifi4_);
    seen.udpCross = client("router.wifi", "udp", vpn4_);
    lab_->exec({"python3", "-c",
                "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto("
                "b'quit', ('" + vpn4_ + "', " + kPort + "))"},
               ExecOptions().in("router.vpn"));
    server.join();
    return seen;
  }

  std::string tcpServed(const std::string& router) const {
    return "ok tcp peer=" + lab_->gateway4(router) + " local=";
  }
  // Datagrams the server received from the router of `pvd`.
  size_t udpReceived(const Seen& s, const std::string& pvd) const {
    size_t n = 0;
    for (const auto& l : outputLines(s.server.out)) n += l == "udp-in " + lab_->gateway4(pvd);
    return n;
  }

  std::unique_ptr<Lab> lab_;
  std::string wifi4_, vpn4_;
};

TEST_F(ListeningSockets, WithoutMifAWildcardServerIsReachedThroughEveryPvd) {
  const Seen s = run({});
  EXPECT_TRUE(s.server.ok()) << s.server.describe();
  EXPECT_EQ(s.tcpVpn, tcpServed("vpn") + vpn4_);
  EXPECT_EQ(s.tcpWifi, tcpServed("wifi") + wifi4_);
  EXPECT_EQ(s.tcpCross, tcpServed("wifi") + vpn4_) << "the weak host model (the problem)";
  EXPECT_EQ(s.udpVpn, "ok udp peer=" + lab_->gateway4("vpn"));
  EXPECT_EQ(s.udpWifi, "ok udp peer=" + lab_->gateway4("wifi"));
  EXPECT_EQ(s.udpCross, "ok udp peer=" + lab_->gateway4("wifi"));
  EXPECT_EQ(udpReceived(s, "wifi"), 2u) << s.server.out;
}

TEST_F(ListeningSockets, StrictPinServesOnlyWhatArrivesThroughThePinnedPvd) {
  const Seen s = run({"--policy", lab_->policyFile(), "--pvd", "vpn", "--strict"});
  EXPECT_TRUE(s.server.ok()) << s.server.describe();
  // Served through the VPN: the answer left through it (its router has no other way back).
  EXPECT_EQ(s.tcpVpn, tcpServed("vpn") + vpn4_);
  EXPECT_EQ(s.udpVpn, "ok udp peer=" + lab_->gateway4("vpn"));
  // Through Wi-Fi, to either address: refused as if nothing listened (RST, ICMP port
  // unreachable), never accepted.
  EXPECT_EQ(s.tcpWifi, "err 111");
  EXPECT_EQ(s.tcpCross, "err 111");
  EXPECT_EQ(s.udpWifi.rfind("err ", 0), 0u) << s.udpWifi;
  EXPECT_EQ(s.udpCross.rfind("err ", 0), 0u) << s.udpCross;
  EXPECT_EQ(udpReceived(s, "vpn"), 1u) << s.server.out;
  EXPECT_EQ(udpReceived(s, "wifi"), 0u) << "no datagram through Wi-Fi reaches the program:\n"
                                        << s.server.out;
  EXPECT_EQ(s.server.out.find("accept-error"), std::string::npos) << s.server.out;
}

TEST_F(ListeningSockets, NonStrictPinKeepsTheProgramsWildcard) {
  const Seen s = run({"--policy", lab_->policyFile(), "--pvd", "vpn"});
  EXPECT_TRUE(s.server.ok()) << s.server.describe();
  EXPECT_EQ(s.tcpVpn, tcpServed("vpn") + vpn4_);
  EXPECT_EQ(s.tcpWifi, tcpServed("wifi") + wifi4_);
  EXPECT_EQ(s.tcpCross, tcpServed("wifi") + vpn4_);
  EXPECT_EQ(s.udpVpn, "ok udp peer=" + lab_->gateway4("vpn"));
  // Received through both PvDs. (The answers to Wi-Fi clients are not asserted: the
  // non-strict pin steers the server's unconnected replies to the VPN per datagram, a
  // known gap, see docs/architecture.md.)
  EXPECT_EQ(udpReceived(s, "vpn"), 1u) << s.server.out;
  EXPECT_EQ(udpReceived(s, "wifi"), 2u) << s.server.out;
}

}  // namespace
