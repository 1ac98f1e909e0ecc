// RFC 6418 4.4 and 5.5 item 6 for a destination whose address came from a PvD's DNS (issue
// 29 item 2), on the built-in `oneway` topology: `cdn.example.com` is answered per PvD,
// `www` (203.0.113.80) by Wi-Fi's server and `cellsvc` (203.0.113.200, reachable only
// through cellular) by cellular's. Each test breaks Wi-Fi's router for www only, so Wi-Fi's
// link, address, default route and DNS stay fine and the name resolves through Wi-Fi first.
//
// Under `mif run --pvd wifi --pvd cell` getaddrinfo returns Wi-Fi's answer, tagged with
// Wi-Fi; a connect to it is decided by that tag (precedence step 4). Before issue 29 item 2
// that decision listed Wi-Fi alone: the connect was neither failed over nor raced and the
// program saw Wi-Fi's error or waited for its timeout. Now the list goes on with cellular,
// and the attempt on cellular connects to cellular's own answer for the name (the server
// says host=cellsvc: not Wi-Fi's address carried to the other PvD). A strict pin to Wi-Fi
// still makes no attempt anywhere else.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "oneway_pvds.h"

namespace {

const char* kName = "cdn.example.com";

class DnsFailover : public mif::e2e::OnewayPvds {
 protected:
  DnsFailover() : OnewayPvds("e2e-dnsfailover", "", /*shared=*/true) {}

  void SetUp() override {
    OnewayPvds::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    www4_ = lab_->hostAddr4("www");
    www6_ = lab_->hostAddr6("www");
    ASSERT_FALSE(www4_.empty());
    // Each PvD with its own DNS server (the lab's dnsmasq on its router).
    policy_ = dir_.write("policy.toml", "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\ndns = [\"" +
                                            lab_->dns4("wifi") + "\"]\n[pvd.cell]\ninterface = \"" +
                                            lab_->link("cell") + "\"\ndns = [\"" + lab_->dns4("cell") +
                                            "\"]\n");
  }

  // curl over IPv4 (one address, one connect of its own), with its time_connect and source.
  std::vector<std::string> curl(int connectTimeout) const {
    return {"curl", "-4", "-sS", "--connect-timeout", std::to_string(connectTimeout), "-w",
            "\nconnect %{time_connect} local %{local_ip}\n",
            std::string("http://") + kName + ":80/"};
  }
  std::string policyWithDelay(int ms) const {
    std::ifstream in(policy_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return dir_.write("delay.toml", text + "[failover]\nattempt_delay_ms = " + std::to_string(ms) + "\n");
  }
  // The connect lines of the trace, printed for the log.
  std::vector<std::string> connects() const {
    auto lines = traceLines("connect");
    for (const auto& l : lines) std::printf("%s\n", l.c_str());
    return lines;
  }

  std::string www4_, www6_;
};

// Wi-Fi's router answers ICMP unreachable for www. curl (a non-blocking connect) fails over
// inside its poll as soon as the error comes (the attempt delay is 2 s here, so cellular is
// started by Wi-Fi's error, not by the delay), to cellular's own answer for the name.
TEST_F(DnsFailover, CurlFailsOverToTheNextPvdsOwnAnswer) {
  breakRoute("unreachable", "wifi", www4_, www6_);
  auto r = lab_->mifRun({"--policy", policyWithDelay(2000), "--pvd", "wifi", "--pvd", "cell",
                         "--trace=" + trace_},
                        curl(5), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  // cellular's answer (cellsvc), reached through cellular: not Wi-Fi's address.
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
  EXPECT_TRUE(has(r.out, "local " + cell4_)) << r.out;
  auto c = connects();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_TRUE(has(c[0], "\"destination\":\"" + www4_ + "\"")) << c[0];
  EXPECT_TRUE(has(c[0], "\"step_name\":\"DNS tag\"")) << c[0];
  EXPECT_TRUE(has(c[1], "\"pvd\":\"wifi\"")) << c[1];
  EXPECT_TRUE(has(c[1], "\"attempt\":1")) << c[1];
  EXPECT_TRUE(has(c[1], "\"error\":\"EHOSTUNREACH\"")) << c[1];
  EXPECT_TRUE(has(c[2], "\"pvd\":\"cell\"")) << c[2];
  EXPECT_TRUE(has(c[2], "\"destination\":\"" + svc4_ + "\"")) << c[2];
  EXPECT_TRUE(has(c[2], "\"attempt\":2")) << c[2];
  EXPECT_TRUE(has(c[2], "\"errno\":0")) << c[2];
  EXPECT_TRUE(has(c[2], "\"note\":\"address from this PvD's DNS\"")) << c[2];
}

// Wi-Fi's router is a blackhole for www (both families). A blocking C client (getaddrinfo,
// blocking connect, no timeout of its own: it would wait for the kernel's SYN retries,
// minutes) connects through cellular, to cellular's answer, after about one attempt delay.
TEST_F(DnsFailover, ABlockingClientRacesToTheNextPvdsOwnAnswer) {
  breakRoute("blackhole", "wifi", www4_, www6_);
  const std::string client = std::string(MIF_BIN_DIR) + "/blocking_client";
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, {client, kName, "80"});
  ASSERT_TRUE(r.ok()) << r.describe();
  std::printf("blocking C client: %s", r.out.c_str());
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_) || has(r.out, "host=cellsvc client=" + cell6_))
      << r.out;
  EXPECT_LT(msOf(r.out, "ok"), 5000) << r.out;
  auto c = connects();
  ASSERT_GE(c.size(), 2u);
  EXPECT_TRUE(has(c[0], "\"pvd\":\"wifi\"")) << c[0];
  EXPECT_TRUE(has(c[0], "\"note\":\"lost the race\"")) << c[0];
  EXPECT_TRUE(has(c.back(), "\"pvd\":\"cell\"")) << c.back();
  EXPECT_TRUE(has(c.back(), "\"errno\":0")) << c.back();
  EXPECT_TRUE(has(c.back(), "\"destination\":\"" + svc4_ + "\"") ||
              has(c.back(), "\"destination\":\"" + svc6_ + "\""))
      << c.back();
}

// The same blackhole for curl (non-blocking): raced inside curl's poll.
TEST_F(DnsFailover, CurlRacesToTheNextPvdsOwnAnswer) {
  breakRoute("blackhole", "wifi", www4_, www6_);
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, curl(10));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
  auto c = connects();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_TRUE(has(c[1], "\"pvd\":\"wifi\"")) << c[1];
  EXPECT_TRUE(has(c[1], "\"note\":\"lost the race\"")) << c[1];
  EXPECT_TRUE(has(c[2], "\"pvd\":\"cell\"")) << c[2];
  EXPECT_TRUE(has(c[2], "\"destination\":\"" + svc4_ + "\"")) << c[2];
  EXPECT_TRUE(has(c[2], "\"errno\":0")) << c[2];
}

// The same blackhole for Python's asyncio (getaddrinfo in an executor thread, a
// non-blocking connect waited for in epoll): raced inside the event loop's epoll_wait.
TEST_F(DnsFailover, AsyncioRacesToTheNextPvdsOwnAnswer) {
  breakRoute("blackhole", "wifi", www4_, www6_);
  const char* kAsyncio = R"PY(
import asyncio, socket, sys, time
async def main():
    t0 = time.monotonic()
    r, w = await asyncio.wait_for(asyncio.open_connection(sys.argv[1], 80, family=socket.AF_INET), 10)
    ms = (time.monotonic() - t0) * 1000
    w.write(b'GET / HTTP/1.0\r\n\r\n')
    body = await r.read()
    print('ok ms %d | %s' % (ms, body.decode(errors='replace').split('\r\n\r\n', 1)[-1].strip()), flush=True)
asyncio.run(main())
)PY";
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, {"/usr/bin/python3", "-c", kAsyncio, kName});
  ASSERT_TRUE(r.ok()) << r.describe();
  std::printf("asyncio: %s", r.out.c_str());
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
  auto c = connects();
  ASSERT_GE(c.size(), 2u);
  EXPECT_TRUE(has(c.back(), "\"pvd\":\"cell\"")) << c.back();
  EXPECT_TRUE(has(c.back(), "\"destination\":\"" + svc4_ + "\"")) << c.back();
  EXPECT_TRUE(has(c.back(), "\"errno\":0")) << c.back();
}

// Nothing broken: a name Wi-Fi's DNS answered, connected under the list of two, goes
// through Wi-Fi alone (issues 29/30's figure for a destination decided by its DNS tag): no
// packet through cellular, one connect line without attempts, and as many inet stream
// socket() calls as under Wi-Fi alone (no second socket), for the blocking C client (raced
// in its connect) and curl (non-blocking, raced in its poll).
// The attempt delay is 2 s: the lab's first IPv6 connect through Wi-Fi, just after the lab
// came up, once took longer than the default 250 ms (and was rightly raced).
TEST_F(DnsFailover, AWorkingFirstPvdIsNotRaced) {
  auto cell = lab_->capture("cell", "tcp port 80");
  ASSERT_TRUE(cell.running()) << cell.error();
  const std::string client = std::string(MIF_BIN_DIR) + "/blocking_client";
  const std::string policy = policyWithDelay(2000);
  const std::vector<std::string> list = {"--pvd", "wifi", "--pvd", "cell"};
  auto r = lab_->mifRun({"--policy", policy, "--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_},
                        {client, kName, "80"}, opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  std::printf("blocking C client: %s", r.out.c_str());
  EXPECT_TRUE(has(r.out, "host=www")) << r.out;
  r = lab_->mifRun({"--policy", policy, "--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, curl(5),
                   opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=www client=" + lab_->addr4("wifi"))) << r.out;
  cell.stop();
  EXPECT_EQ(cell.count(), 0u) << "an attempt went through cellular";
  auto c = connects();
  ASSERT_EQ(c.size(), 2u);
  for (const auto& l : c) {
    EXPECT_TRUE(has(l, "\"pvd\":\"wifi\"")) << l;
    EXPECT_TRUE(has(l, "\"step_name\":\"DNS tag\"")) << l;
    EXPECT_FALSE(has(l, "\"attempt\"")) << l;
  }
  EXPECT_TRUE(traceLines("health").empty());

  // The blocking client's inet stream socket() calls, counted by strace over mif run and
  // the program: under the list of two as under Wi-Fi alone.
  auto inetSockets = [&](std::vector<std::string> pvds) {
    const std::string log = dir_.path() + "/strace.txt";
    std::vector<std::string> argv = {"strace", "-f", "-qq", "-e", "trace=socket", "-o", log,
                                     mif::e2e::mifBinary(), "run", "--policy", policy};
    argv.insert(argv.end(), pvds.begin(), pvds.end());
    for (const std::string& a : {std::string("--"), client, std::string(kName), std::string("80")})
      argv.push_back(a);
    auto run = lab_->exec(argv, opts());
    EXPECT_TRUE(run.ok() && has(run.out, "host=www")) << run.describe();
    std::ifstream in(log);
    int n = 0;
    for (std::string line; std::getline(in, line);)
      n += has(line, "socket(AF_INET, SOCK_STREAM") || has(line, "socket(AF_INET6, SOCK_STREAM");
    return n;
  };
  const int one = inetSockets({"--pvd", "wifi"}), two = inetSockets(list);
  std::printf("inet stream socket() calls, blocking client to %s: --pvd wifi %d, --pvd wifi --pvd cell %d\n",
              kName, one, two);
  EXPECT_GE(one, 1);
  EXPECT_EQ(two, one);
}

// A strict pin to Wi-Fi alone: the name resolves through Wi-Fi, the connect fails as it
// would without mif, and not a packet goes through cellular (nor a query to its DNS).
TEST_F(DnsFailover, AStrictPinMakesNoAttemptElsewhere) {
  breakRoute("unreachable", "wifi", www4_, www6_);
  auto cell = lab_->capture("cell", "tcp port 80 or port 53");
  ASSERT_TRUE(cell.running()) << cell.error();
  auto r = run({"--pvd", "wifi", "--strict", "--trace=" + trace_}, curl(2));
  EXPECT_EQ(r.status, 7) << r.describe();  // CURLE_COULDNT_CONNECT
  cell.stop();
  EXPECT_EQ(cell.count(), 0u) << "a packet left through cellular under a strict Wi-Fi pin";
  auto c = connects();
  for (const auto& l : c) EXPECT_TRUE(has(l, "\"pvd\":\"wifi\"")) << l;
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());
}

}  // namespace
