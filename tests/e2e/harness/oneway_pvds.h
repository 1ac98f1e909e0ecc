#pragma once
// The lab setup the failover and race tests share (issues 29 and 30): the built-in
// `oneway` topology, where svc.cell.example (host "cellsvc") lives behind the cellular PvD
// and www behind both; a policy naming Wi-Fi and cellular by their interfaces; a trace file;
// and a way to break one PvD's router for a destination while its link, address and default
// route stay fine (the live view still sees a usable PvD):
//   breakRoute("unreachable", ...)  the router answers ICMP unreachable (failover, issue 29)
//   breakRoute("blackhole", ...)    the router drops every packet without a word (the race)
//   rejectOnWifi(...)               Wi-Fi's router answers each SYN with ICMP port
//                                   unreachable, a firewall's REJECT (programs/icmp_reject.py)
//
// A fixture built with `shared = true` brings the lab up once for its whole suite and
// removes the routes each test broke when the test ends, so several cases cost one lab.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "lab.h"

namespace mif::e2e {

class OnewayPvds : public ::testing::Test {
 protected:
  // `tag` names the temporary directory; `policyExtra` is appended to the policy (e.g. a
  // [failover] table).
  explicit OnewayPvds(std::string tag, std::string policyExtra = "", bool shared = false)
      : dir_(tag), policyExtra_(std::move(policyExtra)), shared_(shared) {}

  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    if (shared_) {
      if (!sharedLab()) sharedLab() = std::make_unique<Lab>("oneway");
      lab_ = sharedLab().get();
    } else {
      ownLab_ = std::make_unique<Lab>("oneway");
      lab_ = ownLab_.get();
    }
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    lab_->clearLogs();
    cell4_ = lab_->addr4("cell");
    cell6_ = lab_->addr6("cell");
    svc4_ = lab_->hostAddr4("cellsvc");
    svc6_ = lab_->hostAddr6("cellsvc");
    ASSERT_FALSE(cell4_.empty());
    ASSERT_FALSE(svc4_.empty());
    trace_ = dir_.path() + "/trace.jsonl";
    policy_ = dir_.write("policy.toml", "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") +
                                            "\"\n[pvd.cell]\ninterface = \"" +
                                            lab_->link("cell") + "\"\n" + policyExtra_);
  }

  void TearDown() override {
    if (rejecter_ > 0) {
      ::kill(rejecter_, SIGTERM);
      rejecter_ = 0;
    }
    if (lab_ == nullptr) return;
    for (const auto& [pvd, family, dst] : broken_)
      lab_->exec({"ip", family, "route", "del", dst}, ExecOptions().in("router." + pvd));
    broken_.clear();
  }

  static void TearDownTestSuite() { sharedLab().reset(); }

  // KIND ("unreachable", "blackhole") routes on the PvD's router for v4 (and v6 when given).
  void breakRoute(const std::string& kind, const std::string& pvd, const std::string& v4,
                  const std::string& v6 = "") {
    for (const auto& [family, dst] : {std::pair<std::string, std::string>{"-4", v4 + "/32"},
                                      std::pair<std::string, std::string>{"-6", v6 + "/128"}}) {
      if (dst.front() == '/') continue;
      auto r = lab_->exec({"ip", family, "route", "add", kind, dst}, ExecOptions().in("router." + pvd));
      ASSERT_TRUE(r.ok()) << r.describe();
      broken_.emplace_back(pvd, family, dst);
    }
  }

  // Wi-Fi's router answers every SYN to svc.cell.example (or to v4 and v6) with ICMP port
  // unreachable: a blackhole route, and icmp_reject.py answering what it drops (stopped
  // when the test ends).
  void rejectOnWifi() { rejectOnWifi(svc4_, svc6_); }
  void rejectOnWifi(const std::string& v4, const std::string& v6) {
    using namespace std::chrono_literals;
    breakRoute("blackhole", "wifi", v4, v6);
    const std::string ready = dir_.path() + "/rejecter.ready";
    auto r = lab_->shell("/usr/bin/python3 " + icmpRejectProgram() + " node " + ready + " 30 " +
                             v4 + " " + v6 + " >" + dir_.path() + "/rejecter.log 2>&1 & echo $!",
                         opts().in("router.wifi"));
    ASSERT_TRUE(r.ok()) << r.describe();
    rejecter_ = std::stoi(r.out);
    struct stat st;
    for (int i = 0; i < 500 && ::stat(ready.c_str(), &st) != 0; ++i)
      std::this_thread::sleep_for(10ms);
    ASSERT_EQ(::stat(ready.c_str(), &st), 0) << "icmp_reject.py did not start";
  }

  CommandResult run(std::vector<std::string> mifArgs, const std::vector<std::string>& argv,
                    const ExecOptions& o) const {
    mifArgs.insert(mifArgs.begin(), {"--policy", policy_});
    return lab_->mifRun(mifArgs, argv, o);
  }
  CommandResult run(std::vector<std::string> mifArgs, const std::vector<std::string>& argv) const {
    return run(std::move(mifArgs), argv, opts());
  }
  ExecOptions opts() const {
    using namespace std::chrono_literals;
    return ExecOptions().withEnv("XDG_CONFIG_HOME=" + dir_.path()).within(20s);
  }
  // The trace's lines of one call ("connect", "health").
  std::vector<std::string> traceLines(const std::string& call) const {
    std::ifstream in(trace_);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line))
      if (line.find("\"call\":\"" + call + "\"") != std::string::npos) out.push_back(line);
    return out;
  }
  static bool has(const std::string& line, const std::string& member) {
    return line.find(member) != std::string::npos;
  }
  // The number after "PREFIX ms " in a client's output, -1 when absent.
  static int msOf(const std::string& out, const std::string& prefix) {
    const size_t at = out.find(prefix + " ms ");
    return at == std::string::npos ? -1 : std::stoi(out.substr(at + prefix.size() + 4));
  }

  TempDir dir_;
  std::string policyExtra_;
  bool shared_;
  Lab* lab_ = nullptr;
  std::string cell4_, cell6_, svc4_, svc6_, trace_, policy_;

 private:
  static std::unique_ptr<Lab>& sharedLab() {
    static std::unique_ptr<Lab> lab;
    return lab;
  }
  std::unique_ptr<Lab> ownLab_;
  int rejecter_ = 0;
  std::vector<std::tuple<std::string, std::string, std::string>> broken_;
};

}  // namespace mif::e2e
