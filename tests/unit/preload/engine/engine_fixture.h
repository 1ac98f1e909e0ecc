#pragma once
// What the engine tests share (test_engine.cpp, test_tag_failover.cpp,
// test_connect_flags.cpp, test_nb_prepare.cpp, test_view_faults.cpp): the runtime driven
// in-process through its seams, without LD_PRELOAD, in this process's own network namespace
// (tests/unit/dns/fixture.cpp's main()), where `lo` is the only interface. A test's fixture
// derives from EngineTest, naming itself and its policy; its SetUp starts with
// EngineTest::SetUp() and returns if that skipped (no namespace) or failed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fixture.h"
#include "mif/dns/resolver.h"
#include "mif/view/live_view.h"
#include "runtime.h"
#include "sys_faults.h"

namespace mif::enginetest {

inline policy::IpAddress ip(const char* s) { return *policy::IpAddress::parse(s); }

inline sockaddr_in v4(const char* addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr, &sa.sin_addr);
  return sa;
}

// `lo` as the fed view sees it: up, with carrier.
inline view::Interface loopback() {
  view::Interface lo;
  lo.index = int(if_nametoindex("lo"));
  lo.name = "lo";
  lo.kind = "loopback";
  lo.adminUp = lo.operUp = lo.carrier = true;
  return lo;
}

// A snapshot (generation 1) of `lo` with PvDs 0 .. n-1 all on it, each present with IPv4
// and no address of its own (nothing to bind: a connect's questions are the socket's).
inline std::unique_ptr<view::Snapshot> pvdsOnLo(policy::PvdId n) {
  auto s = std::make_unique<view::Snapshot>();
  s->generation = 1;
  s->interfaces.push_back(loopback());
  for (policy::PvdId id = 0; id < n; ++id) {
    view::BoundPvd b;
    b.id = id;
    b.ifindex = s->interfaces[0].index;
    b.ifname = "lo";
    b.state.present = b.state.v4 = true;
    s->states.push_back(b.state);
    s->pvds.push_back(b);
  }
  return s;
}

// A resolver with no answer to anything (the tests that only connect to addresses).
struct NoLookups : dns::Lookups {
  dns::Answer lookup(const view::Snapshot&, std::span<const policy::PvdId>, std::string_view,
                     bool, bool, std::string_view) override {
    return {};
  }
  dns::Answer reverse(const view::Snapshot&, std::span<const policy::PvdId>,
                      const policy::IpAddress&, std::string_view) override {
    return {};
  }
  dns::RawAnswer raw(const view::Snapshot&, std::span<const policy::PvdId>, std::string_view,
                     int, int, bool, std::string_view) override {
    return {};
  }
};

class EngineTest : public ::testing::Test {
 protected:
  // `name`: the runtime's app name and the stem of the policy (and trace) file's name in
  // /tmp, with this process's id; `policy`: the TOML written there.
  EngineTest(std::string name, const char* policy) : name_(std::move(name)), policy_(policy) {}

  void SetUp() override {
    MIFDNS_REQUIRE_NETNS();
    const std::string stem = "/tmp/mif-" + name_ + "." + std::to_string(getpid());
    policyFile_ = stem + ".toml";
    traceFile_ = stem + ".trace";
    std::ofstream(policyFile_) << policy_;
    std::remove(traceFile_.c_str());
  }
  void TearDown() override {
    sys::faults::disarm();
    for (int fd : fds_) close(fd);
    fds_.clear();
    preload::Runtime::installForTest(nullptr);
    if (!policyFile_.empty()) std::remove(policyFile_.c_str());
    if (!traceFile_.empty()) std::remove(traceFile_.c_str());
  }

  // Builds and installs the process's runtime from the policy file: `pins` in order, strict
  // or not, the view fed with `snapshot()` (none: the real LiveView on netlink), asking
  // `resolver` (none: the runtime's own), traced to traceFile_ when `traced`. The runtime
  // is kept to the end of the process, as the real one is.
  preload::Runtime* install(std::vector<std::string> pins, bool strict,
                            std::unique_ptr<view::Snapshot> (*snapshot)(),
                            dns::Lookups* resolver, bool traced = false) {
    preload::Runtime::Config c;
    c.layerFiles = {policyFile_};
    c.pin.pvds = std::move(pins);
    c.pin.strict = strict;
    if (traced) c.trace = traceFile_;
    c.app = name_;
    if (snapshot != nullptr)
      c.view = [snapshot](const policy::Policy& p) { return view::LiveView::fed(p, snapshot()); };
    c.resolver = resolver;
    std::string error;
    runtimes_.push_back(preload::Runtime::create(c, &error));
    EXPECT_EQ(error, "");
    preload::Runtime* rt = runtimes_.back().get();
    preload::Runtime::installForTest(rt);
    return rt;
  }

  // A TCP socket made through the socket() hook, closed at the test's end.
  int tcp(int flags = 0) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    fds_.push_back(fd);
    return fd;
  }

  std::string policyFile_, traceFile_;
  std::vector<int> fds_;

 private:
  std::string name_;
  const char* policy_;
  static inline std::vector<std::unique_ptr<preload::Runtime>> runtimes_;
};

}  // namespace mif::enginetest
