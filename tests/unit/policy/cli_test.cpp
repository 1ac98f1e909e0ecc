// `mif check` and `mif explain` run as processes: exit codes and output.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

struct Result {
  int status = -1;
  std::string out;  // stdout and stderr together
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class Cli : public testing::Test {
 protected:
  void SetUp() override {
    if (::access(MIF_BINARY, X_OK) != 0) GTEST_SKIP() << MIF_BINARY << " not built";
    char tmpl[] = "/tmp/mif-policy-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + quote(dir_)).c_str());
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  // Runs mif with the host's own policy files kept out of the way.
  Result mif(const std::string& args, bool isolate = true) {
    std::string cmd = std::string(MIF_BINARY) + " " + args;
    if (isolate) {
      size_t space = args.find(' ');
      std::string verb = args.substr(0, space);
      cmd = std::string(MIF_BINARY) + " " + verb + " --system-policy '' --user-policy ''" +
            (space == std::string::npos ? "" : args.substr(space));
    }
    Result r;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
  }
  std::string dir_;
};

TEST_F(Cli, CheckValidExample) {
  Result r = mif("check " + std::string(MIF_SOURCE_DIR) + "/examples/policy.toml");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("policy.toml: ok"), std::string::npos) << r.out;
}

TEST_F(Cli, CheckReportsEveryProblemWithPositions) {
  std::string f = write("bad.toml", R"([pvd.corp]
interface = "tun0"
prefixes = ["10.0.0.0/33", "10.1.2.3/16"]

[[rule]]
app = "curl"
pvd = ["corp", "wfi"]
stirct = true
)");
  Result r = mif("check " + quote(f));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, f + ":3:13: error: '10.0.0.0/33': prefix length 33 is longer than the 32 bits of an IPv4 address\n" +
                       f + ":3:28: warning: '10.1.2.3/16' has host bits set; it means 10.1.0.0/16\n" +
                       f + ":7:7: error: rule names unknown PvD 'wfi'\n" +
                       f + ":8:1: error: unknown key 'stirct' in [[rule]]; did you mean 'strict'?\n");
  Result j = mif("check --json " + quote(f));
  EXPECT_EQ(j.status, 1);
  EXPECT_EQ(j.out.front(), '[');
  EXPECT_NE(j.out.find("{\"file\":\"" + f + "\",\"line\":8,\"column\":1,\"severity\":\"error\",\"message\":\"unknown key 'stirct' in [[rule]]; did you mean 'strict'?\"}"),
            std::string::npos)
      << j.out;
}

TEST_F(Cli, CheckUsage) {
  EXPECT_EQ(mif("check").status, 2);
  EXPECT_EQ(mif("check --bogus x.toml").status, 2);
  Result h = mif("check --help", false);
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("Usage: mif check"), std::string::npos);
  Result missing = mif("check " + quote(dir_ + "/nope.toml"));
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.out.find("nope.toml: error: cannot be read: No such file or directory"),
            std::string::npos)
      << missing.out;
  // A directory (it said "read error").
  ASSERT_EQ(::mkdir((dir_ + "/d.toml").c_str(), 0755), 0);
  Result dir = mif("check " + quote(dir_ + "/d.toml"));
  EXPECT_EQ(dir.status, 1);
  EXPECT_NE(dir.out.find("d.toml: error: cannot be read: Is a directory"), std::string::npos)
      << dir.out;
}

TEST_F(Cli, CheckJudgesReferencesAgainstTheMergedLayers) {
  std::string sys = write("system.toml", "[pvd.corp]\ninterface = \"tun0\"\n");
  std::string user = write("user.toml", "[[rule]]\napp = \"curl\"\npvd = \"corp\"\n");
  Result alone = mif("check " + quote(user));
  EXPECT_EQ(alone.status, 1);
  EXPECT_NE(alone.out.find(":3:7: error: rule names unknown PvD 'corp'"), std::string::npos) << alone.out;
  Result merged = mif("check --system-policy " + quote(sys) + " --user-policy '' " + quote(user), false);
  EXPECT_EQ(merged.status, 0) << merged.out;
}

TEST_F(Cli, CheckLockedOnlyInTheSystemLayer) {
  std::string f = write("locked.toml", "[pvd.corp]\ninterface = \"tun0\"\n[[rule]]\napp = \"x\"\npvd = \"corp\"\nlocked = true\n");
  Result user = mif("check " + quote(f));
  EXPECT_EQ(user.status, 1);
  EXPECT_NE(user.out.find(":6:1: error: 'locked' is only allowed in the system policy"), std::string::npos) << user.out;
  EXPECT_EQ(mif("check --layer system " + quote(f)).status, 0);
  Result asSystem = mif("check --system-policy " + quote(f) + " --user-policy '' " + quote(f), false);
  EXPECT_EQ(asSystem.status, 0) << asSystem.out;
}

TEST_F(Cli, ExplainShowsStepRuleAndLosers) {
  std::string sys = write("system.toml", R"([pvd.wifi]
interface = "wl*"
[pvd.corp]
interface = "tun0"
domains = ["corp.example"]
prefixes = ["10.0.0.0/8"]

[[rule]]
app = "mail"
pvd = "corp"
strict = true
locked = true
)");
  std::string user = write("user.toml", "[[rule]]\napp = \"mail\"\npvd = \"wifi\"\n");
  std::string ctx = "explain --system-policy " + quote(sys) + " --user-policy " + quote(user) + " --assume-usable ";
  Result r = mif(ctx + "--app mail 10.1.2.3:993", false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("result     corp (strict)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step       1 (locked rule)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("by         " + sys + ":8: locked system rule: app mail"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lost step 3 rule: user rule: app mail (" + user + ":1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lost to locked rule (" + sys + ":8)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lost step 5 PvD prefix: prefix 10.0.0.0/8"), std::string::npos) << r.out;

  Result name = mif(ctx + "--json wiki.corp.example:443", false);
  EXPECT_EQ(name.status, 0) << name.out;
  EXPECT_NE(name.out.find("\"query\":\"resolve\""), std::string::npos) << name.out;
  EXPECT_NE(name.out.find("\"step\":{\"number\":5,\"name\":\"PvD domain\"}"), std::string::npos) << name.out;

  // A strict pin to an interface that is not there: blocked, never a silent fallback.
  Result pinned = mif(ctx + "--pvd nosuch0 --strict --json 203.0.113.7:80", false);
  EXPECT_EQ(pinned.status, 0) << pinned.out;
  EXPECT_NE(pinned.out.find("\"step\":{\"number\":2,\"name\":\"strict pin\"}"), std::string::npos) << pinned.out;
}

TEST_F(Cli, ExplainTakesTheSocketsDscp) {
  std::string pol = write("dscp.toml", R"([pvd.wifi]
interface = "wl*"
[pvd.cell]
interface = "wwan0"
[[rule]]
dscp = ["EF", "VA"]
pvd = "cell"
[default]
pvd = "wifi"
)");
  std::string ctx = "explain --system-policy '' --user-policy '' --assume-usable --policy " + quote(pol) + " ";
  Result voice = mif(ctx + "--dscp ef 198.51.100.7:5060", false);
  EXPECT_EQ(voice.status, 0) << voice.out;
  EXPECT_NE(voice.out.find("connect 198.51.100.7:5060 (tcp, dscp EF)"), std::string::npos) << voice.out;
  EXPECT_NE(voice.out.find("result     cell"), std::string::npos) << voice.out;
  EXPECT_NE(voice.out.find("by         " + pol + ":5: command line rule: dscp VA,EF"), std::string::npos) << voice.out;
  Result plain = mif(ctx + "--dscp 0 198.51.100.7:5060", false);
  EXPECT_NE(plain.out.find("result     wifi"), std::string::npos) << plain.out;
  Result bad = mif(ctx + "--dscp AF44 198.51.100.7");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("--dscp 'AF44': not 0-63 or a class name"), std::string::npos) << bad.out;
}

// Issue 29: an address a PvD's DNS answered is decided by its tag, with the failover order
// after it (the rest of the precedence without the tag), as the library tries it.
TEST_F(Cli, ExplainFromDnsShowsTheFailoverOrder) {
  std::string pol = write("tag.toml", R"(
[pvd.wifi]
interface = "wl*"
[pvd.cell]
interface = "wwan0"
[pvd.corp]
interface = "tun0"
)");
  std::string ctx = "explain --system-policy '' --user-policy '' --assume-usable --policy " + quote(pol) +
                    " --pvd cell,wifi,corp ";
  Result r = mif(ctx + "--from-dns wifi 203.0.113.10:80", false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("result     wifi, cell, corp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step       4 (DNS tag)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the address is wifi's answer"), std::string::npos) << r.out;
  Result j = mif(ctx + "--json --from-dns wifi 203.0.113.10:80", false);
  EXPECT_NE(j.out.find("\"tried\":[\"wifi\",\"cell\",\"corp\"]"), std::string::npos) << j.out;
  // A strict pin decides before the tag and keeps its own list.
  Result s = mif(ctx + "--strict --from-dns corp 203.0.113.10:80", false);
  EXPECT_NE(s.out.find("result     cell, wifi, corp (strict)"), std::string::npos) << s.out;
  Result strictOne = mif("explain --system-policy '' --user-policy '' --assume-usable --policy " + quote(pol) +
                         " --pvd wifi --strict --from-dns cell 203.0.113.10:80", false);
  EXPECT_NE(strictOne.out.find("result     wifi (strict)"), std::string::npos) << strictOne.out;
  EXPECT_EQ(mif(ctx + "--from-dns nope 203.0.113.10").status, 2);
  Result name = mif(ctx + "--from-dns wifi www.example");
  EXPECT_EQ(name.status, 2);
  EXPECT_NE(name.out.find("TARGET must be an address"), std::string::npos) << name.out;
}

// A running program's probe verdicts (its MIF_PROBES file, or --probes FILE) in each
// PvD's health, and the order as the program tries it: a PvD its probe found down after
// the others, a captive one last (for all but its portal).
TEST_F(Cli, ExplainShowsAProbedPvdsVerdict) {
  std::string pol = write("probed.toml", R"(
[pvd.wifi]
interface = "wl*"
probe = "203.0.113.10:80"
[pvd.cell]
interface = "wwan0"
[pvd.corp]
interface = "tun0"
probe = true
[pvd.lab]
interface = "eth9"
probe = true
)");
  const std::string probes = write("run-1", "mif-probes 1\nwifi down -\ncorp ok captive\ncell down -\nlab poor -\n");
  std::string ctx = "explain --system-policy '' --user-policy '' --assume-usable --policy " + quote(pol) +
                    " --pvd wifi,cell,corp,lab ";
  Result r = mif(ctx + "--probes " + quote(probes) + " 203.0.113.10:80", false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("result     wifi, cell, corp, lab\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("order      cell, lab, wifi, corp (as tried: a PvD its probe found down or a captive PvD last)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("wifi: interface wl*, source chosen by the kernel, dns none known, health failed "
                       "(probe: nothing answered, 0 s ago)"),
            std::string::npos)
      << r.out;
  // cell has no `probe`: a line for it is not the program's health of it.
  EXPECT_NE(r.out.find("cell: interface wwan0, source chosen by the kernel, dns none known, health usable\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("health failed for this destination (captive: portal (announced) found closed by the "
                       "probe, 0 s ago)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("health degraded (probe: half or more lost, 0 s ago)"), std::string::npos) << r.out;
  // The program's MIF_PROBES is the default; JSON carries the verdict as read.
  ::setenv("MIF_PROBES", probes.c_str(), 1);
  Result j = mif(ctx + "--json 203.0.113.10:80", false);
  EXPECT_NE(j.out.find("\"tried\":[\"cell\",\"lab\",\"wifi\",\"corp\"]"), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"probe\":{\"verdict\":\"down\",\"portal\":null,\"age\":0}"), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"probe\":{\"verdict\":\"ok\",\"portal\":\"captive\",\"age\":0}"), std::string::npos)
      << j.out;
  // A file that cannot be read, or is not the prober's: the argument named, exit 1.
  Result missing = mif(ctx + "--probes /nonexistent/run-1 203.0.113.10:80", false);
  EXPECT_EQ(missing.status, 1) << missing.out;
  EXPECT_NE(missing.out.find("mif: explain: --probes: /nonexistent/run-1: "), std::string::npos) << missing.out;
  Result other = mif(ctx + "--probes " + quote(pol) + " 203.0.113.10:80", false);
  EXPECT_EQ(other.status, 1) << other.out;
  EXPECT_NE(other.out.find("not a probe results file"), std::string::npos) << other.out;
  // A run that ended (its MIF_PROBES gone): said on stderr, explained without it.
  ::setenv("MIF_PROBES", "/nonexistent/run-1", 1);
  Result gone = mif(ctx + "203.0.113.10:80", false);
  ::unsetenv("MIF_PROBES");
  EXPECT_EQ(gone.status, 0) << gone.out;
  EXPECT_NE(gone.out.find("MIF_PROBES: /nonexistent/run-1"), std::string::npos) << gone.out;
  EXPECT_EQ(gone.out.find("  order      "), std::string::npos) << gone.out;
}

TEST_F(Cli, ExplainErrors) {
  std::string bad = write("bad.toml", "[[rule]]\npvd = \"nope\"\n");
  Result r = mif("explain --policy " + quote(bad) + " 192.0.2.1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find(bad + ":2:7: error: rule names unknown PvD 'nope'"), std::string::npos) << r.out;
  EXPECT_EQ(mif("explain").status, 2);
  EXPECT_EQ(mif("explain host:99999").status, 2);
  EXPECT_EQ(mif("explain [2001:db8::1").status, 2);
  EXPECT_EQ(mif("explain a b").status, 2);
  Result label = mif("explain x..example:80");
  EXPECT_EQ(label.status, 2);
  EXPECT_NE(label.out.find("'x..example' has an empty label"), std::string::npos) << label.out;
  EXPECT_EQ(mif("explain .example").status, 2);
  EXPECT_EQ(mif("explain example.").status, 0);
  Result h = mif("explain --help", false);
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("Usage: mif explain"), std::string::npos);
  // With no policy at all, nothing matches: unmanaged.
  Result none = mif("explain --json [2001:db8::1]:443");
  EXPECT_EQ(none.status, 0) << none.out;
  EXPECT_NE(none.out.find("\"unmanaged\":true"), std::string::npos) << none.out;
}

// A --pvd that names no PvD (an empty variable in `--pvd "$PVD" --strict`) is refused,
// naming the argument, by every command that takes one: it silently meant no --pvd at all
// (`mif run` then ran the program unpinned, exit 0).
TEST_F(Cli, APvdListNamingNoPvdIsRefused) {
  for (const char* value : {"''", "','"}) {
    Result run = mif(std::string("run --pvd ") + value + " --strict -- true", false);
    EXPECT_EQ(run.status, 125) << run.out;
    EXPECT_NE(run.out.find("mif: --pvd '" + std::string(value[1] == ',' ? "," : "") +
                           "': names no PvD (try 'mif run --help')"),
              std::string::npos)
        << run.out;
    // show and probe would send traffic (router solicitations, probes) if the value got
    // through: an unknown argument after it stops them first (exit 2, another message).
    for (const char* cmd : {"show", "probe", "explain"}) {
      Result r = mif(std::string(cmd) + " --pvd " + value + " --no-such-option 192.0.2.1", false);
      EXPECT_EQ(r.status, 2) << cmd << ": " << r.out;
      EXPECT_NE(r.out.find(std::string("mif: ") + cmd + ": --pvd '"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("names no PvD"), std::string::npos) << r.out;
    }
  }
  EXPECT_EQ(mif("run --pvd lo -- true", false).status, 0);
}

// show and probe take --dns as a list, as run and explain do (they refused "a,b" as "not
// an IP address"); a bad element is named. An unknown option after it stops them before
// they would send anything.
TEST_F(Cli, ShowAndProbeTakeADnsList) {
  for (const char* cmd : {"show", "probe"}) {
    Result r = mif(std::string(cmd) + " --pvd lo --dns 192.0.2.1,2001:db8::1 --no-such-option", false);
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_NE(r.out.find("--no-such-option: unknown"), std::string::npos) << r.out;
    r = mif(std::string(cmd) + " --pvd lo --dns 192.0.2.1,x --no-such-option", false);
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_NE(r.out.find(std::string("mif: ") + cmd + ": --dns x: not an IP address"), std::string::npos)
        << r.out;
  }
}

// A --trace file that cannot be written is an error naming the argument, before the
// program runs: the library opens it inside the program, where it could only fail
// silently (it did: exit 0, no trace).
TEST_F(Cli, RunRefusesATraceFileItCannotWrite) {
  const std::string missing = dir_ + "/no-such-dir/trace";
  Result r = mif("run --pvd lo --trace=" + quote(missing) + " -- true", false);
  EXPECT_EQ(r.status, 125) << r.out;
  EXPECT_NE(r.out.find("mif: --trace=" + missing + ": No such file or directory"), std::string::npos)
      << r.out;
  r = mif("run --pvd lo --trace= -- true", false);
  EXPECT_EQ(r.status, 125) << r.out;
  EXPECT_NE(r.out.find("mif: --trace=: needs a FILE"), std::string::npos) << r.out;
  const std::string ok = dir_ + "/trace";
  r = mif("run --pvd lo --trace=" + quote(ok) + " -- true", false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(::access(ok.c_str(), W_OK), 0);
}

}  // namespace
