// Happy Eyeballs across PvDs (RFC 8305; issue 30) on the built-in `oneway` topology:
// svc.cell.example (host "cellsvc") lives behind the cellular PvD. Each test first makes
// Wi-Fi's router a black hole for that destination (`ip route add blackhole`: every packet
// to it is dropped, no ICMP, no RST), while Wi-Fi's link, address and default route stay
// fine, so the live view sees a usable PvD and failover on error (issue 29) never hears
// of a failure.
//
// Without mif a blocking connect through Wi-Fi hangs until the program's own timeout.
// Under `mif run --pvd wifi --pvd cell` the connect is raced: after one connection attempt
// delay without an answer through Wi-Fi, cellular's attempt starts on a second socket, wins,
// and takes the program's descriptor. Timing figures are printed (bench and docs hold
// them); the assertions are generous bounds.
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "e2e_dns_common.h"
#include "oneway_pvds.h"

namespace {

using mif::e2e::ExecOptions;
using namespace std::chrono_literals;

// A blocking client with the options a program sets before connecting and, when TIMEOUT
// is set, its own connect timeout (SO_SNDTIMEO: the socket stays blocking, and connect
// ends with EINPROGRESS when it elapses). One line per connection: how long connect took
// and what the descriptor looks like afterwards.
const char* kClient = R"PY(
import errno, fcntl, os, signal, socket, struct, sys, time
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
family = socket.AF_INET6 if ':' in host else socket.AF_INET
for i in range(count):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 50000)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if os.environ.get('TIMEOUT'):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack('ll', int(os.environ['TIMEOUT']), 0))
    fd = s.fileno()
    t0 = time.monotonic()
    if os.environ.get('ALARM'):
        def ring(signum, frame):
            raise InterruptedError('alarm')
        signal.signal(signal.SIGALRM, ring)  # without SA_RESTART, as Python installs them
        signal.setitimer(signal.ITIMER_REAL, float(os.environ['ALARM']))
    try:
        s.connect((host, port))
    except InterruptedError:
        print('conn %d interrupted ms %d' % (i, (time.monotonic() - t0) * 1000), flush=True)
        s.close()
        continue
    except OSError as e:
        print('conn %d error %s ms %d' % (i, errno.errorcode.get(e.errno, str(e.errno)),
                                           (time.monotonic() - t0) * 1000), flush=True)
        s.close()
        continue
    ms = (time.monotonic() - t0) * 1000
    local = s.getsockname()[0]
    s.sendall(b'GET / HTTP/1.0\r\n\r\n')
    body = b''
    while True:
        d = s.recv(4096)
        if not d:
            break
        body += d
    line = body.decode(errors='replace').split('\r\n\r\n', 1)[-1].strip()
    print('conn %d ok ms %d local %s fd_same %d blocking %d nodelay %d keepalive %d cloexec %d rcvbuf %d sndtimeo %d | %s' % (
        i, ms, local, s.fileno() == fd,
        (fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK) == 0,
        s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
        s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        (fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC) != 0,
        s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
        struct.unpack('ll', s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, 16))[0],
        line), flush=True)
    s.close()
)PY";

// getaddrinfo's list for a name: the families in order ("6 4 6 4") and the addresses.
const char* kFamilies = R"PY(
import socket, sys
ais = socket.getaddrinfo(sys.argv[1], 80, type=socket.SOCK_STREAM)
print(' '.join('6' if ai[0] == socket.AF_INET6 else '4' for ai in ais), '|',
      ' '.join(ai[4][0] for ai in ais))
)PY";

class Race : public mif::e2e::OnewayPvds {
 protected:
  Race() : OnewayPvds("e2e-race") {}

  // The PvD's router (Wi-Fi's unless told) drops every packet to these destinations
  // without a word.
  void blackhole(const std::string& v4, const std::string& v6 = "", const std::string& pvd = "wifi") {
    breakRoute("blackhole", pvd, v4, v6);
  }
  std::vector<std::string> client(const std::string& host, int count) const {
    return {"python3", "-c", kClient, host, "80", std::to_string(count)};
  }
};

// The problem, and the answer. Without mif the connect through Wi-Fi hangs until the
// program's own 2 s timeout (EINPROGRESS), and nothing reaches the server; failover on
// error has nothing to act on. Under --pvd wifi --pvd cell the same program connects
// through cellular after about one attempt delay, on its own descriptor number, blocking,
// with the options it set.
TEST_F(Race, ABlackholedPvdCostsOneAttemptDelayNotTheProgramsTimeout) {
  blackhole(svc4_);
  auto plain = lab_->exec(client(svc4_, 1), opts().withEnv("TIMEOUT=2"));
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_TRUE(has(plain.out, "conn 0 error EINPROGRESS")) << plain.out;
  EXPECT_GE(msOf(plain.out, "conn 0 error EINPROGRESS"), 1900) << plain.out;
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());

  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, client(svc4_, 1),
               opts().withEnv("TIMEOUT=10"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 ok")) << r.out;
  EXPECT_TRUE(has(r.out, "local " + cell4_ + " fd_same 1 blocking 1 nodelay 1 keepalive 1 cloexec 1 "
                         "rcvbuf 100000 sndtimeo 10 | proto=http host=cellsvc client=" + cell4_))
      << r.out;
  const int ms = msOf(r.out, "conn 0 ok");
  std::printf("without mif: %d ms to the program's timeout; raced: connected through cellular in %d ms\n",
              msOf(plain.out, "conn 0 error EINPROGRESS"), ms);
  EXPECT_GE(ms, 200) << "cellular's attempt started before the attempt delay: " << r.out;
  EXPECT_LT(ms, 3000) << r.out;
  auto seen = lab_->served("cellsvc", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, cell4_);

  // The trace: Wi-Fi's attempt lost the race (closed unanswered after a whole delay),
  // cellular's connected; Wi-Fi is degraded.
  auto connects = traceLines("connect");
  for (const auto& l : connects) std::printf("%s\n", l.c_str());
  ASSERT_EQ(connects.size(), 2u);
  EXPECT_TRUE(has(connects[0], "\"pvd\":\"wifi\"")) << connects[0];
  EXPECT_TRUE(has(connects[0], "\"attempt\":1")) << connects[0];
  EXPECT_TRUE(has(connects[0], "\"error\":\"ECANCELED\"")) << connects[0];
  EXPECT_TRUE(has(connects[0], "\"note\":\"lost the race\"")) << connects[0];
  EXPECT_TRUE(has(connects[1], "\"pvd\":\"cell\"")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"attempt\":2")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"errno\":0")) << connects[1];
  auto health = traceLines("health");
  ASSERT_EQ(health.size(), 1u);
  EXPECT_TRUE(has(health[0], "\"pvd\":\"wifi\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"from\":\"usable\",\"to\":\"degraded\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"reason\":\"connect lost the race\"")) << health[0];
}

// The same over IPv6, with no timeout of the program's own (a plain blocking connect,
// which without mif would wait for the kernel's SYN retries, about two minutes), and the
// attempt delay from the policy.
TEST_F(Race, Ipv6AndTheAttemptDelayFromThePolicy) {
  ASSERT_FALSE(svc6_.empty());
  blackhole(svc4_, svc6_);
  std::ofstream(policy_, std::ios::app) << "[failover]\nattempt_delay_ms = 600\n";
  auto r = run({"--pvd", "wifi,cell"}, client(svc6_, 1), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 ok")) << r.out;
  EXPECT_TRUE(has(r.out, "local " + cell6_ + " fd_same 1 blocking 1")) << r.out;
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell6_)) << r.out;
  const int ms = msOf(r.out, "conn 0 ok");
  std::printf("raced with a 600 ms attempt delay: %d ms\n", ms);
  EXPECT_GE(ms, 550) << r.out;
  EXPECT_LT(ms, 3500) << r.out;
}

// When the first PvD answers within the delay nothing is raced: one socket, one attempt,
// through Wi-Fi (www is reachable through both), not a packet through cellular.
TEST_F(Race, AWorkingFirstPvdIsNotRaced) {
  const std::string www = lab_->hostAddr4("www");
  auto cell = lab_->capture("cell", "host " + www);
  ASSERT_TRUE(cell.running()) << cell.error();
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, client(www, 2), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  cell.stop();
  EXPECT_EQ(cell.count(), 0u) << "a second attempt went through cellular";
  EXPECT_TRUE(has(r.out, "conn 1 ok")) << r.out;
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& s : seen) EXPECT_EQ(s.client, lab_->addr4("wifi"));
  auto connects = traceLines("connect");
  ASSERT_EQ(connects.size(), 2u);
  for (const auto& l : connects) {
    EXPECT_TRUE(has(l, "\"pvd\":\"wifi\"")) << l;
    EXPECT_FALSE(has(l, "\"attempt\"")) << l;
  }
  EXPECT_TRUE(traceLines("health").empty());

  // No second socket (issue 30's figure): the same two connects make as many inet socket()
  // calls, counted by strace over mif run and the program, under the list of two as under
  // Wi-Fi alone.
  auto inetSockets = [&](const std::vector<std::string>& pvds) {
    const std::string log = dir_.path() + "/strace.txt";
    std::vector<std::string> argv = {"strace", "-f", "-qq", "-e", "trace=socket", "-o", log,
                                     mif::e2e::mifBinary(), "run", "--policy", policy_};
    argv.insert(argv.end(), pvds.begin(), pvds.end());
    argv.push_back("--");
    for (const auto& a : client(www, 2)) argv.push_back(a);
    auto run = lab_->exec(argv, opts());
    EXPECT_TRUE(run.ok() && has(run.out, "conn 1 ok")) << run.describe();
    std::ifstream in(log);
    int n = 0;
    for (std::string line; std::getline(in, line);)
      n += has(line, "socket(AF_INET, SOCK_STREAM") || has(line, "socket(AF_INET6, SOCK_STREAM");
    return n;
  };
  const int one = inetSockets({"--pvd", "wifi"}), two = inetSockets({"--pvd", "wifi", "--pvd", "cell"});
  std::printf("inet stream socket() calls for two connects: --pvd wifi %d, --pvd wifi --pvd cell %d\n", one, two);
  EXPECT_GE(one, 2);
  EXPECT_EQ(two, one);
}

// A strict pin races only within its own list: pinned to Wi-Fi alone, the program waits for
// its own timeout and nothing leaves through cellular.
TEST_F(Race, AStrictPinRacesOnlyWithinItsList) {
  blackhole(svc4_);
  auto cell = lab_->capture("cell", "host " + svc4_);
  ASSERT_TRUE(cell.running()) << cell.error();
  auto r = run({"--pvd", "wifi", "--strict"}, client(svc4_, 1), opts().withEnv("TIMEOUT=1"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 error EINPROGRESS")) << r.out;
  cell.stop();
  EXPECT_EQ(cell.count(), 0u) << "a packet left through cellular under a strict Wi-Fi pin";
  r = run({"--pvd", "wifi", "--pvd", "cell", "--strict"}, client(svc4_, 1), opts().withEnv("TIMEOUT=10"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 ok")) << r.out;
  EXPECT_TRUE(has(r.out, "client=" + cell4_)) << r.out;
}

// The program's call semantics hold within the race. Both PvDs blackholed (www, reachable
// through either, dropped by both routers): the program's
// own 1 s SO_SNDTIMEO ends its connect with EINPROGRESS, as without mif, though Wi-Fi's and
// cellular's attempts were both running; a SIGALRM at 600 ms whose handler (installed
// without SA_RESTART, as Python does) raises interrupts the connect, as without mif.
TEST_F(Race, TheProgramsTimeoutAndSignalsEndTheRaceAsTheyEndItsConnect) {
  const std::string www = lab_->hostAddr4("www");
  blackhole(www);
  blackhole(www, "", "cell");
  auto plain = lab_->exec(client(www, 1), opts().withEnv("TIMEOUT=1"));
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_TRUE(has(plain.out, "conn 0 error EINPROGRESS")) << plain.out;
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, client(www, 1),
               opts().withEnv("TIMEOUT=1"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 error EINPROGRESS")) << r.out;
  const int ms = msOf(r.out, "conn 0 error EINPROGRESS");
  std::printf("program timeout 1 s: without mif %d ms, raced %d ms\n",
              msOf(plain.out, "conn 0 error EINPROGRESS"), ms);
  EXPECT_GE(ms, 900) << r.out;
  EXPECT_LT(ms, 3000) << r.out;
  auto connects = traceLines("connect");
  ASSERT_EQ(connects.size(), 2u) << r.out;
  EXPECT_TRUE(has(connects[0], "\"pvd\":\"wifi\"")) << connects[0];
  EXPECT_TRUE(has(connects[0], "\"note\":\"abandoned: the program's connect ended\"")) << connects[0];
  EXPECT_TRUE(has(connects[1], "\"pvd\":\"cell\"")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"error\":\"EINPROGRESS\"")) << connects[1];

  plain = lab_->exec(client(www, 1), opts().withEnv("TIMEOUT=10").withEnv("ALARM=0.6"));
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_TRUE(has(plain.out, "conn 0 interrupted")) << plain.out;
  r = run({"--pvd", "wifi", "--pvd", "cell"}, client(www, 1),
          opts().withEnv("TIMEOUT=10").withEnv("ALARM=0.6"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "conn 0 interrupted")) << r.out;
  EXPECT_LT(msOf(r.out, "conn 0 interrupted"), 3000) << r.out;
}

// RFC 8305 section 4 (issue 30 item 3): dual.example.com has two IPv4 and two IPv6
// addresses in both PvDs' DNS. glibc's own list is its RFC 6724 order, one family's
// addresses side by side (IPv6 first: precedence), so a program walking it (Python's
// create_connection, a blocking C client) tries both IPv6 addresses before any IPv4 one;
// under mif the list is interleaved, IPv6 then IPv4, whichever PvD answered (a list of one
// family is glibc's exactly: Differential.*).
TEST_F(Race, GetaddrinfoInterleavesFamiliesWithinEachPvd) {
  const std::vector<std::string> ask = {"/usr/bin/python3", "-c", kFamilies, "dual.example.com"};
  // glibc asking Wi-Fi's server (the node's own resolv.conf is the host's).
  auto plain = mifdns::e2e::run(*lab_, lab_->dns4("wifi"), "", {}, ask);
  ASSERT_TRUE(plain.ok()) << plain.describe();
  std::printf("glibc: %s", plain.out.c_str());
  EXPECT_EQ(plain.out.substr(0, 8), "6 6 4 4 ") << plain.out;
  const std::string policy = dir_.write(
      "dns.toml", "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\ndns = [\"" +
                      lab_->dns4("wifi") + "\"]\n[pvd.cell]\ninterface = \"" +
                      lab_->link("cell") + "\"\ndns = [\"" + lab_->dns4("cell") + "\"]\n");
  for (const auto& pvd : {"wifi", "cell"}) {
    auto r = lab_->mifRun({"--policy", policy, "--pvd", pvd}, ask, opts());
    ASSERT_TRUE(r.ok()) << r.describe();
    std::printf("mif --pvd %s: %s", pvd, r.out.c_str());
    EXPECT_EQ(r.out.substr(0, 8), "6 4 6 4 ") << r.out;
    EXPECT_TRUE(has(r.out, "203.0.113.81") && has(r.out, "2001:db8:ff::81")) << r.out;
  }
}

// curl and Python (asyncio, socket timeouts, epoll, select) race in NonBlockingRace.*;
// wget (a blocking connect, its --connect-timeout an alarm) and a plain blocking C client
// (programs/blocking_client.c) race here. Without mif each waits for its own 1 s timeout
// through the blackholed Wi-Fi and fails; under --pvd wifi --pvd cell, with timeouts they
// never reach, each connects through cellular.
TEST_F(Race, WgetAndABlockingCClientRace) {
  blackhole(svc4_);
  const std::string url = "http://" + svc4_ + "/";
  const std::string cClient = std::string(MIF_BIN_DIR) + "/blocking_client";
  auto plain = lab_->exec({"wget", "-q", "-t", "1", "-T", "1", "-O", "-", url}, opts());
  EXPECT_EQ(plain.status, 4) << plain.describe();  // wget's "network failure"
  plain = lab_->exec({cClient, svc4_, "80", "1"}, opts());
  EXPECT_TRUE(has(plain.out, "error EINPROGRESS ms ")) << plain.describe();
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());

  auto r = run({"--pvd", "wifi", "--pvd", "cell"}, {"wget", "-q", "-t", "1", "-T", "10", "-O", "-", url});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
  r = run({"--pvd", "wifi", "--pvd", "cell"}, {cClient, svc4_, "80"});  // no timeout of its own
  ASSERT_TRUE(r.ok()) << r.describe();
  std::printf("blocking C client raced: %s", r.out.c_str());
  EXPECT_TRUE(has(r.out, "local " + cell4_ + " | proto=http host=cellsvc client=" + cell4_)) << r.out;
  EXPECT_LT(msOf(r.out, "ok"), 3000) << r.out;
}

}  // namespace
