#include "netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "mif/policy/loader.h"

namespace mif::view::test {
namespace {

std::atomic<int> gCounter{0};

// Namespaces left by a test binary that crashed: mifview-PID-N whose PID is gone.
void reapStale() {
  DIR* d = ::opendir("/run/netns");
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("mifview-", 0) != 0) continue;
    long pid = std::atol(n.c_str() + 8);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      sh("ip netns del " + n + " 2>/dev/null");
  }
  ::closedir(d);
}

}  // namespace

int sh(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

std::string capture(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

std::optional<policy::Policy> compile(const std::string& toml, const policy::Pin& pin) {
  auto loaded = policy::loadString(toml, "test.toml", policy::Layer::User);
  for (const auto& d : loaded.diagnostics) ADD_FAILURE() << d.format();
  std::vector<policy::PolicyDoc> docs;
  docs.push_back(std::move(loaded.doc));
  auto c = policy::Policy::compile(std::move(docs), pin);
  for (const auto& d : c.diagnostics)
    if (d.severity == policy::Severity::Error) ADD_FAILURE() << d.format();
  return std::move(c.policy);
}

void NetnsTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (mifview-*)";
  static bool reaped = false;
  if (!reaped) reapStale();
  reaped = true;
  std::string name = "mifview-" + std::to_string(::getpid()) + "-" + std::to_string(gCounter++);
  if (sh("ip netns add " + name) != 0) GTEST_SKIP() << "cannot create a network namespace";
  name_ = name;
  original_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int fd = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::setns(fd, CLONE_NEWNET), 0);
  ::close(fd);
  must("ip link set lo up");
}

void NetnsTest::TearDown() {
  if (original_ >= 0) {
    EXPECT_EQ(::setns(original_, CLONE_NEWNET), 0);
    ::close(original_);
    original_ = -1;
  }
  if (!name_.empty()) sh("ip netns del " + name_);
}

void NetnsTest::must(const std::string& cmd) { ASSERT_EQ(sh(cmd), 0) << cmd; }

void NetnsTest::vethPair(const std::string& a, const std::string& b, const std::string& addrs) {
  must("ip link add " + a + " type veth peer name " + b);
  must("ip link set " + a + " up && ip link set " + b + " up");
  std::istringstream in(addrs);
  std::string addr;
  while (in >> addr) {
    bool v6 = addr.find(':') != std::string::npos;
    must("ip addr add " + addr + " dev " + a + (v6 ? " nodad" : ""));
  }
}

}  // namespace mif::view::test
