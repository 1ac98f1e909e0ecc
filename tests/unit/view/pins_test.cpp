// Snapshot lifetime (issue 23): a reader's SnapshotRef keeps its snapshot alive across any
// number of replacements, however long it is held; the snapshot is freed once, by the
// first refresh after its last reader let go; readers on many threads while the network
// changes never see freed memory (run under ASan and TSan: docs/testing.md).
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mif/view/live_view.h"
#include "netns.h"
#include "mif/view/pins.h"

namespace mif::view::test {
namespace {

class PinsTest : public NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    vethPair("pa0", "pb0", "192.0.2.10/24");
    policy_ = compile("[pvd.lan]\ninterface = \"pa0\"\n");
    ASSERT_TRUE(policy_);
    view_ = std::make_unique<LiveView>(*policy_);
  }
  void TearDown() override {
    view_.reset();
    NetnsTest::TearDown();
  }
  // One change the view sees on its next current(): an address added or removed.
  void change(int i) {
    must("ip addr " + std::string(i % 2 ? "del" : "add") + " 192.0.2." +
         std::to_string(100 + (i / 2) % 100) + "/24 dev pa0");
  }
  std::optional<policy::Policy> policy_;
  std::unique_ptr<LiveView> view_;
};

TEST_F(PinsTest, AReaderKeepsItsSnapshotAcrossManyReplacementsAndItIsFreedAfterward) {
  SnapshotRef held = view_->current();
  const uint64_t generation = held->generation;
  const int heldPins = detail::pinsHeld();
  EXPECT_GE(heldPins, 1);
  for (int i = 0; i < 40; ++i) {
    change(i);
    SnapshotRef now = view_->current();
    EXPECT_GT(now->generation, generation);
  }
  // Only the held one is kept: every other replaced snapshot had no reader left.
  EXPECT_EQ(view_->retainedForTest(), 1u);
  // Still the same, readable snapshot (ASan would report a freed one).
  EXPECT_EQ(held->generation, generation);
  ASSERT_NE(held->interfaceByName("pa0"), nullptr);
  EXPECT_EQ(held->interfaceByName("pa0")->name, "pa0");

  held.release();
  EXPECT_EQ(detail::pinsHeld(), heldPins - 1);
  change(40);
  view_->current();
  EXPECT_EQ(view_->retainedForTest(), 0u);
}

TEST_F(PinsTest, MovedReferencesPinOnceAndNestedReadersUseTheirOwnSlots) {
  const int before = detail::pinsHeld();
  SnapshotRef a = view_->current();
  SnapshotRef b = std::move(a);
  EXPECT_FALSE(a);
  EXPECT_EQ(detail::pinsHeld(), before + 1);
  {
    SnapshotRef nested = view_->current();  // e.g. a hook inside a signal handler
    EXPECT_EQ(detail::pinsHeld(), before + 2);
    EXPECT_EQ(nested.get(), b.get());
  }
  EXPECT_EQ(detail::pinsHeld(), before + 1);
  b = SnapshotRef();
  EXPECT_EQ(detail::pinsHeld(), before);
}

// 8 readers hold snapshots for random times (up to 2 ms, so they span many replacements)
// while the main thread changes the network 300 times; every reader checks what it holds
// is intact. Under ASan or TSan any early free or race is reported.
TEST_F(PinsTest, ReadersOnManyThreadsWhileTheNetworkChanges) {
  const std::string ns = "/run/netns/" + name_;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&, t] {
      // Enter the test's namespace: a reader that refreshes dumps the namespace it is in.
      int fd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
        bad.fetch_add(1);
        return;
      }
      ::close(fd);
      std::mt19937 rng(static_cast<unsigned>(t));
      while (!stop.load()) {
        SnapshotRef s = view_->current();
        const uint64_t g = s->generation;
        const Interface* i = s->interfaceByName("pa0");
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
        if (i == nullptr || i->name != "pa0" || s->generation != g) bad.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    change(i);
    view_->current();
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 100);
  // Every reader let go: the next refresh frees all that was kept.
  change(300);
  view_->current();
  EXPECT_EQ(view_->retainedForTest(), 0u);
}

// After fork the child has only the forking thread: pins held by other threads of the
// parent are gone in the child, so they keep nothing alive there.
TEST_F(PinsTest, AChildAfterForkHoldsOnlyTheForkingThreadsPins) {
  std::atomic<bool> pinned{false}, done{false};
  std::thread other([&] {
    SnapshotRef s = view_->current();
    pinned = true;
    while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  while (!pinned.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  SnapshotRef mine = view_->current();
  const int parentPins = detail::pinsHeld();
  EXPECT_GE(parentPins, 2);
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(detail::pinsHeld() == parentPins - 1 ? 0 : 1);
  int st = 0;
  ::waitpid(pid, &st, 0);
  done = true;
  other.join();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

}  // namespace
}  // namespace mif::view::test
