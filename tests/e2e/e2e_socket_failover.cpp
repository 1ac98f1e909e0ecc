// RFC 6418 4.4 (a PvD whose link is up but does not work) and 5.5 item 6, on the built-in
// `oneway` topology: svc.cell.example (host "cellsvc") lives behind the cellular PvD only.
// Each test first breaks Wi-Fi's router for that destination: it answers every packet to
// it with an ICMP unreachable (`ip route add unreachable`), while Wi-Fi's link, address and
// default route stay fine, so the live view sees a usable PvD. connect() through Wi-Fi
// fails with EHOSTUNREACH (ENETUNREACH over IPv6).
//
// Without mif the program sees that error. Under `mif run --pvd wifi --pvd cell` (a
// preference, not a strict pin) the same blocking connect is tried again through cellular
// before the program sees anything (issue 29): the program's descriptor now holds a socket
// connected through cellular, with the options it set, and the server sees cellular's
// source address. The trace shows both attempts and Wi-Fi's health turning to failed; the
// process's next connect goes to cellular first. A strict pin fails over only within its
// own list. When every PvD fails the program gets the first error, as without mif.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "oneway_pvds.h"

namespace {

using mif::e2e::ExecOptions;
using namespace std::chrono_literals;

// A blocking client: for each connection, the options a program typically sets before
// connecting, a plain connect() (no timeout: Python keeps the socket blocking), an HTTP
// request, and what the descriptor looks like afterwards. One line per connection.
const char* kClient = R"PY(
import errno, fcntl, os, socket, sys, time
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
family = socket.AF_INET6 if ':' in host else socket.AF_INET
for i in range(count):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 50000)
    if os.environ.get('BIND_PORT'):
        s.bind(('0.0.0.0' if family == socket.AF_INET else '::', int(os.environ['BIND_PORT'])))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)
    if family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x28)
    fd = s.fileno()
    t0 = time.monotonic()
    try:
        s.connect((host, port))
    except OSError as e:
        print('conn %d error %s ms %d' % (i, errno.errorcode.get(e.errno, str(e.errno)),
                                           (time.monotonic() - t0) * 1000), flush=True)
        s.close()
        continue
    ms = (time.monotonic() - t0) * 1000
    s.sendall(b'GET / HTTP/1.0\r\n\r\n')
    body = b''
    while True:
        d = s.recv(4096)
        if not d:
            break
        body += d
    line = body.decode(errors='replace').split('\r\n\r\n', 1)[-1].strip()
    print('conn %d ok ms %d fd_same %d nodelay %d keepalive %d keepidle %d tos %d cloexec %d rcvbuf %d | %s' % (
        i, ms, s.fileno() == fd,
        s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
        s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        s.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) if family == socket.AF_INET else 0x28,
        (fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC) != 0,
        s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), line), flush=True)
    s.close()
)PY";

class Failover : public mif::e2e::OnewayPvds {
 protected:
  // The longest attempt delay: Wi-Fi's router answers unreachable (after about 1 s, see
  // below) well before cellular's attempt would start in a race (issue 30,
  // e2e_socket_race.cpp), so these tests see failover on the error.
  Failover() : OnewayPvds("e2e-failover", "[failover]\nattempt_delay_ms = 2000\n") {}

  void SetUp() override {
    OnewayPvds::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    breakRouter("wifi", svc4_, svc6_);
  }

  // The PvD's router answers every packet to these destinations with ICMP unreachable.
  void breakRouter(const std::string& pvd, const std::string& v4, const std::string& v6 = "") {
    breakRoute("unreachable", pvd, v4, v6);
  }

  // The policy with each PvD's DNS server (the lab's routers announce none).
  std::string dnsPolicy() const {
    return dir_.write("dns.toml", "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") +
                                      "\"\ndns = [\"" + lab_->dns4("wifi") +
                                      "\"]\n[pvd.cell]\ninterface = \"" + lab_->link("cell") +
                                      "\"\ndns = [\"" + lab_->dns4("cell") + "\"]\n");
  }

  std::vector<std::string> client(const std::string& host, int count, const char* port = "80") const {
    return {"python3", "-c", kClient, host, port, std::to_string(count)};
  }
};

// The problem: the first PvD's link is up, its router unreaches. Without mif the program
// gets EHOSTUNREACH, and a single-PvD pin under mif gives it exactly the same error.
TEST_F(Failover, WithoutMifTheConnectDiesAtTheFirstPvdsRouter) {
  auto plain = lab_->exec(client(svc4_, 1), opts());
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_TRUE(has(plain.out, "conn 0 error EHOSTUNREACH")) << plain.out;
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());
  auto pinned = run({"--pvd", "wifi"}, client(svc4_, 1));
  ASSERT_TRUE(pinned.ok()) << pinned.describe();
  EXPECT_TRUE(has(pinned.out, "conn 0 error EHOSTUNREACH")) << pinned.out;
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());
}

// The answer: the blocking connect is tried again through cellular before the program
// sees an error; its descriptor keeps its number, options and close-on-exec flag.
TEST_F(Failover, BlockingConnectFailsOverToTheNextPvdBeforeTheProgramSeesAnError) {
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, client(svc4_, 2));
  ASSERT_TRUE(r.ok()) << r.describe();
  for (const char* conn : {"conn 0 ok", "conn 1 ok"}) {
    EXPECT_TRUE(has(r.out, conn)) << r.out;
  }
  EXPECT_TRUE(has(r.out, "fd_same 1 nodelay 1 keepalive 1 keepidle 77 tos 40 cloexec 1 "
                         "rcvbuf 100000 | proto=http host=cellsvc client=" + cell4_))
      << r.out;
  // Well under a second (the ICMP answer is immediate); the bound is generous.
  const size_t at = r.out.find("conn 0 ok ms ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const int ms = std::stoi(r.out.substr(at + 13));
  // Most of it is Wi-Fi's router: the kernel suppresses the first ICMP error to a new
  // peer (ip_error's token bucket), so the SYN's retransmission after 1 s is what gets the
  // EHOSTUNREACH. The trace's `ms` says what each attempt took.
  std::printf("first connection, failed over: %d ms\n", ms);
  EXPECT_LT(ms, 3000) << r.out;
  {
    std::ifstream in(trace_);
    std::string line;
    while (std::getline(in, line))
      if (has(line, "\"call\":\"connect\"") || has(line, "\"call\":\"health\""))
        std::printf("%s\n", line.c_str());
  }
  auto seen = lab_->served("cellsvc", "http");
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& s : seen) EXPECT_EQ(s.client, cell4_);

  // The trace: attempt 1 through Wi-Fi (EHOSTUNREACH), Wi-Fi failed, attempt 2 through
  // cellular (connected); the second connection went to cellular first, in one attempt.
  auto connects = traceLines("connect");
  ASSERT_EQ(connects.size(), 3u) << r.out;
  EXPECT_TRUE(has(connects[0], "\"pvd\":\"wifi\"")) << connects[0];
  EXPECT_TRUE(has(connects[0], "\"attempt\":1")) << connects[0];
  EXPECT_TRUE(has(connects[0], "\"error\":\"EHOSTUNREACH\"")) << connects[0];
  EXPECT_TRUE(has(connects[1], "\"pvd\":\"cell\"")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"attempt\":2")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"errno\":0")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"source\":\"" + cell4_ + "\"") || has(connects[1], "\"interface\":\"" + lab_->link("cell") + "\""))
      << connects[1];
  EXPECT_TRUE(has(connects[2], "\"pvd\":\"cell\"")) << connects[2];
  EXPECT_FALSE(has(connects[2], "\"attempt\"")) << connects[2];
  auto health = traceLines("health");
  ASSERT_GE(health.size(), 1u);
  EXPECT_TRUE(has(health[0], "\"pvd\":\"wifi\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"from\":\"usable\",\"to\":\"failed\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"reason\":\"connect EHOSTUNREACH\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"retry_in_ms\":")) << health[0];
}

// The same over IPv6.
TEST_F(Failover, Ipv6ConnectFailsOverToo) {
  ASSERT_FALSE(svc6_.empty());
  auto plain = lab_->exec(client(svc6_, 1), opts());
  EXPECT_TRUE(has(plain.out, "conn 0 error")) << plain.describe();
  auto r = run({"--pvd", "wifi,cell"}, client(svc6_, 1));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 ok")) << r.out;
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell6_)) << r.out;
}

// A strict pin fails over within its own list, and never outside it.
TEST_F(Failover, StrictPinFailsOverOnlyWithinItsList) {
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--strict"}, client(svc4_, 1));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 ok")) << r.out;
  EXPECT_TRUE(has(r.out, "client=" + cell4_)) << r.out;

  lab_->clearLogs();
  auto cell = lab_->capture("cell", "host " + svc4_);
  ASSERT_TRUE(cell.running()) << cell.error();
  r = run({"--pvd", "wifi", "--strict", "--trace=" + trace_}, client(svc4_, 1));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 error EHOSTUNREACH")) << r.out;
  cell.stop();
  EXPECT_EQ(cell.count(), 0u) << "a packet left through cellular under a strict Wi-Fi pin";
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());
  for (const auto& line : traceLines("connect")) EXPECT_FALSE(has(line, "\"attempt\"")) << line;
}

// A socket the program bound to a port of its own is not failed over: a fresh socket
// would lose the port. The program gets the first PvD's error, as without mif.
TEST_F(Failover, ASocketWithAPortOfTheProgramsOwnIsNotFailedOver) {
  auto r = lab_->mifRun({"--policy", policy_, "--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_},
                        client(svc4_, 1), opts().withEnv("BIND_PORT=40123"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 error EHOSTUNREACH")) << r.out;
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());
  for (const auto& line : traceLines("connect")) EXPECT_FALSE(has(line, "\"attempt\"")) << line;
}

// DNS timeouts feed health too, and the issue's DNS case end to end: with Wi-Fi's DNS
// server stopped (SIGSTOP: it never answers), a lookup under --pvd wifi --pvd cell times
// out on Wi-Fi after the resolver's per-PvD timeout (1 s, 3 tries, doubling: about 7 s),
// is answered through cellular, the connection to that answer leaves through cellular
// (the answer's tag), and the trace says Wi-Fi's health went to degraded because of it.
TEST_F(Failover, ADnsTimeoutDegradesThePvd) {
  std::ifstream pidFile(lab_->stateDir() + "/dns-wifi.pid");
  int pid = 0;
  ASSERT_TRUE(pidFile >> pid) << "no dnsmasq pid for wifi";
  ASSERT_GT(pid, 1);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  auto r = lab_->mifRun(
      {"--policy", dnsPolicy(), "--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_},
      {"python3", "-c",
       "import socket, time\n"
       "t0 = time.monotonic()\n"
       "ai = socket.getaddrinfo('www.example.com', 80, socket.AF_INET, socket.SOCK_STREAM)\n"
       "ms = (time.monotonic() - t0) * 1000\n"
       "s = socket.create_connection(ai[0][4][:2])\n"
       "print('resolved ms %d to %s local %s' % (ms, ai[0][4][0], s.getsockname()[0]))\n"},
      ExecOptions().withEnv("XDG_CONFIG_HOME=" + dir_.path()).within(60s));
  ::kill(pid, SIGCONT);
  ASSERT_TRUE(r.ok()) << r.describe();
  std::printf("%s", r.out.c_str());
  EXPECT_TRUE(has(r.out, "to " + lab_->hostAddr4("www") + " local " + cell4_)) << r.out;
  const int ms = msOf(r.out, "resolved");
  EXPECT_GE(ms, 0) << r.out;
  EXPECT_LT(ms, 20000) << r.out;
  auto health = traceLines("health");
  ASSERT_EQ(health.size(), 1u) << r.out;
  EXPECT_TRUE(has(health[0], "\"pvd\":\"wifi\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"from\":\"usable\",\"to\":\"degraded\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"reason\":\"DNS timeout\"")) << health[0];
}

// A PvD failed by a connect is asked last by the resolver too: after the connect to
// svc.cell.example failed over from Wi-Fi, the same process's lookup goes to cellular's
// DNS first (trace: the resolver line's "pvds").
TEST_F(Failover, AFailedPvdsDnsIsAskedLast) {
  auto r =
      lab_->mifRun({"--policy", dnsPolicy(), "--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_},
                   {"python3", "-c",
                    "import socket, sys\n"
                    "socket.getaddrinfo('www.example.com', 80, socket.AF_INET)\n"
                    "socket.create_connection((sys.argv[1], 80)).close()\n"
                    "socket.getaddrinfo('www.example.com', 80, socket.AF_INET6)\n",
                    svc4_},
                   opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  std::vector<std::string> lookups;
  for (const char* call : {"getaddrinfo", "resolve"})
    for (const auto& l : traceLines(call))
      if (has(l, "\"pvds\"")) lookups.push_back(l);
  for (const auto& l : lookups) std::printf("%s\n", l.c_str());
  ASSERT_EQ(lookups.size(), 2u) << r.out;
  EXPECT_TRUE(has(lookups[0], "\"pvds\":[\"wifi\",\"cell\"]")) << lookups[0];
  EXPECT_TRUE(has(lookups[1], "\"pvds\":[\"cell\",\"wifi\"]"))
      << "Wi-Fi failed: asked last: " << lookups[1];
}

// A PvD known to have failed gets no datagram either: after the TCP connect has failed
// Wi-Fi, the same process's next unconnected UDP datagram to another destination leaves
// through cellular (each datagram is decided once, none is sent twice).
TEST_F(Failover, DatagramsAfterAFailureAreSentThroughTheNextPvd) {
  const std::string www = lab_->hostAddr4("www");
  const std::string script =
      "import socket\n"
      "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
      "u.settimeout(3)\n"
      "u.sendto(b'before', ('" + www + "', 7)); print('before', u.recv(500).decode().strip())\n"
      "t = socket.socket()\n"
      "t.connect(('" + svc4_ + "', 80)); t.close()\n"
      "u.sendto(b'after', ('" + www + "', 7)); print('after', u.recv(500).decode().strip())\n";
  auto r = run({"--pvd", "wifi", "--pvd", "cell"}, {"python3", "-c", script});
  ASSERT_TRUE(r.ok()) << r.describe();
  auto seen = lab_->served("www", "udp");
  ASSERT_EQ(seen.size(), 2u) << r.out;
  EXPECT_EQ(seen[0].client, lab_->addr4("wifi")) << "before the failure: Wi-Fi, the first PvD";
  EXPECT_EQ(seen[1].client, cell4_) << "after it: cellular";
}

// Every PvD of the list fails: the program gets the first PvD's error, as without mif,
// on its own socket.
TEST_F(Failover, WhenEveryPvdFailsTheProgramGetsTheFirstError) {
  const std::string nowhere = "203.0.113.99";
  breakRouter("wifi", nowhere);
  breakRouter("cell", nowhere);
  auto plain = lab_->exec(client(nowhere, 1), opts());
  ASSERT_TRUE(plain.ok()) << plain.describe();
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, client(nowhere, 1));
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto cut = [](const std::string& s) { return s.substr(0, s.find(" ms ")); };
  EXPECT_EQ(cut(r.out), cut(plain.out)) << plain.out << r.out;
  EXPECT_TRUE(has(r.out, "conn 0 error EHOSTUNREACH")) << r.out;
  auto connects = traceLines("connect");
  ASSERT_EQ(connects.size(), 2u);
  EXPECT_TRUE(has(connects[0], "\"attempt\":1")) << connects[0];
  EXPECT_TRUE(has(connects[1], "\"attempt\":2")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"pvd\":\"cell\"")) << connects[1];
}

}  // namespace
