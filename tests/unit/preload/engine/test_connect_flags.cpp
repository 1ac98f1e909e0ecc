// What a raced connect asks the kernel of the program's file status flags (known_fds.h,
// issues 29/30): a socket made through the socket() hook is blocking or not as its
// SOCK_NONBLOCK said, or as the program's fcntl(F_SETFL) or ioctl(FIONBIO) on that socket
// set it since, so a connect under a list of two PvDs needs no F_GETFL; one the program
// may have changed elsewhere (such a call on any other descriptor: a dup?) is asked; and a socket made non-blocking where no hook
// could see (a raw fcntl) is still raced in the program's waits, never held in its
// connect. The same seams as test_engine.cpp (a fed view, this process in a namespace of
// its own); F_GETFL is counted through the system-call seam (sys_faults.h).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine_fixture.h"
#include "known_fds.h"
#include "nb_race.h"

namespace {

using mif::enginetest::EngineTest;
using mif::enginetest::v4;
using mif::enginetest::NoLookups;
using mif::enginetest::pvdsOnLo;
namespace faults = mif::sys::faults;
namespace nbrace = mif::preload::nbrace;
using faults::Call;

// wifi is PvD 0, cell 1; both on `lo`, this namespace's only interface, without an address
// of their own (nothing to bind: the connect's questions are the socket's).
const char* kPolicy = R"(
[pvd.wifi]
interface = "wlan0"
[pvd.cell]
interface = "wwan0"
)";


class ConnectFlags : public EngineTest {
 protected:
  ConnectFlags() : EngineTest("connect_flags_tests", kPolicy) {}
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_NE(install({"wifi", "cell"}, false, [] { return pvdsOnLo(2); }, &none_), nullptr);
    // A listener on one of lo's addresses (fixture.cpp), made with raw system calls: no
    // hook sees it, so it changes nothing the hooks know of the sockets below.
    listener_ = int(syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_GE(listener_, 0);
    sockaddr_in here = v4("198.51.100.10", 0);
    ASSERT_EQ(syscall(SYS_bind, listener_, &here, sizeof here), 0);
    ASSERT_EQ(syscall(SYS_listen, listener_, 16), 0);
    socklen_t hl = sizeof here;
    ASSERT_EQ(getsockname(listener_, reinterpret_cast<sockaddr*>(&here), &hl), 0);
    server_ = here;
  }
  void TearDown() override {
    if (listener_ >= 0) syscall(SYS_close, listener_);
    EngineTest::TearDown();
  }

  // The program's connect to the listener (a working first PvD), counting F_GETFL.
  int getflAsked(int fd) {
    faults::disarm();
    EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&server_), sizeof server_), 0)
        << std::strerror(errno);
    return faults::made(Call::Fcntl);
  }

  NoLookups none_;
  int listener_ = -1;
  sockaddr_in server_{};
};

std::string device(int fd) {
  char dev[IFNAMSIZ + 1] = {};
  socklen_t len = IFNAMSIZ;
  getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len);
  return dev;
}

// The blocking connect under a list of two is armed for the race (the send timeout set to
// the attempt delay and put back: the pin and those two are the seam's setsockopt calls)
// without an F_GETFL; the socket stays blocking with no timeout, as the program left it.
TEST_F(ConnectFlags, NoGetflForASocketSeenMadeBlocking) {
  const int fd = tcp();
  EXPECT_EQ(getflAsked(fd), 0);
  EXPECT_GE(faults::made(Call::Setsockopt), 3);
  EXPECT_EQ(device(fd), "lo");
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  timeval tv{1, 1};
  socklen_t tl = sizeof tv;
  ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl), 0);
  EXPECT_EQ(tv.tv_sec, 0);
  EXPECT_EQ(tv.tv_usec, 0);
}

// fcntl(F_SETFL) or ioctl(FIONBIO) on any descriptor (here a pipe: it could have been a
// dup of the socket) makes every socket made before it asked; one made after is known.
TEST_F(ConnectFlags, AskedAfterFcntlSetflOnAnyDescriptor) {
  const int older = tcp();
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  ASSERT_EQ(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
  const int newer = tcp();
  EXPECT_EQ(getflAsked(older), 1);
  EXPECT_EQ(getflAsked(newer), 0);

  const int beforeIoctl = tcp();
  int on = 1;
  ASSERT_EQ(ioctl(p[1], FIONBIO, &on), 0);
  EXPECT_EQ(getflAsked(beforeIoctl), 1);
  // fcntl64 and __fcntl are the same call under glibc's other names.
  const int beforeFcntl64 = tcp();
  ASSERT_EQ(fcntl64(p[0], F_SETFL, 0), 0);
  EXPECT_EQ(getflAsked(beforeFcntl64), 1);
  // Reading flags changes nothing.
  const int beforeGetfl = tcp();
  ASSERT_GE(fcntl(p[0], F_GETFL), 0);
  int n = 0;
  ASSERT_EQ(ioctl(p[0], FIONREAD, &n), 0);
  EXPECT_EQ(getflAsked(beforeGetfl), 0);
  close(p[0]);
  close(p[1]);
}

// curl's, nginx's and Python's order: socket(), then fcntl(F_SETFL, O_NONBLOCK) or
// ioctl(FIONBIO) on that socket, then connect. The new flags are recorded for that socket:
// its connect (raced in the program's waits) asks no F_GETFL, and no older socket is asked
// either.
TEST_F(ConnectFlags, FlagsTheProgramSetsOnItsOwnSocketAreKnown) {
  const int older = tcp();
  const int fd = tcp();
  ASSERT_EQ(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
  const sockaddr_in far = v4("203.0.113.7", 9);  // out through lo, never answered
  faults::disarm();
  EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&far), sizeof far), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  EXPECT_EQ(faults::made(Call::Fcntl), 0);
  EXPECT_TRUE(nbrace::racing(fd));
  EXPECT_EQ(getflAsked(older), 0);

  // Python's setblocking(True) on a socket made non-blocking: ioctl(FIONBIO, 0).
  const int py = tcp(SOCK_NONBLOCK);
  int off = 0;
  ASSERT_EQ(ioctl(py, FIONBIO, &off), 0);
  EXPECT_EQ(getflAsked(py), 0);  // blocking: connected in the call, no F_GETFL
  EXPECT_EQ(fcntl(py, F_GETFL) & O_NONBLOCK, 0);
}

// Whatever the program does to its sockets' flags through the hooks, what the library
// says it knows of a socket's flags is the kernel's F_GETFL: through a dup (no table
// tracks it) the older sockets are asked; an F_SETFL that failed changes nothing; one that
// set another flag (O_APPEND), or two at once from two threads, leaves that socket asked;
// a number made again meanwhile is the new socket's; after fork, neither process trusts it.
TEST_F(ConnectFlags, TheFlagsSaidKnownAreTheKernels) {
  namespace knownfd = mif::preload::knownfd;
  auto honest = [](int fd) {
    const int known = knownfd::statusFlags(fd);
    return known == -1 || known == fcntl(fd, F_GETFL);
  };
  const int a = tcp();
  ASSERT_EQ(fcntl(a, F_SETFL, O_NONBLOCK), 0);
  EXPECT_EQ(knownfd::statusFlags(a), O_RDWR | O_NONBLOCK);
  int on = 1;
  ASSERT_EQ(ioctl(a, FIONBIO, &(on = 0)), 0);
  EXPECT_EQ(knownfd::statusFlags(a), O_RDWR);

  // A dup shares the open file: its F_SETFL changes a's flags too.
  const int d = dup(a);
  ASSERT_GE(d, 0);
  ASSERT_EQ(fcntl(d, F_SETFL, O_NONBLOCK), 0);
  EXPECT_TRUE(honest(a));
  EXPECT_EQ(knownfd::statusFlags(a), -1);
  ASSERT_EQ(ioctl(d, FIONBIO, &(on = 0)), 0);
  EXPECT_TRUE(honest(a));
  close(d);

  // dup2 onto a known socket: the number now names another open file.
  const int b = tcp();
  const int c = tcp(SOCK_NONBLOCK);
  ASSERT_EQ(dup2(c, b), b);
  EXPECT_TRUE(honest(b));
  ASSERT_EQ(fcntl(c, F_SETFL, 0), 0);  // c's own number: recorded; b shares c's file
  EXPECT_TRUE(honest(b));
  EXPECT_EQ(knownfd::statusFlags(c), O_RDWR);

  // A failed F_SETFL (O_DIRECT on a socket: EINVAL) changes nothing; O_APPEND is not kept.
  const int e = tcp(SOCK_NONBLOCK);
  EXPECT_EQ(fcntl(e, F_SETFL, O_DIRECT), -1);
  EXPECT_EQ(knownfd::statusFlags(e), O_RDWR | O_NONBLOCK);
  ASSERT_EQ(fcntl(e, F_SETFL, O_APPEND), 0);
  EXPECT_TRUE(honest(e));
  EXPECT_EQ(knownfd::statusFlags(e), -1);

  // Two calls under way at once on one socket (one thread's, as two threads would).
  const int f = tcp();
  const uint64_t first = knownfd::settingFlags(f);
  const uint64_t second = knownfd::settingFlags(f);
  EXPECT_EQ(knownfd::statusFlags(f), -1);  // under way: asked
  knownfd::flagsSet(f, second, knownfd::Flags::NonBlocking);
  knownfd::flagsSet(f, first, knownfd::Flags::Blocking);
  EXPECT_EQ(knownfd::statusFlags(f), -1);  // which landed last is the kernel's secret

  // Closed and made again while a call on the old socket was under way.
  const int g = tcp();
  const uint64_t old = knownfd::settingFlags(g);
  knownfd::forget(g);
  knownfd::made(g, true);
  knownfd::flagsSet(g, old, knownfd::Flags::Blocking);
  EXPECT_EQ(knownfd::statusFlags(g), O_RDWR | O_NONBLOCK);
  knownfd::forget(g);

  // fork: the child's F_SETFL on the shared socket is not seen by the parent.
  const int h = tcp();
  EXPECT_EQ(knownfd::statusFlags(h), O_RDWR);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(syscall(SYS_fcntl, h, F_SETFL, O_NONBLOCK) == 0 ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(honest(h));
  ASSERT_EQ(fcntl(h, F_SETFL, O_NONBLOCK), 0);  // recorded, but h stays asked after the fork
  EXPECT_TRUE(honest(h));
  EXPECT_EQ(knownfd::statusFlags(h), -1);
}

// Made with SOCK_NONBLOCK: the connect returns EINPROGRESS at once and its race is left to
// the program's waits (nb_race.h), with no F_GETFL.
TEST_F(ConnectFlags, ASocketMadeNonBlockingIsRacedInTheWaitsNotInTheConnect) {
  const int fd = tcp(SOCK_NONBLOCK);
  const sockaddr_in far = v4("203.0.113.7", 9);  // out through lo, never answered
  faults::disarm();
  EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&far), sizeof far), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  EXPECT_EQ(faults::made(Call::Fcntl), 0);
  EXPECT_TRUE(nbrace::racing(fd));
  EXPECT_EQ(device(fd), "lo");
}

// A socket the hooks saw made blocking, made non-blocking by a raw fcntl (outside their
// sight): its connect returns at once, so the connect hook asks F_GETFL before a race
// would hold the call, and the program gets EINPROGRESS with the race in its waits. (Held,
// the call would have returned EINPROGRESS only at the program's 2 s timeout, not raced.)
TEST_F(ConnectFlags, ASocketMadeNonBlockingWhereNoHookSawIsNeverHeldInItsConnect) {
  const int witness = tcp();
  const int fd = tcp();
  const timeval tv{2, 0};  // longer than the attempt delay: a blocking connect is raced
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
  ASSERT_EQ(syscall(SYS_fcntl, fd, F_SETFL, O_RDWR | O_NONBLOCK), 0);
  const sockaddr_in far = v4("203.0.113.7", 9);
  faults::disarm();
  EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&far), sizeof far), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  EXPECT_EQ(faults::made(Call::Fcntl), 1);
  EXPECT_TRUE(nbrace::racing(fd));
  // From then on no socket made before is trusted for its flags.
  EXPECT_EQ(getflAsked(witness), 1);
}

}  // namespace
