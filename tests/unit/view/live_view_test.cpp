// Change tracking: every change is seen by the very next current() (the kernel has queued
// its notification by the time `ip` returns), across fork, and after the program closed
// or replaced every descriptor.
#include "mif/view/live_view.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <functional>
#include <thread>

#include "mif/view/published_pvds.h"
#include "netns.h"

namespace mif::view::test {
namespace {

bool hasAddress(const SnapshotRef& s, const char* ifname, const char* addr) {
  const Interface* i = s->interfaceByName(ifname);
  if (!i) return false;
  auto a = *policy::IpAddress::parse(addr);
  return std::any_of(i->addresses.begin(), i->addresses.end(),
                     [&](const Address& x) { return x.addr == a; });
}

// Runs `body` in a forked child; its exit status (gtest assertions do not cross fork).
int inChild(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

class LiveViewTest : public NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    vethPair("va0", "vb0", "192.0.2.10/24");
    policy_ = compile("[pvd.lan]\ninterface = \"va0\"\n[pvd.corp]\ninterface = \"tun0\"\n");
    ASSERT_TRUE(policy_);
    view_ = std::make_unique<LiveView>(*policy_);
  }
  void TearDown() override {
    view_.reset();
    NetnsTest::TearDown();
  }
  const BoundPvd& bound(const SnapshotRef& s, const char* name) {
    return s->pvds.at(*policy_->findPvd(name));
  }
  std::optional<policy::Policy> policy_;
  std::unique_ptr<LiveView> view_;
};

TEST_F(LiveViewTest, NothingChangedKeepsTheSnapshot) {
  SnapshotRef a = view_->current();
  SnapshotRef b = view_->current();
  EXPECT_EQ(a.get(), b.get());
  EXPECT_GE(view_->descriptor(), 0);
}

TEST_F(LiveViewTest, FollowsAddressesWithinOneCall) {
  SnapshotRef before = view_->current();
  EXPECT_FALSE(hasAddress(before, "va0", "2001:db8:1::10"));
  must("ip addr add 2001:db8:1::10/64 dev va0 nodad");
  SnapshotRef s = view_->current();
  EXPECT_GT(s->generation, before->generation);
  EXPECT_TRUE(hasAddress(s, "va0", "2001:db8:1::10"));
  EXPECT_TRUE(bound(s, "lan").state.v6);
  must("ip addr del 192.0.2.10/24 dev va0");
  s = view_->current();
  EXPECT_FALSE(hasAddress(s, "va0", "192.0.2.10"));
  EXPECT_FALSE(bound(s, "lan").state.v4);
}

TEST_F(LiveViewTest, FollowsLinkDownAndUpWithinOneCall) {
  EXPECT_TRUE(bound(view_->current(), "lan").state.v4);
  must("ip link set va0 down");
  EXPECT_FALSE(bound(view_->current(), "lan").state.v4);
  must("ip link set va0 up");
  // Carrier comes back with the link: the kernel reports it in the same notification
  // burst as IFF_UP for veth.
  SnapshotRef s = view_->current();
  EXPECT_TRUE(s->interfaceByName("va0")->adminUp);
  must("ip link set vb0 down");
  EXPECT_FALSE(view_->current()->interfaceByName("va0")->carrier);
}

TEST_F(LiveViewTest, FollowsRoutesWithinOneCall) {
  must("ip route add 203.0.113.0/24 via 192.0.2.1 table 100");
  SnapshotRef s = view_->current();
  EXPECT_TRUE(std::any_of(s->routes.begin(), s->routes.end(), [](const Route& r) {
    return r.table == 100 && r.dst.toString() == "203.0.113.0/24";
  }));
}

// A VPN that reconnects comes back as a new tun0 with a new index; a PvD is bound by name.
TEST_F(LiveViewTest, FollowsRecreatedAndRenamedInterfaces) {
  must("ip tuntap add tun0 mode tun && ip addr add 10.8.0.2/24 dev tun0");
  SnapshotRef s = view_->current();
  int first = bound(s, "corp").ifindex;
  ASSERT_NE(first, 0);
  must("ip link del tun0");
  s = view_->current();
  EXPECT_EQ(bound(s, "corp").ifindex, 0);
  EXPECT_FALSE(bound(s, "corp").state.present);
  must("ip tuntap add tun0 mode tun");
  s = view_->current();
  EXPECT_NE(bound(s, "corp").ifindex, 0);
  EXPECT_NE(bound(s, "corp").ifindex, first);
  EXPECT_EQ(bound(s, "corp").ifname, "tun0");

  must("ip link set va0 down && ip link set va0 name lan9");
  s = view_->current();
  EXPECT_FALSE(bound(s, "lan").state.present);
  must("ip link set lan9 name va0 && ip link set va0 up");
  s = view_->current();
  EXPECT_TRUE(bound(s, "lan").state.present);
  EXPECT_EQ(bound(s, "lan").ifname, "va0");
}

// Thousands of notifications overrun the socket's queue (ENOBUFS): a full refresh follows.
TEST_F(LiveViewTest, RefreshesFullyAfterOverrun) {
  std::string batch;
  for (int i = 0; i < 3000; ++i)
    batch += "route add 10." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
             ".0/24 via 192.0.2.1 table 100\n";
  std::string file = "/tmp/" + name_ + ".batch";  // too long for one sh -c argument
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(batch.c_str(), f);
  std::fclose(f);
  int rc = sh("ip -batch " + file);
  std::remove(file.c_str());
  ASSERT_EQ(rc, 0);
  SnapshotRef s = view_->current();
  size_t n = std::count_if(s->routes.begin(), s->routes.end(),
                           [](const Route& r) { return r.table == 100; });
  EXPECT_EQ(n, 3000u);
  must("ip addr add 192.0.2.11/24 dev va0");
  EXPECT_TRUE(hasAddress(view_->current(), "va0", "192.0.2.11"));
}

// The child must not read the parent's socket (it would steal the parent's notifications):
// it opens its own; both then see changes.
TEST_F(LiveViewTest, ChildAfterForkSeesChangesAndParentToo) {
  view_->current();
  int parentFd = view_->descriptor();
  int rc = inChild([&] {
    SnapshotRef s = view_->current();  // reopens here
    if (view_->descriptor() < 0) return 2;
    if (std::system("ip addr add 192.0.2.21/24 dev va0") != 0) return 3;
    s = view_->current();
    return hasAddress(s, "va0", "192.0.2.21") ? 0 : 4;
  });
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(view_->descriptor(), parentFd);
  EXPECT_TRUE(hasAddress(view_->current(), "va0", "192.0.2.21"));
}

// A daemon closes every descriptor and reuses the numbers. Worst case: it puts its own
// NETLINK_ROUTE socket, subscribed to the same groups, on our old number. The view must
// notice, never read from it (its queued notifications stay), and keep following changes.
TEST_F(LiveViewTest, SurvivesCloseRangeAndDup2OverItsDescriptor) {
  view_->current();
  int rc = inChild([&] {
    int old = view_->descriptor();
    view_->current();  // the child's own socket
    old = view_->descriptor();
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0) return 2;
    int theirs = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_IPV4_IFADDR;
    if (theirs < 0 || ::bind(theirs, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return 3;
    if (theirs != old && (::dup2(theirs, old) != old || ::close(theirs) != 0)) return 4;
    if (std::system("ip addr add 192.0.2.31/24 dev va0") != 0) return 5;
    // The program's socket now holds one notification; the view must see the change...
    SnapshotRef s = view_->current();
    if (!hasAddress(s, "va0", "192.0.2.31")) return 6;
    if (view_->descriptor() == old) return 7;
    // ...and must have left the program's socket alone.
    char buf[8192];
    ssize_t n = ::recv(old, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return 8;
    auto* h = reinterpret_cast<nlmsghdr*>(buf);
    if (h->nlmsg_type != RTM_NEWADDR) return 9;
    if (std::system("ip addr add 192.0.2.32/24 dev va0") != 0) return 10;
    return hasAddress(view_->current(), "va0", "192.0.2.32") ? 0 : 11;
  });
  EXPECT_EQ(rc, 0);
}

// What the close/close_range hooks call: the view re-checks at once.
TEST_F(LiveViewTest, DescriptorsReleasedForcesIdentityCheck) {
  SnapshotRef s = view_->current();
  int fd = view_->descriptor();
  LiveView::descriptorsReleased(static_cast<unsigned>(fd), static_cast<unsigned>(fd));
  // Still ours, nothing queued: same socket, same snapshot, no rebuild.
  SnapshotRef t = view_->current();
  EXPECT_EQ(view_->descriptor(), fd);
  EXPECT_EQ(t.get(), s.get());
  must("ip addr add 192.0.2.41/24 dev va0");
  LiveView::descriptorsReleased(0, ~0u);
  EXPECT_TRUE(hasAddress(view_->current(), "va0", "192.0.2.41"));
}

// Issue 32: a program started before `mif discover` published the PvD its policy names
// by ID uses it at a decision within the view's poll period (0.5 s), although no netlink
// event says that a file appeared; withdrawn, it goes the same way. Nothing in the
// namespace changes meanwhile.
TEST_F(LiveViewTest, SeesAPvdPublishedAfterItStartedWithoutANetlinkEvent) {
  using namespace std::chrono;
  must("ip addr add 2001:db8:1::10/64 dev va0 nodad");
  // Nothing left to come from netlink: no link-local address in DAD (its end would be an
  // event), both ends' operstate up (linkwatch reports it up to a second later).
  must("ip -6 addr flush dev va0 scope link && ip -6 addr flush dev vb0 scope link");
  for (int i = 0; i < 300 && capture("ip -o link show up | grep -c 'state UP'") != "2\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  char dir[] = "/tmp/mif-view-pvds-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string pvds = std::string(dir) + "/pvds";
  ::setenv("MIF_RUN_DIR", dir, 1);
  auto policy = compile("[pvd.a]\nid = \"a.example\"\n");
  ASSERT_TRUE(policy);
  LiveView view(*policy);
  const auto a = *policy->findPvd("a");
  SnapshotRef s = view.current();
  EXPECT_EQ(s->pvds.at(a).ifindex, 0);
  s.release();
  // Without a look at the files nothing would rebuild the snapshot from here on.
  // Published the way the listener does: a temporary file renamed into place, in a
  // directory made after the program started.
  must("mkdir " + pvds + " && printf 'version 1\\nid a.example\\nrouter fe80::1 dev va0 heard " +
       std::to_string(bootSeconds()) + " expires forever\\nprefix 2001:db8:1::/64 router fe80::1 "
       "dev va0 expires forever preferred forever flags LA\\n' > " + pvds + "/.a.example.tmp && mv " +
       pvds + "/.a.example.tmp " + pvds + "/a.example");
  auto until = [&](bool bound) {
    auto start = steady_clock::now();
    while (steady_clock::now() - start < seconds(5)) {
      SnapshotRef now = view.current();
      if ((now->pvds.at(a).ifname == "va0") == bound) break;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return duration_cast<milliseconds>(steady_clock::now() - start);
  };
  auto took = until(true);
  s = view.current();
  ASSERT_EQ(s->pvds.at(a).ifname, "va0");
  EXPECT_EQ(s->pvds.at(a).source6.toString(), "2001:db8:1::10");
  EXPECT_LT(took, milliseconds(2500)) << "a generous bound on the 0.5 s poll period";
  s.release();
  must("rm " + pvds + "/a.example");
  took = until(false);
  EXPECT_EQ(view.current()->pvds.at(a).ifindex, 0);
  EXPECT_LT(took, milliseconds(2500));
  ::unsetenv("MIF_RUN_DIR");
  must("rm -r " + std::string(dir));
}

}  // namespace
}  // namespace mif::view::test
