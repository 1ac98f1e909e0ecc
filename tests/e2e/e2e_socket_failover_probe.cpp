// Active probes (issue 29 item 1, the policy's `probe` key), on the built-in `oneway`
// topology (oneway_pvds.h): www (203.0.113.80) is reachable through Wi-Fi and cellular.
// A long-running program under `mif run --pvd wifi --pvd cell` connects to www on demand;
// between its connects the test makes Wi-Fi's router answer www with ICMP unreachable
// (Wi-Fi's link, address and default route stay fine, so the live view sees a usable PvD),
// then mends it.
//
// Without `probe`, the first connect after the break pays an attempt through Wi-Fi before
// it reaches cellular (the race's attempt delay, 250 ms, or the failed attempt: the
// router's first ICMP error to a new peer is rate-limited, so only the SYN's retransmission
// after 1 s gets it). With `probe = "www:80"` on
// Wi-Fi, mif run's prober finds Wi-Fi down between the connects, and the program's next
// connect goes to cellular at once, in one attempt, with nothing sent through Wi-Fi; once
// the probe answers again the next connect is Wi-Fi's. The program has no extra thread and
// no child (the prober is nobody's child but init's), and the prober ends with it.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "oneway_pvds.h"

namespace {

using namespace std::chrono_literals;

// The program under mif: one connect to HOST:80 per line on stdin; prints how it went, its
// source address and how long it took. First, what it can see of the process: its threads
// and whether it has a child.
const char* kClient = R"PY(
import errno, os, socket, sys, time
try:
    os.waitpid(-1, os.WNOHANG)
    child = 'yes'
except ChildProcessError:
    child = 'no'
print('threads %d child %s' % (len(os.listdir('/proc/self/task')), child), flush=True)
while sys.stdin.readline():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t0 = time.monotonic()
    try:
        s.connect((sys.argv[1], 80))
        print('ok src %s ms %d' % (s.getsockname()[0], (time.monotonic() - t0) * 1000), flush=True)
    except OSError as e:
        print('error %s' % errno.errorcode.get(e.errno, e.errno), flush=True)
    s.close()
)PY";

// Outside mif: starts the program under mif run, connects once, breaks Wi-Fi's router for
// www, waits for the prober's verdict (with `probe`), connects, mends the router, waits
// again, connects, ends the program and checks that the prober went with it.
const char* kDriver = R"PY(
import glob, os, subprocess, sys, time
mif, policy, trace, rundir, router, www, probing, client = sys.argv[1:9]
probing = probing == '1'
env = dict(os.environ, MIF_RUN_DIR=rundir)
p = subprocess.Popen([mif, 'run', '--policy', policy, '--pvd', 'wifi', '--pvd', 'cell',
                      '--trace=' + trace, '--', '/usr/bin/python3', '-c', client, www],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
print(p.stdout.readline().strip(), flush=True)
last = [0.0]
def conn(label):
    # The library looks at the prober's file at most every 0.5 s, on a decision.
    time.sleep(max(0.0, last[0] + 0.6 - time.monotonic()))
    p.stdin.write('x\n'); p.stdin.flush()
    print(label, p.stdout.readline().strip(), flush=True)
    last[0] = time.monotonic()
def published():
    text = ''
    for f in glob.glob(os.path.join(rundir, 'probe', 'run-*')):
        if not f.endswith('.tmp'):
            try: text += open(f).read()
            except OSError: pass
    return text
def wait_for(word):
    t0 = time.monotonic()
    while word not in published():
        if time.monotonic() - t0 > 8:
            print('timeout waiting for', word, repr(published()), flush=True); return
        time.sleep(0.02)
    print('published %s after ms %d' % (word, (time.monotonic() - t0) * 1000), flush=True)
def route(op):
    subprocess.check_call(['ip', 'netns', 'exec', router, 'ip', 'route', op, 'unreachable', www + '/32'])
conn('before')
route('add')
if probing: wait_for('wifi down')
conn('broken')
route('del')
if probing: wait_for('wifi ok')
conn('mended')
p.stdin.close()
p.wait()
t0 = time.monotonic()
while published() and time.monotonic() - t0 < 3: time.sleep(0.02)
print('after exit, prober files:', len(glob.glob(os.path.join(rundir, 'probe', 'run-*'))), flush=True)
)PY";

class ProbeFailover : public mif::e2e::OnewayPvds {
 protected:
  ProbeFailover() : OnewayPvds("e2e-probe-failover", "", /*shared=*/true) {}

  void SetUp() override {
    OnewayPvds::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    www4_ = lab_->hostAddr4("www");
    ASSERT_FALSE(www4_.empty());
    wifi4_ = lab_->addr4("wifi");
  }

  mif::e2e::CommandResult drive(bool probing) {
    std::string text = "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\n";
    if (probing) text += "probe = \"" + www4_ + ":80\"\nprobe_interval_ms = 1000\n";
    text += "[pvd.cell]\ninterface = \"" + lab_->link("cell") + "\"\n";
    const std::string policy = dir_.write(probing ? "probe.toml" : "plain.toml", text);
    const std::string runDir = dir_.path() + (probing ? "/run-probe" : "/run-plain");
    auto r = lab_->exec({"/usr/bin/python3", "-c", kDriver, mif::e2e::mifBinary(), policy, trace_, runDir,
                         lab_->ns("router.wifi"), www4_, probing ? "1" : "0", kClient},
                        opts().within(40s));
    std::printf("%s", r.out.c_str());
    for (const auto& line : traceLines("connect")) std::printf("%s\n", line.c_str());
    for (const auto& line : traceLines("health")) std::printf("%s\n", line.c_str());
    return r;
  }

  // The trace's connect lines from the `n`th (0-based) connect of the program on: a
  // connect tried on several PvDs writes one line per attempt.
  std::vector<std::string> connectsOf(int n) const {
    std::vector<std::string> all = traceLines("connect"), out;
    int seen = -1;
    for (const auto& line : all) {
      if (!has(line, "\"attempt\":") || has(line, "\"attempt\":1,") || has(line, "\"attempt\":1}")) ++seen;
      if (seen == n) out.push_back(line);
    }
    return out;
  }

  std::string www4_, wifi4_;
};

// The problem: without a probe, the first connect after Wi-Fi broke pays a failed attempt
// through Wi-Fi before failover takes it to cellular.
TEST_F(ProbeFailover, WithoutAProbeTheFirstConnectAfterTheBreakPaysAFailedAttempt) {
  auto r = drive(false);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "before ok src " + wifi4_)) << r.out;
  EXPECT_TRUE(has(r.out, "broken ok src " + cell4_)) << r.out;
  // Wi-Fi first (its failure, or the attempt delay of the race, paid), then cellular.
  const std::vector<std::string> broken = connectsOf(1);
  ASSERT_EQ(broken.size(), 2u) << r.out;
  EXPECT_TRUE(has(broken[0], "\"pvd\":\"wifi\"")) << broken[0];
  EXPECT_FALSE(has(broken[0], "\"errno\":0")) << broken[0];
  EXPECT_TRUE(has(broken[1], "\"pvd\":\"cell\"")) << broken[1];
  std::printf("first connect after the break, no probe: %d ms\n", msOf(r.out, "broken ok src " + cell4_));
}

// The answer: the prober finds Wi-Fi down first; the next connect goes to cellular in one
// attempt, and back to Wi-Fi once the probe answers again.
TEST_F(ProbeFailover, AProbeMovesTheNextConnectBeforeItPaysAndBringsItBack) {
  auto r = drive(true);
  ASSERT_TRUE(r.ok()) << r.describe();
  // No thread and no child of the program's.
  EXPECT_TRUE(has(r.out, "threads 1 child no")) << r.out;
  EXPECT_TRUE(has(r.out, "before ok src " + wifi4_)) << r.out;
  EXPECT_TRUE(has(r.out, "published wifi down after")) << r.out;
  EXPECT_TRUE(has(r.out, "broken ok src " + cell4_)) << r.out;
  EXPECT_TRUE(has(r.out, "published wifi ok after")) << r.out;
  EXPECT_TRUE(has(r.out, "mended ok src " + wifi4_)) << r.out;
  EXPECT_TRUE(has(r.out, "after exit, prober files: 0")) << r.out;

  // The broken connect: one attempt, through cellular; nothing tried through Wi-Fi.
  const std::vector<std::string> broken = connectsOf(1);
  ASSERT_EQ(broken.size(), 1u) << r.out;
  EXPECT_TRUE(has(broken[0], "\"pvd\":\"cell\"")) << broken[0];
  EXPECT_TRUE(has(broken[0], "\"errno\":0")) << broken[0];
  EXPECT_FALSE(has(broken[0], "\"attempt\"")) << broken[0];
  const int ms = msOf(r.out, "broken ok src " + cell4_);
  std::printf("first connect after the break, probed: %d ms\n", ms);

  // Each change of Wi-Fi's health, with the probe as its reason.
  const std::vector<std::string> health = traceLines("health");
  ASSERT_EQ(health.size(), 2u) << r.out;
  EXPECT_TRUE(has(health[0], "\"pvd\":\"wifi\",\"from\":\"usable\",\"to\":\"failed\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"reason\":\"probe: nothing answered\"")) << health[0];
  EXPECT_FALSE(has(health[0], "retry_in_ms")) << health[0];  // until a probe succeeds
  EXPECT_TRUE(has(health[1], "\"pvd\":\"wifi\",\"from\":\"failed\",\"to\":\"usable\"")) << health[1];
  EXPECT_TRUE(has(health[1], "\"reason\":\"probe answered\"")) << health[1];
}

}  // namespace
