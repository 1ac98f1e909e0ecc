// The non-blocking race's per-descriptor table (nb_race.h) and the poll translation
// (wait_race.h), without LD_PRELOAD and without a network: the "connecting" socket is one
// end of an AF_UNIX socketpair whose peer's buffer is full (never writable until the test
// drains it), so the race's first attempt is pending exactly as long as the test says.
// The runtime is the fail-closed instance (no view, no trace): the decisions here list one
// PvD, so no fresh attempt ever starts.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/select.h>

#include <algorithm>
#include <chrono>
#include <gtest/gtest.h>

#include "monotonic.h"
#include "nb_race.h"
#include "runtime.h"
#include "wait_race.h"

namespace {

using namespace mif::preload;

// A non-blocking socket that is not writable until drain() (its peer never reads).
class Pending {
 public:
  Pending() {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    fd_ = sv[0];
    peer_ = sv[1];
    char buf[4096] = {};
    while (write(fd_, buf, sizeof buf) > 0) {
    }
  }
  ~Pending() {
    close(fd_);
    close(peer_);
  }
  void drain() const {
    char buf[65536];
    while (read(peer_, buf, sizeof buf) > 0) {
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1, peer_ = -1;
};

bool beginOn(int fd) {
  Outcome o;
  o.decided = true;
  o.call = Call::Connect;
  o.decision.count = 1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  return nbrace::begin(Runtime::failClosedInstance(), fd, o, reinterpret_cast<sockaddr*>(&sa),
                       sizeof sa, O_RDWR | O_NONBLOCK, monotonicUs());
}

TEST(NbRace, NotedRacesAreCountedAndEndedOnce) {
  Pending p;
  EXPECT_FALSE(nbrace::pending());
  EXPECT_FALSE(nbrace::racing(p.fd()));
  ASSERT_TRUE(beginOn(p.fd()));
  EXPECT_TRUE(nbrace::pending());
  EXPECT_TRUE(nbrace::racing(p.fd()));
  EXPECT_FALSE(beginOn(p.fd())) << "one race per descriptor";
  const nbrace::Step st = nbrace::advance(p.fd(), monotonicUs());
  EXPECT_EQ(st.state, nbrace::State::Racing);
  EXPECT_TRUE(st.ownLive);
  EXPECT_EQ(st.nFresh, 0u);
  EXPECT_EQ(st.nextStartUs, INT64_MAX) << "a decision of one PvD starts nothing more";
  nbrace::end(p.fd());
  EXPECT_FALSE(nbrace::racing(p.fd()));
  EXPECT_FALSE(nbrace::pending());
  nbrace::end(p.fd());  // twice: nothing
  EXPECT_FALSE(nbrace::pending());
}

TEST(NbRace, DescriptorsBeyondTheTableAreNotRaced) {
  EXPECT_FALSE(beginOn(nbrace::kSlots));
  EXPECT_FALSE(beginOn(-1));
  EXPECT_FALSE(nbrace::pending());
}

TEST(NbRace, TheProgramsOwnSocketConnectingEndsTheRace) {
  Pending p;
  ASSERT_TRUE(beginOn(p.fd()));
  EXPECT_EQ(nbrace::settleNow(p.fd(), monotonicUs()).state, nbrace::State::Racing);
  p.drain();
  EXPECT_EQ(nbrace::settleNow(p.fd(), monotonicUs()).state, nbrace::State::Connected);
  EXPECT_FALSE(nbrace::racing(p.fd()));
  EXPECT_FALSE(nbrace::pending());
}

TEST(NbRace, CloseRangeAndForkForgetRaces) {
  Pending a, b;
  ASSERT_TRUE(beginOn(a.fd()));
  ASSERT_TRUE(beginOn(b.fd()));
  const unsigned lo = static_cast<unsigned>(std::min(a.fd(), b.fd()));
  nbrace::endRange(lo, lo);
  EXPECT_EQ(nbrace::racing(a.fd()), a.fd() != static_cast<int>(lo));
  EXPECT_EQ(nbrace::racing(b.fd()), b.fd() != static_cast<int>(lo));
  EXPECT_TRUE(nbrace::pending());
  nbrace::forgetAfterFork();
  EXPECT_FALSE(nbrace::racing(a.fd()));
  EXPECT_FALSE(nbrace::racing(b.fd()));
  EXPECT_FALSE(nbrace::pending());
}

TEST(NbRace, EpollRegistrationsOfARacingNumberAreRemembered) {
  Pending p;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  const int other = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_TRUE(beginOn(p.fd()));
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLET;
  ev.data.u64 = 0x1234;
  EXPECT_EQ(nbrace::noteEpoll(p.fd(), ep, EPOLL_CTL_ADD, &ev), -1) << "the real call is made";
  nbrace::EpollRacing r[4];
  ASSERT_EQ(nbrace::racingIn(ep, r, 4), 1u);
  EXPECT_EQ(r[0].fd, p.fd());
  EXPECT_EQ(r[0].data, 0x1234u);
  EXPECT_EQ(nbrace::racingIn(other, r, 4), 0u);
  ev.data.u64 = 0x5678;
  nbrace::noteEpoll(p.fd(), ep, EPOLL_CTL_MOD, &ev);
  ASSERT_EQ(nbrace::racingIn(ep, r, 4), 1u);
  EXPECT_EQ(r[0].data, 0x5678u);
  nbrace::noteEpoll(p.fd(), ep, EPOLL_CTL_DEL, nullptr);
  EXPECT_EQ(nbrace::racingIn(ep, r, 4), 0u);
  nbrace::end(p.fd());
  close(ep);
  close(other);
}

// The translation: a dead first attempt is masked, fresh sockets are appended for POLLOUT;
// what the program sees has nothing of a descriptor still racing, and POLLERR added for
// one whose race failed.
TEST(NbRace, PollTranslation) {
  const pollfd prog[3] = {{5, POLLIN, 0}, {7, POLLOUT | POLLIN, 0}, {9, POLLOUT, 0}};
  const int fresh7[2] = {20, 21};
  const nbrace::RacingEntry racing[2] = {{1, false, 2, fresh7}, {2, true, 0, nullptr}};
  pollfd out[5];
  ASSERT_EQ(nbrace::buildWait(prog, 3, racing, 2, out), 5u);
  EXPECT_EQ(out[0].fd, 5);
  EXPECT_EQ(out[1].fd, -1) << "its first attempt is dead: not waited on";
  EXPECT_EQ(out[2].fd, 9);
  EXPECT_EQ(out[2].events, POLLOUT);
  EXPECT_EQ(out[3].fd, 20);
  EXPECT_EQ(out[3].events, POLLOUT);
  EXPECT_EQ(out[4].fd, 21);

  pollfd fds[3] = {prog[0], prog[1], prog[2]};
  const pollfd kernel[3] = {{5, POLLIN, POLLIN}, {7, POLLOUT, POLLOUT}, {9, POLLOUT, POLLHUP}};
  const nfds_t still[1] = {1};
  const nfds_t failed[1] = {2};
  EXPECT_EQ(nbrace::reportWait(fds, 3, kernel, still, 1, failed, 1), 2);
  EXPECT_EQ(fds[0].revents, POLLIN);
  EXPECT_EQ(fds[1].revents, 0) << "still racing: nothing to see yet";
  EXPECT_EQ(fds[2].revents, POLLHUP | POLLERR);
}

// A wait holding a racing descriptor: the program's other descriptors are reported as the
// kernel reports them, the racing one not before its race ends, and the program's timeout
// is kept.
TEST(NbRace, AWaitReportsTheProgramsDescriptorsAndKeepsItsTimeout) {
  Pending p;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_TRUE(beginOn(p.fd()));
  pollfd fds[2] = {{p.fd(), POLLOUT, 0}, {sv[0], POLLIN, 0}};
  bool handled = false;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(nbrace::pollRacing(fds, 2, 60000, nullptr, &handled), 0);
  EXPECT_TRUE(handled);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(60));
  ASSERT_EQ(write(sv[1], "x", 1), 1);
  EXPECT_EQ(nbrace::pollRacing(fds, 2, -1, nullptr, &handled), 1);
  EXPECT_EQ(fds[0].revents, 0);
  EXPECT_EQ(fds[1].revents, POLLIN);
  p.drain();
  EXPECT_EQ(nbrace::pollRacing(fds, 2, -1, nullptr, &handled), 2);
  EXPECT_EQ(fds[0].revents & POLLOUT, POLLOUT);
  EXPECT_FALSE(nbrace::racing(p.fd())) << "connected: the race is over";
  // Without a race the wait is not ours.
  EXPECT_EQ(nbrace::pollRacing(fds, 2, 0, nullptr, &handled), 0);
  EXPECT_FALSE(handled);
  close(sv[0]);
  close(sv[1]);
}

// select goes through the same wait and back, as the kernel maps it: the racing descriptor
// is not writable until its race ends, the others are reported, the time left written back.
TEST(NbRace, SelectIsTranslatedBothWays) {
  Pending p;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_TRUE(beginOn(p.fd()));
  ASSERT_EQ(write(sv[1], "x", 1), 1);
  const int nfds = std::max(p.fd(), sv[0]) + 1;
  fd_set r, w;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(sv[0], &r);
  FD_SET(p.fd(), &w);
  bool handled = false;
  int64_t left = -1;
  EXPECT_EQ(nbrace::selectRacing(nfds, &r, &w, nullptr, 5000000, nullptr, &left, &handled), 1);
  EXPECT_TRUE(handled);
  EXPECT_TRUE(FD_ISSET(sv[0], &r));
  EXPECT_FALSE(FD_ISSET(p.fd(), &w));
  EXPECT_GT(left, 4000000);
  p.drain();
  FD_ZERO(&r);
  FD_SET(p.fd(), &w);
  EXPECT_EQ(nbrace::selectRacing(nfds, &r, &w, nullptr, -1, nullptr, nullptr, &handled), 1);
  EXPECT_TRUE(FD_ISSET(p.fd(), &w));
  EXPECT_FALSE(nbrace::pending());
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
