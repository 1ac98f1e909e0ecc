// Active probes, the library's side (preload/src/probe_watch.h): the results file's format
// (mif/view/probe_results.h, one writer and one reader), the watch's looks at the file,
// and a probe's captive portal verdict in the captive rule (captive.h).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "captive.h"
#include "mif/view/probe_results.h"
#include "probe_watch.h"

namespace mif::preload {
namespace {

struct Seen {
  std::vector<std::string> lines;
  static void add(void* ctx, const view::ProbeLine& l) {
    static const char* verdicts[] = {"-", "ok", "poor", "down"};
    static const char* portals[] = {"-", "open", "captive"};
    static_cast<Seen*>(ctx)->lines.push_back(std::string(l.name) + " " + verdicts[int(l.verdict)] +
                                             " " + portals[int(l.portal)]);
  }
};

TEST(ProbeResults, WhatTheProberWritesTheLibraryReads) {
  std::vector<view::ProbeLine> in(3);
  in[0] = {"wifi", view::ProbeVerdict::Down, view::PortalVerdict::None};
  in[1] = {"cell", view::ProbeVerdict::Ok, view::PortalVerdict::Captive};
  in[2] = {"corp", view::ProbeVerdict::None, view::PortalVerdict::Open};
  const std::string text = view::formatProbeResults(in, "b00t/4242");
  EXPECT_EQ(text, "mif-probes 1 run b00t/4242\nwifi down -\ncell ok captive\ncorp - open\n");
  Seen s;
  ASSERT_TRUE(view::parseProbeResults(text, &Seen::add, &s));
  EXPECT_EQ(s.lines, (std::vector<std::string>{"wifi down -", "cell ok captive", "corp - open"}));
  EXPECT_EQ(view::formatProbeResults(in).substr(0, 13), "mif-probes 1\n");
}

TEST(ProbeResults, OtherVersionsAndCutLinesAreNotRead) {
  Seen s;
  EXPECT_FALSE(view::parseProbeResults("mif-probes 2\nwifi down -\n", &Seen::add, &s));
  EXPECT_FALSE(view::parseProbeResults("mif-probes 10\nwifi down -\n", &Seen::add, &s));
  EXPECT_FALSE(view::parseProbeResults("", &Seen::add, &s));
  // A later field is ignored; an unknown verdict is "not judged"; a line without its
  // newline (a buffer cut short) is not used.
  ASSERT_TRUE(view::parseProbeResults("mif-probes 1 run b/1 later\nwifi poor open 12ms\ncell maybe\n\ncorp down", &Seen::add, &s));
  EXPECT_EQ(s.lines, (std::vector<std::string>{"wifi poor open", "cell - -"}));
}

// What `mif show` and `mif explain --probes` read: the files of running programs only
// (a run that crashed left its file behind), with the PID, the program and the age.
TEST(ProbeResults, TheCommandsReadTheFilesOfRunningPrograms) {
  char tmpl[] = "/tmp/mif-probe-files-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ::waitpid(dead, nullptr, 0);
  const std::string self = dir + "/run-" + std::to_string(::getpid());
  const std::vector<view::ProbeLine> lines = {{"wifi", view::ProbeVerdict::Down, view::PortalVerdict::None},
                                              {"cell", view::ProbeVerdict::Ok, view::PortalVerdict::Captive}};
  const std::string text = view::formatProbeResults(lines, view::probeRunToken(::getpid()));
  std::string why;
  for (const std::string& f : {self, dir + "/run-" + std::to_string(dead), self + ".tmp", dir + "/other"})
    ASSERT_TRUE(view::writeProbeResults(f, text, &why)) << why;
  const std::vector<view::ProbeFile> files = view::runningProbes(dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].path, self);
  EXPECT_EQ(files[0].pid, ::getpid());
  std::string comm;
  std::getline(std::ifstream("/proc/self/comm"), comm);
  EXPECT_EQ(files[0].program, comm);
  EXPECT_GE(files[0].ageMs, 0);
  EXPECT_LT(files[0].ageMs, 60000);
  ASSERT_EQ(files[0].lines.size(), 2u);
  ASSERT_NE(files[0].of("cell"), nullptr);
  EXPECT_EQ(files[0].of("cell")->verdict, view::ProbeVerdict::Ok);
  EXPECT_EQ(files[0].of("cell")->portal, view::PortalVerdict::Captive);
  EXPECT_EQ(files[0].of("wifi")->verdict, view::ProbeVerdict::Down);
  EXPECT_EQ(files[0].of("corp"), nullptr);
  // Not the prober's format: refused, the file named.
  std::ofstream(dir + "/bad") << "wifi down -\n";
  view::ProbeFile bad;
  EXPECT_FALSE(view::readProbeFile(dir + "/bad", &bad, &why));
  EXPECT_NE(why.find(dir + "/bad: not a probe results file"), std::string::npos) << why;
  EXPECT_FALSE(view::readProbeFile(dir + "/none", &bad, &why));
  EXPECT_EQ(view::runningProbes(dir + "/none").size(), 0u);
  std::system(("rm -rf " + dir).c_str());
}

// A run that crashed with its prober (nobody removed its file) whose PID a later process
// got: that process is alive, but it is not the run, and its file is not shown; nor is a
// file that does not say which run wrote it.
TEST(ProbeResults, AFileOfAReusedPidIsNotARunningProgramsFile) {
  char tmpl[] = "/tmp/mif-probe-reused-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  int hold[2];
  ASSERT_EQ(::pipe(hold), 0);
  pid_t later[2];
  for (pid_t& p : later) {
    p = ::fork();
    if (p == 0) {  // alive until the test closes the pipe
      char c;
      ::close(hold[1]);
      (void)::read(hold[0], &c, 1);
      ::_exit(0);
    }
    ASSERT_GT(p, 0);
  }
  ::close(hold[0]);
  const std::string token = view::probeRunToken(later[0]);
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(token, view::probeRunToken(later[0])) << "the same process, the same token";
  // The earlier run's start time: one clock tick before this process's.
  const size_t slash = token.rfind('/');
  const std::string earlier = token.substr(0, slash + 1) + std::to_string(std::stoll(token.substr(slash + 1)) - 1);
  const std::vector<view::ProbeLine> lines = {{"wifi", view::ProbeVerdict::Down, view::PortalVerdict::None}};
  std::string why;
  ASSERT_TRUE(view::writeProbeResults(dir + "/run-" + std::to_string(later[0]),
                                      view::formatProbeResults(lines, earlier), &why)) << why;
  ASSERT_TRUE(view::writeProbeResults(dir + "/run-" + std::to_string(later[1]),
                                      view::formatProbeResults(lines), &why)) << why;
  ASSERT_TRUE(view::writeProbeResults(dir + "/run-" + std::to_string(::getpid()),
                                      view::formatProbeResults(lines, view::probeRunToken(::getpid())), &why)) << why;
  const std::vector<view::ProbeFile> files = view::runningProbes(dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].pid, ::getpid());
  view::ProbeFile f;
  ASSERT_TRUE(view::readProbeFile(dir + "/run-" + std::to_string(later[0]), &f, &why)) << why;
  EXPECT_EQ(f.run, earlier);
  ::close(hold[1]);
  for (pid_t p : later) ::waitpid(p, nullptr, 0);
  std::system(("rm -rf " + dir).c_str());
}

class ProbeWatchTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mif-probe-watch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/run-1";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  void write(const std::vector<view::ProbeLine>& lines) {
    std::string why;
    ASSERT_TRUE(view::writeProbeResults(path_, view::formatProbeResults(lines), &why)) << why;
  }
  std::string dir_, path_;
};

TEST_F(ProbeWatchTest, IdleUntilStartedThenLooksAtMostEveryHalfSecond) {
  ProbeWatch w;
  EXPECT_TRUE(w.idle());
  EXPECT_FALSE(w.claim(0));
  w.start(path_);
  EXPECT_FALSE(w.idle());
  write({{"wifi", view::ProbeVerdict::Down, view::PortalVerdict::None}});
  ASSERT_TRUE(w.claim(1000));
  Seen s;
  EXPECT_EQ(w.read(&Seen::add, &s), ProbeWatch::Seen::Changed);
  EXPECT_EQ(s.lines, std::vector<std::string>{"wifi down -"});
  EXPECT_FALSE(w.claim(1499));  // within kCheckMs of the last look: no system call
  ASSERT_TRUE(w.claim(1500));
  EXPECT_EQ(w.read(&Seen::add, &s), ProbeWatch::Seen::Unchanged);  // a stat, no read
  EXPECT_EQ(s.lines.size(), 1u);
  write({{"wifi", view::ProbeVerdict::Ok, view::PortalVerdict::None}});
  ASSERT_TRUE(w.claim(2000));
  EXPECT_EQ(w.read(&Seen::add, &s), ProbeWatch::Seen::Changed);
  EXPECT_EQ(s.lines.back(), "wifi ok -");
  ::unlink(path_.c_str());
  ASSERT_TRUE(w.claim(2500));
  EXPECT_EQ(w.read(&Seen::add, &s), ProbeWatch::Seen::Gone);
  ASSERT_TRUE(w.claim(3000));
  EXPECT_EQ(w.read(&Seen::add, &s), ProbeWatch::Seen::Unchanged);  // gone once
}

TEST_F(ProbeWatchTest, OneCallerClaimsEachLook) {
  ProbeWatch w;
  w.start(path_);
  EXPECT_TRUE(w.claim(10));
  EXPECT_FALSE(w.claim(10));
  // Still reading (not released by read()): the next due look is skipped, not doubled.
  EXPECT_FALSE(w.claim(600));
  Seen s;
  w.read(&Seen::add, &s);
  EXPECT_TRUE(w.claim(1200));
}

// A probe's portal verdict overrides what the view knows of the PvD's portal: captive
// sends every destination but the portal's own to the next PvD, open lets them through.
TEST(ProbeWatch, APortalVerdictOverridesTheView) {
  view::Snapshot snap;
  snap.pvds.resize(2);
  snap.pvds[0].id = 0;
  snap.pvds[1].id = 1;
  view::CaptivePortal portal;
  portal.uri = "http://192.0.2.80/api";
  portal.open = true;  // what mif knew when the program started
  snap.pvds[0].captive.push_back(portal);
  const auto www = *policy::IpAddress::parse("203.0.113.10");
  const auto portalAddr = *policy::IpAddress::parse("192.0.2.80");
  auto order = [&](const ProbeWatch* w, const policy::IpAddress& dst, std::string_view name = "") {
    policy::Decision d;
    d.pvds[d.count++] = 0;
    d.pvds[d.count++] = 1;
    demoteCaptive(&d, snap, name, dst, w);
    return std::to_string(d.pvds[0]) + std::to_string(d.pvds[1]);
  };
  ProbeWatch w;
  EXPECT_EQ(order(nullptr, www), "01");
  EXPECT_EQ(order(&w, www), "01");
  EXPECT_TRUE(w.setPortal(0, view::PortalVerdict::Captive));
  EXPECT_FALSE(w.setPortal(0, view::PortalVerdict::Captive));
  EXPECT_EQ(order(&w, www), "10");
  EXPECT_EQ(order(&w, portalAddr), "01");  // the portal itself
  EXPECT_EQ(order(&w, www, "192.0.2.80"), "01");
  snap.pvds[0].captive[0].open = false;
  EXPECT_EQ(order(nullptr, www), "10");
  w.setPortal(0, view::PortalVerdict::Open);
  EXPECT_EQ(order(&w, www), "01");
}

}  // namespace
}  // namespace mif::preload
