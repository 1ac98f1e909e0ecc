// What the library knows of a program's socket without asking the kernel
// (preload/src/known_fds.h): a socket is known only from the socket() hook on, loses what
// is known when the program changes that kind of fact on any socket made before (it may be
// a dup of this one), and after fork() in both processes; file status flags set on the
// socket's own number are recorded for it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "known_fds.h"

namespace mif::preload {
namespace {

TEST(KnownFds, ASocketSeenMadeIsUnboundOnceAndNothingIsKnownOfOneNeverSeen) {
  knownfd::made(40, false);
  EXPECT_FALSE(knownfd::takeUnbound(41));  // never seen: asked of the kernel
  EXPECT_TRUE(knownfd::defaultSendTimeout(40));
  EXPECT_TRUE(knownfd::notBound(40));
  EXPECT_TRUE(knownfd::takeUnbound(40));
  // Bound to a device by that connect: a repeated connect asks the kernel.
  EXPECT_FALSE(knownfd::takeUnbound(40));
  EXPECT_TRUE(knownfd::defaultSendTimeout(40));  // the rest still holds
  knownfd::forget(40);
  EXPECT_FALSE(knownfd::defaultSendTimeout(40));
  EXPECT_FALSE(knownfd::takeUnbound(-1));
  EXPECT_FALSE(knownfd::takeUnbound(1 << 20));  // beyond the table: asked
}

TEST(KnownFds, TheProgramChangingAFactOnAnySocketMakesEveryOlderSocketAskedForThatFact) {
  knownfd::made(42, false);
  knownfd::programSetOption(SOL_SOCKET, SO_BINDTODEVICE);  // perhaps through a dup of 42
  knownfd::made(43, false);
  EXPECT_FALSE(knownfd::takeUnbound(42));
  EXPECT_TRUE(knownfd::defaultSendTimeout(42));  // another kind of fact: still known
  EXPECT_TRUE(knownfd::takeUnbound(43));         // made after: cannot have been bound

  knownfd::made(44, false);
  knownfd::programSetOption(SOL_SOCKET, SO_SNDTIMEO);
  EXPECT_FALSE(knownfd::defaultSendTimeout(44));
  EXPECT_TRUE(knownfd::notBound(44));
  knownfd::programSetOption(SOL_SOCKET, SO_BINDTOIFINDEX);
  EXPECT_FALSE(knownfd::takeUnbound(44));

  // Options that do not bear on a connect's questions change nothing.
  knownfd::made(45, false);
  knownfd::programSetOption(SOL_SOCKET, SO_KEEPALIVE);
  knownfd::programSetOption(IPPROTO_TCP, SO_BINDTODEVICE);  // same number, another level
  EXPECT_TRUE(knownfd::defaultSendTimeout(45));
  EXPECT_TRUE(knownfd::notBound(45));
  // A bind (or listen, or mif_socket_set_pvd) may bring a device binding chosen by mif.
  knownfd::programBound();
  EXPECT_FALSE(knownfd::notBound(45));
  EXPECT_FALSE(knownfd::takeUnbound(45));
  EXPECT_TRUE(knownfd::defaultSendTimeout(45));
  knownfd::forgetRange(40, 50);
}

// The flags the library answers for a socket it saw made are the kernel's own F_GETFL.
TEST(KnownFds, TheFlagsAreWhatTheKernelSays) {
  struct Made {
    int domain, type;
  };
  for (const Made m : {Made{AF_INET, SOCK_STREAM}, Made{AF_INET, SOCK_STREAM | SOCK_NONBLOCK},
                       Made{AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC},
                       Made{AF_INET6, SOCK_STREAM | SOCK_CLOEXEC}}) {
    const int fd = socket(m.domain, m.type, 0);
    ASSERT_GE(fd, 0);
    knownfd::made(fd, (m.type & SOCK_NONBLOCK) != 0);
    EXPECT_EQ(knownfd::statusFlags(fd), fcntl(fd, F_GETFL)) << m.domain << " " << m.type;
    knownfd::forget(fd);
    EXPECT_EQ(knownfd::statusFlags(fd), -1);
    close(fd);
  }
}

TEST(KnownFds, FlagsChangedOnAnyDescriptorMakeEveryOlderSocketAskedForThem) {
  knownfd::made(48, false);
  knownfd::made(49, true);
  EXPECT_EQ(knownfd::statusFlags(48), O_RDWR);
  EXPECT_EQ(knownfd::statusFlags(49), O_RDWR | O_NONBLOCK);
  knownfd::programSetFlags();  // fcntl(F_SETFL) or ioctl(FIONBIO) on some descriptor
  EXPECT_EQ(knownfd::statusFlags(48), -1);
  EXPECT_EQ(knownfd::statusFlags(49), -1);
  EXPECT_TRUE(knownfd::defaultSendTimeout(48));  // another kind of fact: still known
  EXPECT_TRUE(knownfd::notBound(49));
  knownfd::made(50, true);
  EXPECT_EQ(knownfd::statusFlags(50), O_RDWR | O_NONBLOCK);  // made after: known
  knownfd::programSetFlags();
  knownfd::programSetFlags();  // nothing made since: no store, still one answer
  EXPECT_EQ(knownfd::statusFlags(50), -1);
  knownfd::made(51, false);
  EXPECT_EQ(knownfd::statusFlags(51), O_RDWR);
  EXPECT_TRUE(knownfd::takeUnbound(51));  // the device bit and the flags bit stay apart
  EXPECT_EQ(knownfd::statusFlags(51), O_RDWR);
  knownfd::forgetRange(48, 51);
}

// The program's F_SETFL/FIONBIO on a socket seen made is recorded for that socket alone
// (asked while the call is under way); on any other descriptor (a dup of a socket?), every
// older socket is asked.
TEST(KnownFds, FlagsSetOnASocketSeenMadeAreItsOwnAndOnAnyOtherMakeEveryOlderSocketAsked) {
  knownfd::made(52, false);
  knownfd::made(53, true);
  const uint64_t token = knownfd::settingFlags(53);
  ASSERT_NE(token, 0u);
  EXPECT_EQ(knownfd::statusFlags(53), -1);  // under way
  knownfd::flagsSet(53, token, knownfd::Flags::Blocking);
  EXPECT_EQ(knownfd::statusFlags(53), O_RDWR);
  EXPECT_EQ(knownfd::statusFlags(52), O_RDWR);  // not asked: nothing else changed
  knownfd::flagsSet(52, knownfd::settingFlags(52), knownfd::Flags::Unchanged);  // it failed
  EXPECT_EQ(knownfd::statusFlags(52), O_RDWR);
  EXPECT_TRUE(knownfd::takeUnbound(52));  // the other facts stay
  knownfd::flagsSet(52, knownfd::settingFlags(52), knownfd::Flags::NonBlocking);
  EXPECT_EQ(knownfd::statusFlags(52), O_RDWR | O_NONBLOCK);
  EXPECT_FALSE(knownfd::takeUnbound(52));  // and the taken bit with them

  EXPECT_EQ(knownfd::settingFlags(54), 0u);  // never seen made: perhaps a dup of 52 or 53
  EXPECT_EQ(knownfd::statusFlags(52), -1);
  EXPECT_EQ(knownfd::statusFlags(53), -1);
  knownfd::forgetRange(52, 54);
}

TEST(KnownFds, AfterForkNeitherProcessTrustsWhatItKnewOfTheSocketsTheyNowShare) {
  knownfd::made(46, false);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const bool known = knownfd::takeUnbound(46) || knownfd::defaultSendTimeout(46) ||
                       knownfd::statusFlags(46) >= 0;
    knownfd::made(47, false);  // a socket of the child's own
    _exit(known ? 1 : knownfd::takeUnbound(47) ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(knownfd::takeUnbound(46));
  EXPECT_FALSE(knownfd::notBound(46));
  EXPECT_EQ(knownfd::statusFlags(46), -1);
  knownfd::forget(46);
}

}  // namespace
}  // namespace mif::preload
