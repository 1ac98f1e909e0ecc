#include "own_fds.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace mif::preload {
namespace {

TEST(OwnFds, RegisteredDescriptorIsRecognisedUntilItsNumberNamesSomethingElse) {
  int a = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int b = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(a, 0);
  ownfds::add(a);
  EXPECT_TRUE(ownfds::isOwn(a));
  EXPECT_FALSE(ownfds::isOwn(b));
  EXPECT_EQ(ownfds::lowestIn(0, 1u << 30), a);
  EXPECT_EQ(ownfds::lowestIn(static_cast<unsigned>(a) + 1, 1u << 30), -1);
  // The program replaced the number behind the library's back (a raw dup2 system call):
  // the identity no longer matches and the entry is dropped.
  ASSERT_EQ(dup2(b, a), a);
  EXPECT_FALSE(ownfds::isOwn(a));
  EXPECT_EQ(ownfds::lowestIn(0, 1u << 30), -1);
  close(a);
  close(b);
}

TEST(OwnFds, RemoveForgets) {
  int a = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ownfds::add(a);
  ownfds::remove(a);
  EXPECT_FALSE(ownfds::isOwn(a));
  close(a);
}

}  // namespace
}  // namespace mif::preload
