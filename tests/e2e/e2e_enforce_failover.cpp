// Failover under --enforce (issue 29): a static Go program (CGO_ENABLED=0: raw system
// calls and its own netpoller, out of reach of the preload library) and a static C program
// making a raw blocking connect, under `mif run --enforce --pvd wifi --pvd cell`, reach
// svc.cell.example through cellular when Wi-Fi's router refuses the connection with an ICMP
// error (tests/e2e/programs/icmp_reject.py, as in e2e_socket_failover_refused.cpp) or drops
// it without a word (a blackhole: the next PvD after the attempt delay). The supervisor
// holds the connect, runs the attempts itself and puts the winner in place of the
// program's descriptor (docs/architecture.md, "Held connects"). A strict pin fails over
// within its own list only: to Wi-Fi alone it never tries cellular.

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "oneway_pvds.h"

namespace {

using namespace std::chrono_literals;

class EnforceFailover : public mif::e2e::OnewayPvds {
 protected:
  // The attempt delay is long: what starts cellular after an ICMP refusal is the refusal,
  // not the race's timer (the blackhole test writes a policy of its own).
  EnforceFailover()
      : OnewayPvds("e2e-enf-failover", "[failover]\nattempt_delay_ms = 2000\n", /*shared=*/true) {}

  void SetUp() override {
    OnewayPvds::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    std::string why;
    go_ = mif::e2e::goProgram("enforce_httpget", &why);
    ASSERT_FALSE(go_.empty()) << why;
  }

  static std::string url(const std::string& host) {
    return "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + "/";
  }
  // A policy giving each PvD its DNS server (the lab's dnsmasq on its router), with an
  // attempt delay when `delayMs` is not 0.
  std::string withDns(int delayMs = 0) const {
    std::string text = "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\ndns = \"" +
                       lab_->dns4("wifi") + "\"\n[pvd.cell]\ninterface = \"" + lab_->link("cell") +
                       "\"\ndns = \"" + lab_->dns4("cell") + "\"\n";
    if (delayMs != 0) text += "[failover]\nattempt_delay_ms = " + std::to_string(delayMs) + "\n";
    return dir_.write("names" + std::to_string(delayMs) + ".toml", text);
  }
  // The supervisor's connect lines with `action` in the trace.
  std::vector<std::string> actions(const std::string& action) const {
    std::vector<std::string> out;
    for (const auto& l : traceLines("connect"))
      if (has(l, "\"action\":\"" + action + "\"")) out.push_back(l);
    return out;
  }
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  static int msSince(std::chrono::steady_clock::time_point t0) {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - t0)
                                .count());
  }

  std::string go_;
};

// Go dials with a non-blocking connect and waits in its own netpoller: refused without
// mif; through cellular under --enforce, at once (the attempt delay is 2 s), IPv4 and IPv6.
TEST_F(EnforceFailover, GoFailsOverWhenTheFirstPvdsRouterRejectsWithIcmp) {
  rejectOnWifi();
  for (const std::string& host : {svc4_, svc6_}) {
    auto plain = lab_->exec({go_, url(host), "3s"}, opts());
    EXPECT_FALSE(plain.ok()) << plain.describe();
    EXPECT_TRUE(has(plain.err, "connection refused")) << plain.err;

    const auto t0 = std::chrono::steady_clock::now();
    auto r = run({"--enforce", "--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_},
                 {go_, url(host), "3s"});
    const int ms = msSince(t0);
    for (const auto& l : traceLines("connect")) std::printf("%s\n", l.c_str());
    ASSERT_TRUE(r.ok()) << host << ": " << r.describe();
    EXPECT_TRUE(has(r.out, "host=cellsvc client=" + (host == svc4_ ? cell4_ : cell6_))) << r.out;
    std::printf("%s: without mif %s; with mif through cellular, whole run %d ms\n", host.c_str(),
                trimmed(plain.err).c_str(), ms);
    EXPECT_LT(ms, 1900) << "cellular started by the attempt delay, not by Wi-Fi's refusal";
  }
  auto broken = actions("attempt-path-broken");
  ASSERT_EQ(broken.size(), 2u);
  EXPECT_TRUE(has(broken[0], "\"pvd\":\"wifi\"")) << broken[0];
  auto won = actions("failed-over");
  ASSERT_EQ(won.size(), 2u);
  EXPECT_TRUE(has(won[0], "\"pvd\":\"cell\"")) << won[0];
}

// A name: Go's own resolver reads the resolv.conf --enforce gives it (the PvDs' servers, in
// order) and dials www.example.com's addresses; Wi-Fi's router rejects both. Pinned to
// Wi-Fi alone the dial is refused; with cellular next it goes through cellular.
TEST_F(EnforceFailover, GoFailsOverForANameItResolvesItself) {
  const std::string www4 = lab_->hostAddr4("www"), www6 = lab_->hostAddr6("www");
  rejectOnWifi(www4, www6);
  const std::string names = withDns();
  const std::vector<std::string> go{go_, "http://www.example.com/", "3s"};
  auto alone = lab_->mifRun({"--policy", names, "--enforce", "--pvd", "wifi"}, go, opts());
  EXPECT_FALSE(alone.ok()) << alone.describe();
  EXPECT_TRUE(has(alone.err, "connection refused")) << alone.err;
  auto r = lab_->mifRun({"--policy", names, "--enforce", "--pvd", "wifi", "--pvd", "cell"}, go, opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=www client=" + cell4_) || has(r.out, "host=www client=" + cell6_))
      << r.out;
}

// A name answered differently per PvD (the DnsFailover tests' cdn.example.com: Wi-Fi's
// server says www, cellular's cellsvc, reachable only through cellular), with Wi-Fi's
// router refusing www by ICMP, then (attempt delay 200 ms) dropping it silently. Go's own
// resolver asks the supervisor's DNS stub (the program's resolv.conf names it), which
// forwards each query through both PvDs and remembers each one's answer; the held connect
// to Wi-Fi's answer fails over to cellular's own answer for the name, through cellular.
// Before the stub, cellular's attempt went to Wi-Fi's address (host=www through cellular:
// the wrong server, checked).
TEST_F(EnforceFailover, GoFailsOverToTheNextPvdsOwnAnswerForAName) {
  const std::string www4 = lab_->hostAddr4("www"), www6 = lab_->hostAddr6("www");
  const std::vector<std::string> go{go_, "http://cdn.example.com/", "5s"};
  rejectOnWifi(www4, www6);
  auto r = lab_->mifRun({"--policy", withDns(2000), "--enforce", "--pvd", "wifi", "--pvd", "cell",
                         "--trace=" + trace_},
                        go, opts());
  for (const auto& l : traceLines("connect")) std::printf("%s\n", l.c_str());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_) || has(r.out, "host=cellsvc client=" + cell6_))
      << r.out;
  auto won = actions("failed-over");
  ASSERT_EQ(won.size(), 1u);
  EXPECT_TRUE(has(won[0], "\"pvd\":\"cell\"")) << won[0];
  EXPECT_TRUE(has(won[0], "\"destination\":\"" + svc4_ + ":80\"") ||
              has(won[0], "\"destination\":\"[" + svc6_ + "]:80\""))
      << won[0];
  TearDown();  // Wi-Fi's refusal ends; a blackhole instead

  breakRoute("blackhole", "wifi", www4, www6);
  r = lab_->mifRun({"--policy", withDns(200), "--enforce", "--pvd", "wifi", "--pvd", "cell"}, go, opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_) || has(r.out, "host=cellsvc client=" + cell6_))
      << r.out;
}

// Once Wi-Fi has failed (its back-off runs), a later connect to Wi-Fi's answer still tries
// Wi-Fi first and then cellular's own answer, as the library's DNS tag keeps its PvD first:
// demoted by the health alone, the connect would go to Wi-Fi's address through cellular
// (host=www: checked without the reordering). A static client connects twice to the
// address busybox's nslookup got through the stub.
TEST_F(EnforceFailover, ALaterConnectToTheFirstPvdsAnswerStillGetsTheNextPvdsOwn) {
  const std::string www4 = lab_->hostAddr4("www"), www6 = lab_->hostAddr6("www");
  const std::string names = withDns(2000);
  rejectOnWifi(www4, www6);
  const std::string once = std::string(MIF_BIN_DIR) + "/enforce_connect " + www4 + " 80";
  auto r = lab_->mifRun({"--policy", names, "--enforce", "--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_},
                        {"/bin/sh", "-c", "busybox nslookup cdn.example.com >/dev/null && " + once + " && " + once},
                        opts());
  for (const auto& l : traceLines("connect")) std::printf("%s\n", l.c_str());
  ASSERT_TRUE(r.ok()) << r.describe();
  const std::string through = "host=cellsvc client=" + cell4_;
  ASSERT_NE(r.out.find(through), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(through, r.out.find(through) + 1), std::string::npos) << r.out;
  EXPECT_EQ(actions("failed-over").size(), 2u);
}

// What the program sees of the stub: its resolv.conf names one loopback server, which
// answers as Wi-Fi's server (the first PvD) would, over UDP and over TCP (dig +tcp: a
// truncated answer's retry), to a static resolver too (busybox nslookup), NXDOMAIN
// included.
TEST_F(EnforceFailover, TheStubAnswersAsTheFirstPvdsServerOverUdpAndTcp) {
  const std::string names = withDns();
  const std::string script =
      "grep nameserver /etc/resolv.conf; dig +short cdn.example.com; dig +short +tcp cdn.example.com AAAA; "
      "dig nosuch.example.com | grep -o 'status: [A-Z]*'; busybox nslookup cdn.example.com";
  // Cellular is asked only when Wi-Fi fails, as the resolv.conf order would have it: a name
  // Wi-Fi answered (NXDOMAIN included) never reaches cellular's server.
  auto cell = lab_->capture("cell", "port 53");
  ASSERT_TRUE(cell.running()) << cell.error();
  auto r = lab_->mifRun({"--policy", names, "--enforce", "--pvd", "wifi", "--pvd", "cell"},
                        {"/bin/sh", "-c", script}, opts());
  cell.stop();
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(cell.count(), 0u) << "a name Wi-Fi answered was sent to cellular's server too";
  std::printf("%s", r.out.c_str());
  EXPECT_TRUE(has(r.out, "nameserver 127.53.")) << r.out;
  EXPECT_FALSE(has(r.out, "nameserver " + lab_->dns4("wifi"))) << r.out;
  const std::string www4 = lab_->hostAddr4("www"), www6 = lab_->hostAddr6("www");
  EXPECT_TRUE(has(r.out, www4 + "\n" + www6 + "\n")) << "dig over UDP, then TCP: " << r.out;
  EXPECT_TRUE(has(r.out, "status: NXDOMAIN")) << r.out;
  EXPECT_TRUE(has(r.out, "Address: " + www4)) << "busybox: " << r.out;
  EXPECT_FALSE(has(r.out, lab_->hostAddr4("cellsvc"))) << "cellular's answer reached the program";
}

// Strict: a pin to Wi-Fi alone gives the program Wi-Fi's server only (no stub: nothing to
// fail over to), and not a query nor a SYN leaves through cellular; the strict list
// [wifi, cell] fails over within itself, to cellular's own answer.
TEST_F(EnforceFailover, StrictNamesStayWithinTheStrictList) {
  const std::string www4 = lab_->hostAddr4("www"), www6 = lab_->hostAddr6("www");
  const std::string names = withDns(2000);
  const std::vector<std::string> go{go_, "http://cdn.example.com/", "3s"};
  rejectOnWifi(www4, www6);
  auto cell = lab_->capture("cell", "port 53 or tcp port 80");
  ASSERT_TRUE(cell.running()) << cell.error();
  auto alone = lab_->mifRun({"--policy", names, "--enforce", "--strict", "--pvd", "wifi"}, go, opts());
  cell.stop();
  EXPECT_FALSE(alone.ok()) << alone.describe();
  EXPECT_TRUE(has(alone.err, "connection refused")) << alone.err;
  EXPECT_EQ(cell.count(), 0u) << "a query or an attempt left through cellular";

  auto both = lab_->mifRun({"--policy", names, "--enforce", "--strict", "--pvd", "wifi", "--pvd", "cell"},
                           go, opts());
  ASSERT_TRUE(both.ok()) << both.describe();
  EXPECT_TRUE(has(both.out, "host=cellsvc client=" + cell4_) || has(both.out, "host=cellsvc client=" + cell6_))
      << both.out;
}

// A raw blocking connect (static C): the same, on the blocking path (the program's socket
// is blocking again when the winner takes its number).
TEST_F(EnforceFailover, StaticBlockingConnectFailsOverOnIcmpPortUnreachable) {
  rejectOnWifi();
  const std::string client = std::string(MIF_BIN_DIR) + "/enforce_connect";
  auto plain = lab_->exec({client, svc4_, "80"}, opts());
  EXPECT_EQ(plain.status, 2) << plain.describe();
  auto r = run({"--enforce", "--pvd", "wifi", "--pvd", "cell"}, {client, svc4_, "80"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
}

// The supervisor keeps each PvD's health for the run (the library's rules): once Wi-Fi's
// router has refused a held connect, Wi-Fi is failed for its back-off, and the program's
// next connect (here a second process of the same run) is pinned to cellular at once, with
// no attempt on Wi-Fi. Without the health, every connect tries Wi-Fi first again (two
// refused attempts).
TEST_F(EnforceFailover, ALaterConnectGoesStraightToTheNextPvdOnceTheFirstHasFailed) {
  rejectOnWifi();
  const std::string client = std::string(MIF_BIN_DIR) + "/enforce_connect";
  const std::string once = client + " " + svc4_ + " 80";
  auto r = run({"--enforce", "--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_},
               {"/bin/sh", "-c", once + " && " + once});
  for (const auto& l : traceLines("connect")) std::printf("%s\n", l.c_str());
  for (const auto& l : traceLines("health")) std::printf("%s\n", l.c_str());
  ASSERT_TRUE(r.ok()) << r.describe();
  const std::string through = "host=cellsvc client=" + cell4_;
  ASSERT_NE(r.out.find(through), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(through, r.out.find(through) + 1), std::string::npos) << r.out;
  auto broken = actions("attempt-path-broken");
  ASSERT_EQ(broken.size(), 1u) << "the second connect tried Wi-Fi again";
  EXPECT_TRUE(has(broken[0], "\"pvd\":\"wifi\"")) << broken[0];
  auto health = traceLines("health");
  ASSERT_EQ(health.size(), 1u);
  EXPECT_TRUE(has(health[0], "\"pvd\":\"wifi\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"to\":\"failed\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"by\":\"enforce\"")) << health[0];
  auto pinned = actions("pinned");
  ASSERT_EQ(pinned.size(), 2u);
  EXPECT_TRUE(has(pinned[0], "\"pvd\":\"wifi\"")) << pinned[0];
  EXPECT_TRUE(has(pinned[1], "\"pvd\":\"cell\"")) << pinned[1];
}

// Active probes under --enforce: with `probe` on Wi-Fi, mif run's prober finds Wi-Fi's
// router answering the probed service unreachable, and the supervisor (reading the run's MIF_PROBES as
// the library does) pins the static program's first connect to cellular at once: no
// attempt on Wi-Fi. Without it the connect pays an attempt through Wi-Fi first
// (checked: an attempt-path-broken line on Wi-Fi, then cellular).
TEST_F(EnforceFailover, AProbeFoundDownSendsTheFirstConnectToTheNextPvd) {
  // Unreachable (EHOSTUNREACH: the probe finds nothing answering; a port refusal would be
  // an answer to it).
  breakRoute("unreachable", "wifi", svc4_, svc6_);
  const std::string policy = dir_.write(
      "probe.toml", "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\nprobe = \"" + svc4_ +
                        ":80\"\nprobe_interval_ms = 1000\n[pvd.cell]\ninterface = \"" +
                        lab_->link("cell") + "\"\n[failover]\nattempt_delay_ms = 2000\n");
  const std::string client = std::string(MIF_BIN_DIR) + "/enforce_connect";
  // The program waits for the prober's verdict (the file MIF_PROBES names), then connects.
  const std::string script =
      "i=0; until grep -q '^wifi down' \"$MIF_PROBES\" 2>/dev/null; do i=$((i+1)); "
      "[ $i -gt 100 ] && break; sleep 0.1; done; echo waited $i; exec " + client + " " + svc4_ + " 80";
  auto r = lab_->mifRun({"--policy", policy, "--enforce", "--pvd", "wifi", "--pvd", "cell",
                         "--trace=" + trace_},
                        {"/bin/sh", "-c", script},
                        opts().withEnv("MIF_RUN_DIR=" + dir_.path() + "/run"));
  for (const auto& l : traceLines("connect")) std::printf("%s\n", l.c_str());
  for (const auto& l : traceLines("health")) std::printf("%s\n", l.c_str());
  std::printf("%s", r.out.c_str());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
  EXPECT_TRUE(actions("attempt-path-broken").empty()) << "the connect tried Wi-Fi first";
  auto pinned = actions("pinned");
  ASSERT_EQ(pinned.size(), 1u);
  EXPECT_TRUE(has(pinned[0], "\"pvd\":\"cell\"")) << pinned[0];
  bool probeLine = false;
  for (const auto& l : traceLines("health"))
    probeLine = probeLine || (has(l, "\"pvd\":\"wifi\"") && has(l, "\"to\":\"failed\"") &&
                              has(l, "probe: nothing answered") && has(l, "\"by\":\"enforce\""));
  EXPECT_TRUE(probeLine) << "no health line of the supervisor's from the probe";
}

// A strict pin fails over within its own list only: to Wi-Fi alone it is refused, with no
// packet to the destination on cellular; to [wifi, cell] (sockets pinned to Wi-Fi at their
// creation) it goes on to cellular.
TEST_F(EnforceFailover, StrictPinFailsOverOnlyWithinItsOwnList) {
  rejectOnWifi();
  auto cell = lab_->capture("cell", "host " + svc4_);
  ASSERT_TRUE(cell.running()) << cell.error();
  auto r = run({"--enforce", "--strict", "--pvd", "wifi"}, {go_, url(svc4_), "3s"});
  cell.stop();
  EXPECT_FALSE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.err, "connection refused")) << r.err;
  EXPECT_EQ(cell.count(), 0u) << "an attempt left through cellular";

  auto both = run({"--enforce", "--strict", "--pvd", "wifi", "--pvd", "cell"}, {go_, url(svc4_), "3s"});
  ASSERT_TRUE(both.ok()) << both.describe();
  EXPECT_TRUE(has(both.out, "host=cellsvc client=" + cell4_)) << both.out;
}

// Wi-Fi's router drops the SYNs without a word: Go's dial times out without mif; under
// --enforce cellular's attempt starts after the attempt delay (200 ms here) and wins.
TEST_F(EnforceFailover, GoRacesTheNextPvdWhenTheFirstIsABlackhole) {
  breakRoute("blackhole", "wifi", svc4_);
  const std::string fast = dir_.write(
      "fast.toml", "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\n[pvd.cell]\ninterface = \"" +
                       lab_->link("cell") + "\"\n[failover]\nattempt_delay_ms = 200\n");
  auto plain = lab_->exec({go_, url(svc4_), "1s"}, opts());
  EXPECT_FALSE(plain.ok()) << plain.describe();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = lab_->mifRun({"--policy", fast, "--enforce", "--pvd", "wifi", "--pvd", "cell",
                         "--trace=" + trace_},
                        {go_, url(svc4_), "3s"}, opts());
  const int ms = msSince(t0);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
  std::printf("without mif: %s; with mif through cellular, whole run %d ms\n",
              trimmed(plain.err).c_str(), ms);
  auto won = actions("failed-over");
  ASSERT_EQ(won.size(), 1u);
  EXPECT_TRUE(has(won[0], "\"pvd\":\"cell\"")) << won[0];
}

}  // namespace
