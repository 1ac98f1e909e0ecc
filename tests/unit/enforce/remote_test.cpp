// Reading a supervised process's memory and taking its descriptors (tools/enforce/remote.h).
#include "enforce/remote.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace mif::enforce {
namespace {

char gMessage[32] = "the child's own bytes";

// A child that keeps running (with a UDP socket at a known number) until told to exit.
struct Child {
  pid_t pid = -1;
  int socketFd = -1;
  int release = -1;
  Child() {
    int ready[2], go[2];
    EXPECT_EQ(pipe(ready), 0);
    EXPECT_EQ(pipe(go), 0);
    pid = fork();
    if (pid == 0) {
      close(go[1]);  // else our own copy keeps the pipe from ever reaching EOF
      close(ready[0]);
      std::strcpy(gMessage, "changed after fork");
      int s = socket(AF_INET6, SOCK_DGRAM, 0);
      (void)!write(ready[1], &s, sizeof s);
      char c;
      (void)!read(go[0], &c, 1);
      _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    EXPECT_EQ(read(ready[0], &socketFd, sizeof socketFd), static_cast<ssize_t>(sizeof socketFd));
    close(ready[0]);
    release = go[1];
  }
  void finish() {
    if (release >= 0) close(release);
    release = -1;
    waitpid(pid, nullptr, 0);
  }
  ~Child() { finish(); }
};

TEST(Remote, ReadsTheChildsMemoryNotOurs) {
  Child c;
  char buf[sizeof gMessage] = {};
  ASSERT_TRUE(readMemory(c.pid, reinterpret_cast<uintptr_t>(gMessage), buf, sizeof buf));
  EXPECT_STREQ(buf, "changed after fork");
  EXPECT_FALSE(readMemory(c.pid, 8, buf, sizeof buf)) << "an unmapped address";
}

TEST(Remote, TakesTheChildsSocket) {
  Child c;
  PidfdCache cache;
  RemoteFd s = cache.take(c.pid, c.socketFd);
  ASSERT_TRUE(s.valid());
  int domain = 0;
  socklen_t len = sizeof domain;
  ASSERT_EQ(getsockopt(s.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len), 0);
  EXPECT_EQ(domain, AF_INET6);
  EXPECT_FALSE(cache.take(c.pid, 999).valid()) << "no such descriptor";
  EXPECT_EQ(cache.size(), 1u) << "the pidfd is kept for the next call";
}

TEST(Remote, ForgetsAThreadThatExited) {
  PidfdCache cache;
  pid_t first;
  {
    Child c;
    first = c.pid;
    ASSERT_TRUE(cache.take(c.pid, c.socketFd).valid());
  }
  EXPECT_FALSE(cache.take(first, 0).valid());
}

}  // namespace
}  // namespace mif::enforce
