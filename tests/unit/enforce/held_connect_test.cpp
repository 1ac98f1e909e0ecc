// What a held connect reads of the program before it gives a descriptor number another
// socket (tools/enforce/held_connect.h): epoll registrations and close-on-exec, from
// /proc/TID/fdinfo. Read here on this test's own process.
#include "enforce/held_connect.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mif::enforce {
namespace {

TEST(HeldConnect, SeesANumberRegisteredWithEpollAndNotAnother) {
  const int registered = socket(AF_INET, SOCK_STREAM, 0);
  const int other = socket(AF_INET, SOCK_STREAM, 0);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(registered, 0);
  ASSERT_GE(other, 0);
  ASSERT_GE(ep, 0);
  EXPECT_FALSE(registeredWithEpoll(getpid(), registered));
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, registered, &ev), 0);
  EXPECT_TRUE(registeredWithEpoll(getpid(), registered));
  EXPECT_TRUE(registeredWithEpoll(gettid(), registered)) << "a thread id reads the same table";
  EXPECT_FALSE(registeredWithEpoll(getpid(), other));
  close(ep);
  close(other);
  close(registered);
}

TEST(HeldConnect, ReadsTheNumbersCloseOnExec) {
  const int plain = socket(AF_INET, SOCK_STREAM, 0);
  const int cloexec = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(plain, 0);
  ASSERT_GE(cloexec, 0);
  EXPECT_FALSE(closeOnExec(getpid(), plain));
  EXPECT_TRUE(closeOnExec(getpid(), cloexec));
  close(plain);
  close(cloexec);
}

}  // namespace
}  // namespace mif::enforce
