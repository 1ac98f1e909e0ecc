// What the library knows of a program's socket without asking the kernel
// (preload/src/known_fds.h): a socket is known only from the socket() hook on, loses what
// is known when the program changes that kind of fact on any socket made before (it may be
// a dup of this one), and after fork() in both processes.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "known_fds.h"

namespace mif::preload {
namespace {

TEST(KnownFds, ASocketSeenMadeIsUnboundOnceAndNothingIsKnownOfOneNeverSeen) {
  knownfd::made(40);
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
  knownfd::made(42);
  knownfd::programSetOption(SOL_SOCKET, SO_BINDTODEVICE);  // perhaps through a dup of 42
  knownfd::made(43);
  EXPECT_FALSE(knownfd::takeUnbound(42));
  EXPECT_TRUE(knownfd::defaultSendTimeout(42));  // another kind of fact: still known
  EXPECT_TRUE(knownfd::takeUnbound(43));         // made after: cannot have been bound

  knownfd::made(44);
  knownfd::programSetOption(SOL_SOCKET, SO_SNDTIMEO);
  EXPECT_FALSE(knownfd::defaultSendTimeout(44));
  EXPECT_TRUE(knownfd::notBound(44));
  knownfd::programSetOption(SOL_SOCKET, SO_BINDTOIFINDEX);
  EXPECT_FALSE(knownfd::takeUnbound(44));

  // Options that do not bear on a connect's questions change nothing.
  knownfd::made(45);
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

TEST(KnownFds, AfterForkNeitherProcessTrustsWhatItKnewOfTheSocketsTheyNowShare) {
  knownfd::made(46);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const bool known = knownfd::takeUnbound(46) || knownfd::defaultSendTimeout(46);
    knownfd::made(47);  // a socket of the child's own
    _exit(known ? 1 : knownfd::takeUnbound(47) ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(knownfd::takeUnbound(46));
  EXPECT_FALSE(knownfd::notBound(46));
  knownfd::forget(46);
}

}  // namespace
}  // namespace mif::preload
