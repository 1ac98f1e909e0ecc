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
// Second test (below): the portal closes again while a program runs, found by its probe.
#include <sys/stat.h>

#include <string>
#include <vector>

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

// A hotspot's portal closes again while a program runs (issue 29 item 1: "a captive
// portal found by a probe counts as failed for every name but the portal's"), on the
// `captive` lab: the hotspot's router announces its portal's API (RFC 8908, capport_api.py
// on the portal host 10.1.1.80:8080; RFC 8910 in its advertisement), the user has passed
// the portal (`mif lab portal ... auth`) and `mif probe` found it open and recorded so.
// A program under `mif run --pvd hotspot --pvd cell` reaches www.example.com through the
// hotspot. Then the session ends: the API says captive again, the hotspot's resolver
// answers every name with the portal's address and its router forwards nothing.
//
// Without `probe` the program still takes the portal for open (what was recorded when it
// started): www.example.com resolves through the hotspot and its connection reaches the
// portal's server, as a browser lands on a login page. With `probe = true` on the hotspot,
// mif run's prober asks the portal's API every second; once it says captive, the program's
// next lookup and connect of www.example.com go through cellular while the portal's own
// address (its URI's host) still goes through the hotspot.
namespace probe_captive {

// One connect per line of stdin (a name or an address, port 80): "HOST peer PEER local
// SOURCE", once the server's answer has been read.
const char* kClient = R"PY(
import socket, sys
for line in sys.stdin:
    host = line.strip()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # IPv4: names resolve to A records
    s.settimeout(5)
    s.connect((host, 80))
    s.sendall(b'GET / HTTP/1.0\r\n\r\n')
    while s.recv(4096):
        pass
    print(host, 'peer', s.getpeername()[0], 'local', s.getsockname()[0], flush=True)
    s.close()
)PY";

// Outside mif, in the node: the portal's API and announcement, the record of the portal
// found open, then two runs of the program under mif run (without and with `probe`, one
// policy each), the portal closing under each. Lines of a run start with its policy's tag.
const char* kDriver = R"PY(
import glob, os, subprocess, sys, time
(mif, rundir, router, send_ra, api, portal, lab, client) = sys.argv[1:9]
runs = sys.argv[9:]  # TAG POLICY TRACE, per run
os.makedirs(rundir)
env = dict(os.environ, MIF_RUN_DIR=rundir)
flag = rundir + '/open'
uri = 'http://%s:8080/capport-api' % portal
def in_router(argv):
    return ['ip', 'netns', 'exec', router] + argv
def until(what, cond, limit=8):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > limit:
            print('timeout waiting for', what, flush=True); return False
        time.sleep(0.02)
    return True
def published():
    text = ''
    for f in glob.glob(os.path.join(rundir, 'probe', 'run-*')):
        if not f.endswith('.tmp'):
            try: text += open(f).read()
            except OSError: pass
    return text
open(flag, 'w').close()
capport = subprocess.Popen(in_router(['/usr/bin/python3', api, portal, '8080', flag]))
until('the API', lambda: ':8080 ' in subprocess.run(in_router(['ss', '-ltnH']),
                                                    capture_output=True, text=True).stdout)
ready = rundir + '/ra-ready'
ra = subprocess.Popen(in_router(['/usr/bin/python3', send_ra, 'node', '--ready', ready,
                                 '--answer', '5', 'captive=' + uri]))
until('the advertisement', lambda: os.path.exists(ready))
# mif show hears the announcement and records it; mif probe finds the portal open.
subprocess.run([mif, 'show', '--policy', runs[1]], env=env, stdout=subprocess.DEVNULL)
r = subprocess.run([mif, 'probe', '--policy', runs[1], '--pvd', 'hotspot', '--count', '1',
                    '--timeout', '300'], env=env, capture_output=True, text=True)
print('recorded:', [l.strip() for l in r.stdout.splitlines() if 'portal of' in l], flush=True)
ra.kill(); ra.wait()
for tag, policy, trace in zip(runs[0::3], runs[1::3], runs[2::3]):
    probing = tag == 'probe'
    open(flag, 'w').close()
    subprocess.check_call([mif, 'lab', 'portal', lab, 'hotspot', 'auth'], stdout=subprocess.DEVNULL)
    p = subprocess.Popen([mif, 'run', '--policy', policy, '--pvd', 'hotspot', '--pvd', 'cell',
                          '--trace=' + trace, '--', '/usr/bin/python3', '-c', client],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    last = [0.0]
    def conn(label, host):
        # The library looks at the prober's file at most every 0.5 s, on a decision.
        if probing: time.sleep(max(0.0, last[0] + 0.6 - time.monotonic()))
        p.stdin.write(host + '\n'); p.stdin.flush()
        print(tag, label, p.stdout.readline().strip(), flush=True)
        last[0] = time.monotonic()
    conn('open', 'www.example.com')
    # The session ends.
    os.unlink(flag)
    subprocess.check_call([mif, 'lab', 'portal', lab, 'hotspot', 'unauth'], stdout=subprocess.DEVNULL)
    if probing:
        t0 = time.monotonic()
        if until('the verdict', lambda: 'hotspot ok captive' in published()):
            print('published captive after ms %d' % ((time.monotonic() - t0) * 1000), flush=True)
        # What another process can say of it: mif show lists the running program's
        # verdicts, mif explain takes its file.
        show = subprocess.run([mif, 'show', '--policy', policy], env=env, capture_output=True,
                              text=True).stdout
        print('show:', [l.strip() for l in show.splitlines() if l.startswith('    probe ')], flush=True)
        print('program pid', p.pid, flush=True)
        explain = subprocess.run([mif, 'explain', '--policy', policy, '--pvd', 'hotspot,cell',
                                  '--probes', os.path.join(rundir, 'probe', 'run-%d' % p.pid),
                                  'www.example.com:80'], env=env, capture_output=True, text=True)
        print('explain:', explain.stdout, explain.stderr, flush=True)
    conn('closed', 'www.example.com')
    conn('closed', portal)
    p.stdin.close()
    p.wait()
capport.kill(); capport.wait()
subprocess.check_call([mif, 'lab', 'portal', lab, 'hotspot', 'auth'], stdout=subprocess.DEVNULL)
)PY";

TEST(CaptivePvd, AProbeFindsThePortalClosedAgainWhileTheProgramRuns) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab("captive");
  ASSERT_TRUE(lab.ok()) << lab.error();
  TempDir dir("e2e-probe-captive");
  const std::string hotspot = lab.link("hotspot"), portal = lab.hostAddr4("portal"),
                    www = lab.hostAddr4("www");
  CommandResult r = lab.shell("sysctl -qw net.ipv6.conf." + hotspot + ".accept_ra=1");
  ASSERT_TRUE(r.ok()) << r.describe();
  const std::string dadOver =
      "for i in $(seq 100); do ip -6 addr show dev DEV scope link tentative | grep -q . || "
      "exit 0; sleep 0.05; done; exit 1";
  auto on = [&](const std::string& dev) {
    std::string s = dadOver;
    return s.replace(s.find("DEV"), 3, dev);
  };
  ASSERT_TRUE(lab.shell(on(hotspot)).ok()) << "node's link-local address still tentative";
  ASSERT_TRUE(lab.shell(on("node"), ExecOptions().in("router.hotspot")).ok());

  std::vector<std::string> argv{"/usr/bin/python3", "-c", kDriver, mif::e2e::mifBinary(),
                                dir.path() + "/run", lab.ns("router.hotspot"),
                                mif::e2e::sendRaProgram(),
                                std::string(MIF_SOURCE_DIR) + "/tests/e2e/programs/capport_api.py",
                                portal, lab.name(), kClient};
  for (const bool probing : {false, true}) {
    const std::string tag = probing ? "probe" : "plain";
    std::string text = "[pvd.hotspot]\ninterface = \"" + hotspot + "\"\ndns = [\"" +
                       lab.dns4("hotspot") + "\"]\n";
    if (probing) text += "probe = true\nprobe_interval_ms = 1000\n";
    text += "[pvd.cell]\ninterface = \"" + lab.link("cell") + "\"\ndns = [\"" + lab.dns4("cell") +
            "\"]\n";
    argv.insert(argv.end(), {tag, dir.write(tag + ".toml", text), dir.path() + "/trace-" + tag + ".jsonl"});
  }
  lab.clearLogs();
  const CommandResult out =
      lab.exec(argv, ExecOptions().withEnv("XDG_CONFIG_HOME=" + dir.path()).within(40s));
  std::printf("%s", out.out.c_str());
  ASSERT_TRUE(out.ok()) << out.describe();
  const auto has = [&](const std::string& s) { return out.out.find(s) != std::string::npos; };
  const std::string viaHotspot = " local " + lab.addr4("hotspot"), viaCell = " local " + lab.addr4("cell");
  EXPECT_TRUE(has("recorded: ['portal of hotspot: http://" + portal + ":8080/capport-api open"));

  // The problem: the portal recorded open, the program's www.example.com reaches the portal.
  EXPECT_TRUE(has("plain open www.example.com peer " + www + viaHotspot + "\n"));
  EXPECT_TRUE(has("plain closed www.example.com peer " + portal + viaHotspot + "\n"));

  // The answer: once the prober has seen the portal closed, www.example.com through
  // cellular (resolved by cellular's server), the portal still through the hotspot.
  EXPECT_TRUE(has("probe open www.example.com peer " + www + viaHotspot + "\n"));
  EXPECT_TRUE(has("published captive after"));
  EXPECT_TRUE(has("probe closed www.example.com peer " + www + viaCell + "\n"));
  EXPECT_TRUE(has("probe closed " + portal + " peer " + portal + viaHotspot + "\n"));
  const auto served = lab.served("www");
  ASSERT_EQ(served.size(), 3u);
  EXPECT_EQ(lab.pvdOfAddress(served[0].client), "hotspot");
  EXPECT_EQ(lab.pvdOfAddress(served[1].client), "hotspot");
  EXPECT_EQ(lab.pvdOfAddress(served[2].client), "cell");

  // mif show names the verdict of the running program (its PID), and mif explain, given
  // its file, the order the program tries.
  const size_t pidAt = out.out.find("program pid ");
  ASSERT_NE(pidAt, std::string::npos);
  const std::string pid = out.out.substr(pidAt + 12, out.out.find('\n', pidAt) - pidAt - 12);
  EXPECT_TRUE(has("'probe        ok portal captive age "));
  EXPECT_TRUE(has("s pid " + pid + " program python3'"));
  EXPECT_TRUE(has("  order      cell, hotspot (as tried: a captive PvD last)\n"));
  EXPECT_TRUE(has("health failed for this destination (captive: portal http://" + portal +
                  ":8080/capport-api found closed by the probe, "));
}

}  // namespace probe_captive
