// The non-blocking race's next attempt made ahead of its start (issue 30's time past a
// blackhole, nb_race.cpp's preparation): in the runtime, without LD_PRELOAD (this
// executable links the hooks, so its connect, poll and close are mif's), with a fed view
// whose PvDs wifi and cell both sit on `lo`, this namespace's only interface; a TCP connect
// to 203.0.113.9 leaves through lo and is never answered (a blackhole), so each attempt
// stays pending as long as the test says. The race's steps are driven with the clock
// readings the test chooses (nbrace::advance's `now`), except where a wait is the point.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine_fixture.h"
#include "monotonic.h"
#include "nb_race.h"
#include "race_timing.h"

namespace {

using mif::enginetest::EngineTest;
using mif::enginetest::NoLookups;
using mif::enginetest::pvdsOnLo;
using mif::preload::Call;
using mif::preload::kEarlyUs;
using mif::preload::monotonicUs;
using mif::preload::Outcome;
using mif::preload::Runtime;
namespace nbrace = mif::preload::nbrace;
namespace faults = mif::sys::faults;

// wifi is PvD 0, cell 1; the delay the race's minimum, to keep the waiting test short.
const char* kPolicy = R"(
[failover]
attempt_delay_ms = 100

[pvd.wifi]
interface = "wlan0"

[pvd.cell]
interface = "wwan0"
)";
constexpr int64_t kDelayUs = 100000;

// This process's open descriptors (but the listing's own).
std::set<int> openFds() {
  std::set<int> out;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.' && std::atoi(e->d_name) != dirfd(d)) out.insert(std::atoi(e->d_name));
    }
    closedir(d);
  }
  return out;
}
// Those of `now` that `before` did not hold.
std::vector<int> added(const std::set<int>& before, const std::set<int>& now) {
  std::vector<int> out;
  for (int fd : now)
    if (before.count(fd) == 0) out.push_back(fd);
  return out;
}

sockaddr_in blackholed() { return mif::enginetest::v4("203.0.113.9", 80); }

class NbPrepare : public EngineTest {
 protected:
  NbPrepare() : EngineTest("nb_prepare_tests", kPolicy) {}
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    rt_ = install({"wifi", "cell"}, false, [] { return pvdsOnLo(2); }, &resolver_);
    ASSERT_NE(rt_, nullptr);
    faults::disarm();
  }

  // The program's non-blocking connect to the blackholed destination: EINPROGRESS, the
  // race noted by the connect hook.
  int connecting() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const sockaddr_in sa = blackholed();
    EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), -1);
    EXPECT_EQ(errno, EINPROGRESS);
    EXPECT_TRUE(nbrace::racing(fd));
    return fd;
  }

  NoLookups resolver_;
  Runtime* rt_ = nullptr;
};

TEST_F(NbPrepare, TheNextAttemptsSocketIsMadeBeforeItsStartAndOnlyConnectedAtIt) {
  const int fd = connecting();
  const std::set<int> before = openFds();
  const nbrace::Step first = nbrace::advance(fd, monotonicUs());
  ASSERT_EQ(first.state, nbrace::State::Racing);
  const int64_t start = first.nextStartUs;
  EXPECT_EQ(first.wakeUs, start - kEarlyUs) << "the wait wakes to make the socket";
  EXPECT_EQ(openFds(), before) << "nothing made while the start is further than kEarlyUs";

  const nbrace::Step prepared = nbrace::advance(fd, start - kEarlyUs / 2);
  EXPECT_EQ(prepared.state, nbrace::State::Racing);
  EXPECT_EQ(prepared.nFresh, 0u) << "made, not started";
  EXPECT_EQ(prepared.wakeUs, start) << "then the wait wakes at the start itself";
  const std::vector<int> made = added(before, openFds());
  ASSERT_EQ(made.size(), 1u) << "one socket, the next PvD's";
  char dev[IFNAMSIZ] = {};
  socklen_t dl = sizeof dev;
  ASSERT_EQ(getsockopt(made[0], SOL_SOCKET, SO_BINDTODEVICE, dev, &dl), 0);
  EXPECT_STREQ(dev, "lo") << "already pinned";

  const nbrace::Step started = nbrace::advance(fd, start);
  ASSERT_EQ(started.state, nbrace::State::Racing);
  ASSERT_EQ(started.nFresh, 1u);
  EXPECT_EQ(started.fresh[0], made[0]) << "the attempt at the delay is the socket made before it";
  EXPECT_EQ(added(before, openFds()).size(), 1u) << "and no other";

  close(fd);  // ends the race: its attempt closed too
  EXPECT_FALSE(nbrace::racing(fd));
  EXPECT_TRUE(added(before, openFds()).empty());
}

TEST_F(NbPrepare, ASocketMadeAheadIsClosedWhenTheFirstAttemptConnectsMeanwhile) {
  // The program's own attempt: one end of a socketpair whose peer's buffer is full, writable
  // (connected) once the test drains it; the decision is a TCP connect's, as the hook made it.
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  char buf[4096] = {};
  while (write(sv[0], buf, sizeof buf) > 0) {
  }
  const int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mif::preload::Endpoint e;
  e.addr = *mif::policy::IpAddress::parse("203.0.113.9");
  e.port = 80;
  e.socketFamily = AF_INET;
  const Outcome o = rt_->connectLike(Call::Connect, tcp, e);
  ASSERT_TRUE(rt_->mayRace(o));
  const sockaddr_in sa = blackholed();
  const int64_t t0 = monotonicUs();
  ASSERT_TRUE(nbrace::begin(rt_, sv[0], o, reinterpret_cast<const sockaddr*>(&sa), sizeof sa,
                            O_RDWR | O_NONBLOCK, t0));
  const std::set<int> before = openFds();
  const nbrace::Step prepared = nbrace::advance(sv[0], t0 + kDelayUs - kEarlyUs / 2);
  ASSERT_EQ(prepared.state, nbrace::State::Racing);
  EXPECT_EQ(prepared.wakeUs, t0 + kDelayUs);
  ASSERT_EQ(added(before, openFds()).size(), 1u) << "the next attempt's socket, made";

  char drain[65536];
  while (read(sv[1], drain, sizeof drain) > 0) {
  }
  const nbrace::Step won = nbrace::advance(sv[0], t0 + kDelayUs - kEarlyUs / 4);
  EXPECT_EQ(won.state, nbrace::State::Connected) << "the program's own attempt wins";
  EXPECT_FALSE(nbrace::racing(sv[0]));
  EXPECT_EQ(openFds(), before) << "the socket made ahead is closed, never connected";
  close(sv[0]);
  close(sv[1]);
  close(tcp);
}

TEST_F(NbPrepare, AWaitEndingBeforeTheStartReturnsOnItsOwnTimeoutWithTheThreadsTimerSlackBack) {
  const int fd = connecting();
  const std::set<int> before = openFds();
  // The program's own slack, not the kernel's default: mif's wait must put back this one.
  const long programs = 77777;
  ASSERT_EQ(prctl(PR_SET_TIMERSLACK, programs, 0, 0, 0), 0);
  // Its own timeout ends between the making (delay - kEarlyUs) and the start (delay).
  pollfd p{fd, POLLOUT, 0};
  const int64_t t0 = monotonicUs();
  const int r = poll(&p, 1, int((kDelayUs - kEarlyUs / 2) / 1000));
  const int64_t took = monotonicUs() - t0;
  const long after = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  const int setSlack = faults::made(faults::Call::SetTimerSlack);
  prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);  // the thread's default again
  EXPECT_EQ(r, 0) << "the program's timeout, as without mif";
  EXPECT_EQ(p.revents, 0);
  EXPECT_GE(took, kDelayUs - kEarlyUs / 2);
  EXPECT_EQ(after, programs) << "the program's timer slack, as it set it";
  EXPECT_EQ(setSlack, 2) << "lowered for the wait that ended at the making, and put back";
  EXPECT_EQ(added(before, openFds()).size(), 1u) << "the next attempt's socket, made";
  EXPECT_TRUE(nbrace::racing(fd));
  close(fd);  // the program gives up: the socket made ahead goes with the race
  EXPECT_TRUE(added(before, openFds()).empty());
}

}  // namespace
