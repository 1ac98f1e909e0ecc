// ECONNREFUSED on the way or from the server (issue 29): a connect refused by an ICMP error
// from the first PvD's router (a firewall's REJECT with icmp-port-unreachable) fails over
// to the next PvD, while one refused by the server itself (its TCP RST) does not, though
// both give the program the same errno. On the `oneway` lab: Wi-Fi's router drops the
// SYNs to svc.cell.example (a blackhole route) and tests/e2e/programs/icmp_reject.py
// answers each with ICMP (ICMPv6) port unreachable, as `iptables -j REJECT` would (the lab
// has no netfilter tools); Wi-Fi's link, address and default route stay fine.
// How mif tells the two apart: docs/architecture.md, "Refused on the way or by the server".

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "oneway_pvds.h"

namespace {

using namespace std::chrono_literals;

// One blocking connect (Python keeps the socket blocking): "ok ms N client ..." or the
// errno's name.
const char* kBlocking = R"PY(
import errno, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
t0 = time.monotonic()
try:
    s.connect((host, port))
except OSError as e:
    print('error %s ms %d' % (errno.errorcode.get(e.errno, str(e.errno)), (time.monotonic() - t0) * 1000))
    sys.exit(0)
ms = (time.monotonic() - t0) * 1000
s.sendall(b'GET / HTTP/1.0\r\n\r\n')
body = b''
while True:
    d = s.recv(4096)
    if not d:
        break
    body += d
print('ok ms %d | %s' % (ms, body.decode(errors='replace').split('\r\n\r\n', 1)[-1].strip()))
)PY";

class RefusedOnTheWay : public mif::e2e::OnewayPvds {
 protected:
  // The attempt delay is long: what starts cellular is Wi-Fi's error, not the race's timer.
  RefusedOnTheWay()
      : OnewayPvds("e2e-refused", "[failover]\nattempt_delay_ms = 2000\n", /*shared=*/true) {}

  std::vector<std::string> curl(const std::string& host, const char* port = "80") const {
    return {"curl",
            "-sS",
            "--connect-timeout",
            "5",
            "-w",
            "\\nconnect %{time_connect} local %{local_ip}\\n",
            "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                port + "/"};
  }
  std::vector<std::string> blocking(const std::string& host, const char* port = "80") const {
    return {"/usr/bin/python3", "-c", kBlocking, host, port};
  }
  void printTrace() const {
    for (const char* call : {"connect", "health"})
      for (const auto& l : traceLines(call)) std::printf("%s\n", l.c_str());
  }

};

// curl (a non-blocking connect): refused by Wi-Fi's router without mif; through cellular
// at once under --pvd wifi --pvd cell, and Wi-Fi is failed with the reason.
TEST_F(RefusedOnTheWay, CurlFailsOverWhenTheFirstPvdsRouterRejectsWithIcmp) {
  rejectOnWifi();
  auto plain = lab_->exec(curl(svc4_), opts());
  EXPECT_EQ(plain.status, 7) << plain.describe();  // curl: couldn't connect
  EXPECT_TRUE(has(plain.err, "Couldn't connect")) << plain.err;
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());

  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, curl(svc4_));
  printTrace();
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
  const size_t at = r.out.find("connect ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const int ms = static_cast<int>(std::stod(r.out.substr(at + 8)) * 1000);
  std::printf("without mif: %s; with mif: through cellular in %d ms\n", plain.err.c_str(), ms);
  EXPECT_LT(ms, 1500) << "cellular started by the attempt delay, not by Wi-Fi's refusal";
  auto health = traceLines("health");
  ASSERT_GE(health.size(), 1u);
  EXPECT_TRUE(has(health[0], "\"pvd\":\"wifi\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"to\":\"failed\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"reason\":\"connect ECONNREFUSED (ICMP on the way)\"")) << health[0];
}

// A blocking connect, IPv4 and IPv6 (ICMPv6 needs IPV6_RECVERR, set by mif for the call).
TEST_F(RefusedOnTheWay, BlockingConnectFailsOverOnIcmpPortUnreachable) {
  rejectOnWifi();
  for (const std::string& host : {svc4_, svc6_}) {
    auto plain = lab_->exec(blocking(host), opts());
    EXPECT_TRUE(has(plain.out, "error ECONNREFUSED")) << plain.describe();
    auto r = run({"--pvd", "wifi", "--pvd", "cell"}, blocking(host));
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_TRUE(has(r.out, "ok ms ")) << host << ": " << r.out;
    EXPECT_TRUE(has(r.out, "host=cellsvc client=" + (host == svc4_ ? cell4_ : cell6_))) << r.out;
    std::printf("%s: without mif %s; with mif %s\n", host.c_str(), plain.out.c_str(),
                r.out.c_str());
  }
}

// The server's own refusal (its RST: nothing listens on port 81 of www, which both PvDs
// reach) is the same through every PvD: the program gets ECONNREFUSED at once, as without
// mif, from the one attempt through Wi-Fi, and Wi-Fi's health is unchanged.
TEST_F(RefusedOnTheWay, TheServersRstDoesNotFailOver) {
  const std::string www = lab_->hostAddr4("www");
  auto plain = lab_->exec(blocking(www, "81"), opts());
  EXPECT_TRUE(has(plain.out, "error ECONNREFUSED")) << plain.describe();
  auto cell = lab_->capture("cell", "host " + www);
  ASSERT_TRUE(cell.running()) << cell.error();
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, blocking(www, "81"));
  auto c = run({"--pvd", "wifi", "--pvd", "cell"}, curl(www, "81"));
  cell.stop();
  printTrace();
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "error ECONNREFUSED")) << r.out;
  EXPECT_EQ(c.status, 7) << c.describe();
  EXPECT_EQ(cell.count(), 0u) << "an attempt left through cellular";
  auto connects = traceLines("connect");
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_TRUE(has(connects[0], "\"pvd\":\"wifi\"")) << connects[0];
  EXPECT_TRUE(has(connects[0], "\"error\":\"ECONNREFUSED\"")) << connects[0];
  EXPECT_TRUE(traceLines("health").empty());
}

}  // namespace
