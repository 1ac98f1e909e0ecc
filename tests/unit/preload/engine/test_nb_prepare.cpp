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
#include "mif/sys/calls.h"
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

// The program's own attempt for tests that choose when it connects: one end of a
// socketpair whose peer's buffer is full, writable (connected, as far as a poll for POLLOUT
// can tell) once the test drains the peer; the decision a TCP connect's, as the hook makes
// it, and the race noted as the connect hook notes it, with `flags` as the program's file
// status flags and `dst` as its destination.
struct OwnAttempt {
  int sv[2] = {-1, -1};
  int tcp = -1;
  ~OwnAttempt() {
    for (int fd : {sv[0], sv[1], tcp})
      if (fd >= 0) close(fd);
  }
  void drain() {
    char buf[65536];
    while (read(sv[1], buf, sizeof buf) > 0) {
    }
  }
};
void beginOwn(Runtime* rt, OwnAttempt* a, const sockaddr_in& dst, int flags, int64_t t0) {
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, a->sv), 0);
  char buf[4096] = {};
  while (write(a->sv[0], buf, sizeof buf) > 0) {
  }
  a->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mif::preload::Endpoint e;
  e.addr = *mif::policy::IpAddress::parse("203.0.113.9");
  e.port = 80;
  e.socketFamily = AF_INET;
  const Outcome o = rt->connectLike(Call::Connect, a->tcp, e);
  ASSERT_TRUE(rt->mayRace(o));
  ASSERT_TRUE(nbrace::begin(rt, a->sv[0], o, reinterpret_cast<const sockaddr*>(&dst), sizeof dst,
                            flags, t0));
}

TEST_F(NbPrepare, AStepTakesWhatTheProgramsWaitSawForItsPollUnlessAnotherStepCameBetween) {
  OwnAttempt own;
  const int64_t t0 = monotonicUs();
  beginOwn(rt_, &own, blackholed(), O_RDWR | O_NONBLOCK, t0);
  const int fd = own.sv[0];
  const nbrace::Step waited = nbrace::advance(fd, t0 + 1000);
  ASSERT_EQ(waited.state, nbrace::State::Racing);
  ASSERT_TRUE(waited.ownLive);
  own.drain();  // the first attempt completes after the wait looked: the wait saw nothing

  nbrace::Seen seen;
  seen.gen = waited.gen;
  const nbrace::Step next = nbrace::advance(fd, t0 + 2000, &seen);
  EXPECT_EQ(next.state, nbrace::State::Racing) << "what the wait saw stands for the step's poll";
  nbrace::Seen stale;
  stale.gen = waited.gen;  // the step above came between: this one polls
  const nbrace::Step polled = nbrace::advance(fd, t0 + 3000, &stale);
  EXPECT_EQ(polled.state, nbrace::State::Connected) << "a Seen of an earlier step is not taken";
  EXPECT_FALSE(nbrace::racing(fd));
}

TEST_F(NbPrepare, AWinnerSeenByTheWaitIsHandedOverWithTheProgramsFlagsAndNoFcntlItDoesNotNeed) {
  // The destination: a listener on 127.0.0.1 (the fresh attempts are pinned to lo).
  const int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in srv{};
  srv.sin_family = AF_INET;
  srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof srv;
  ASSERT_EQ(bind(lst, reinterpret_cast<const sockaddr*>(&srv), sizeof srv), 0);
  ASSERT_EQ(listen(lst, 4), 0);
  ASSERT_EQ(getsockname(lst, reinterpret_cast<sockaddr*>(&srv), &sl), 0);
  for (const int flags : {O_RDWR | O_NONBLOCK, O_RDWR | O_NONBLOCK | O_APPEND}) {
    SCOPED_TRACE(flags);
    // The program's own attempt: a TCP socket pinned by the connect's decision, connecting
    // (the system call itself, no hook) to the blackholed address, never answered; the
    // race's destination the listener's, which the fresh attempt reaches through lo.
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mif::preload::Endpoint e;
    e.addr = *mif::policy::IpAddress::parse("203.0.113.9");
    e.port = 80;
    e.socketFamily = AF_INET;
    const Outcome o = rt_->connectLike(Call::Connect, fd, e);
    ASSERT_TRUE(rt_->mayRace(o));
    const sockaddr_in hole = blackholed();
    ASSERT_EQ(mif::sys::raw::connect(fd, reinterpret_cast<const sockaddr*>(&hole), sizeof hole), -1);
    ASSERT_EQ(errno, EINPROGRESS);
    const int64_t t0 = monotonicUs();
    ASSERT_TRUE(nbrace::begin(rt_, fd, o, reinterpret_cast<const sockaddr*>(&srv), sizeof srv,
                              flags, t0));
    ASSERT_EQ(fcntl(fd, F_SETFL, flags), 0);  // the program's flags, as it set them
    ASSERT_EQ(nbrace::advance(fd, t0 + kDelayUs - kEarlyUs / 2).state, nbrace::State::Racing);  // made
    const nbrace::Step started = nbrace::advance(fd, t0 + kDelayUs);
    ASSERT_EQ(started.state, nbrace::State::Racing);
    ASSERT_EQ(started.nFresh, 1u);
    pollfd p{started.fresh[0], POLLOUT, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1);  // the program's wait: the fresh attempt connected
    nbrace::Seen seen;
    seen.gen = started.gen;
    seen.own = 0;
    seen.fresh[0] = p.revents;
    const int fcntls = faults::made(faults::Call::Fcntl);
    const nbrace::Step won = nbrace::advance(fd, t0 + kDelayUs + 100, &seen);
    const int handOverFcntls = faults::made(faults::Call::Fcntl) - fcntls;
    ASSERT_EQ(won.state, nbrace::State::Connected);
    EXPECT_EQ(fcntl(fd, F_GETFL), flags) << "the program's flags on the connected number";
    sockaddr_in peer{};
    socklen_t pl = sizeof peer;
    ASSERT_EQ(getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl), 0) << "a TCP socket now";
    EXPECT_EQ(peer.sin_port, srv.sin_port);
    // F_GETFD (the close-on-exec flag dup3 keeps), and F_SETFL only for flags beyond the
    // O_NONBLOCK the fresh socket was made with.
    EXPECT_EQ(handOverFcntls, flags == (O_RDWR | O_NONBLOCK) ? 1 : 2);
    close(fd);
  }
  close(lst);
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
  EXPECT_EQ(setSlack, 0) << "a wait that ends at the making, not at a start, keeps the program's slack";
  EXPECT_EQ(added(before, openFds()).size(), 1u) << "the next attempt's socket, made";
  EXPECT_TRUE(nbrace::racing(fd));
  close(fd);  // the program gives up: the socket made ahead goes with the race
  EXPECT_TRUE(added(before, openFds()).empty());
}

}  // namespace
