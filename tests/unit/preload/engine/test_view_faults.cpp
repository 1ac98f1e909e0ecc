// Issue 28 item 4 for the live view's own netlink socket: a real LiveView (not a fed one)
// in this test's private network namespace, its system calls failing through the seam
// (sys_faults.h) while a program strictly pinned to a PvD connects and the PvD's interface
// goes down and comes back. Whatever fails, a decision never uses a view older than the
// change the kernel announced before it (the PvD down: refused before anything is bound;
// back up: connected at once), strict stays strict, and no descriptor is left behind.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine_fixture.h"

namespace {

namespace faults = mif::sys::faults;
using faults::Call;
using mif::enginetest::EngineTest;

// The PvD's interface: a veth link in this test's own namespace.
const char* kPolicy = R"(
[pvd.vpn]
interface = "mifvf0"
)";

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// A connected UDP socket to a host behind the PvD: 0 or the connect's errno, and the
// device the socket was bound to (empty: nothing was bound).
int udpConnect(std::string* dev) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(9);
  inet_pton(AF_INET, "10.77.0.80", &sa.sin_addr);
  errno = 0;
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0 ? 0 : errno;
  char name[IFNAMSIZ] = {};
  socklen_t len = sizeof name;
  getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len);
  *dev = name;
  close(fd);
  return rc;
}

// The descriptors this process has open, and among them the view's netlink socket (a
// NETLINK_ROUTE socket subscribed to groups; libnl's dump sockets subscribe to none).
std::vector<int> openDescriptors() {
  std::vector<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    out.push_back(std::atoi(e.path().filename().c_str()));
  return out;
}
// The views of earlier tests' runtimes (kept to the end of the process) hold sockets too.
std::vector<int> gOlderViews;
int viewSocket() {
  for (int fd : openDescriptors()) {
    if (std::find(gOlderViews.begin(), gOlderViews.end(), fd) != gOlderViews.end()) continue;
    int domain = 0, proto = 0;
    socklen_t l1 = sizeof domain, l2 = sizeof proto;
    sockaddr_nl nl{};
    socklen_t l3 = sizeof nl;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l1) == 0 && domain == AF_NETLINK &&
        getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l2) == 0 && proto == NETLINK_ROUTE &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&nl), &l3) == 0 && nl.nl_groups != 0)
      return fd;
  }
  return -1;
}

class ViewFaults : public EngineTest {
 protected:
  ViewFaults() : EngineTest("view_faults", kPolicy) {}
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(sh("ip link add mifvf0 type veth peer name mifvf1 && ip link set mifvf1 up && "
                   "ip addr add 10.77.0.10/24 dev mifvf0"));
    ASSERT_TRUE(linkUp());
    for (int fd = viewSocket(); fd >= 0; fd = viewSocket()) gOlderViews.push_back(fd);
    // No snapshot: the real LiveView on netlink.
    ASSERT_NE(install({"vpn"}, true, nullptr, nullptr), nullptr);
  }
  void TearDown() override {
    EngineTest::TearDown();
    sh("ip link del mifvf0");
  }
  // `ip link set up`, then wait until the kernel says the link is operationally up: a
  // veth's carrier reaches its operstate through the kernel's linkwatch, up to a second
  // later. The view is told by netlink when that happens, not before.
  static bool linkUp() {
    if (!sh("ip link set mifvf0 up")) return false;
    for (int i = 0; i < 300; ++i) {
      if (sh("ip -br link show mifvf0 | grep -q ' UP '")) return true;
      usleep(10 * 1000);
    }
    return false;
  }
};

TEST_F(ViewFaults, EachCallOfTheViewsNetlinkSocketFailingNeverLeavesADecisionOnAStaleView) {
  std::string dev;
  ASSERT_EQ(udpConnect(&dev), 0);
  ASSERT_EQ(dev, "mifvf0");
  ASSERT_GE(viewSocket(), 0);
  const size_t warm = openDescriptors().size();

  struct Case {
    Call call;
    int err;
    int match;
    bool reopen;  // the view must open its socket again (the program closed its number)
  };
  const Case cases[] = {
      {Call::Socket, EMFILE, AF_NETLINK, true},  {Call::Socket, ENFILE, AF_NETLINK, true},
      {Call::Socket, ENOMEM, AF_NETLINK, true},  {Call::Socket, EACCES, AF_NETLINK, true},
      {Call::Bind, EPERM, -1, true},             {Call::Bind, ENOMEM, -1, true},
      {Call::Recv, ENOMEM, -1, false},           {Call::Getsockopt, ENOMEM, SO_MEMINFO, false},
      {Call::Fstat, ENOMEM, -1, false},          {Call::Getsockopt, EINTR, SO_DOMAIN, false},
  };
  // A view that could not open its socket tries again after 50 ms: wait for it, so that
  // each case starts from a view that tracks changes.
  auto waitForViewSocket = [&] {
    for (int i = 0; i < 100 && viewSocket() < 0; ++i) {
      usleep(10 * 1000);
      udpConnect(&dev);
    }
    return viewSocket() >= 0;
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(faults::name(c.call)) + " " + std::strerror(c.err));
    ASSERT_TRUE(waitForViewSocket());
    faults::arm(c.call, c.err, -1, c.match);
    if (c.reopen) {
      // The program closed the view's descriptor behind the library's back (a raw close,
      // which no hook sees): the next decision finds it gone and opens another, which fails.
      const int fd = viewSocket();
      if (fd >= 0) ::syscall(SYS_close, fd);
    }
    EXPECT_EQ(udpConnect(&dev), 0);
    EXPECT_EQ(dev, "mifvf0");

    ASSERT_TRUE(sh("ip link set mifvf0 down"));
    EXPECT_EQ(udpConnect(&dev), ENETUNREACH);  // strict: refused ...
    EXPECT_EQ(dev, "");                        // ... before the socket was bound to the link

    ASSERT_TRUE(linkUp());
    EXPECT_EQ(udpConnect(&dev), 0);  // at once: no stale "down" either
    EXPECT_EQ(dev, "mifvf0");

    EXPECT_GT(faults::fired(c.call), 0);
    faults::disarm();
    EXPECT_LE(openDescriptors().size(), warm);  // nothing left behind (the view's socket
                                                // may still be waiting to reopen)
  }
  // Faults gone: within the retry period the view tracks changes on a socket again.
  EXPECT_TRUE(waitForViewSocket());
  EXPECT_EQ(openDescriptors().size(), warm);
}

// The other half of the view's netlink: the dump (libnl opens a socket of its own for each,
// which the seam does not reach). Out of descriptors for real (RLIMIT_NOFILE at what the
// process holds), the view can neither open its change socket nor dump: the snapshot it
// builds is empty, so the strict pin refuses with ENETUNREACH although the link is up,
// never a decision on the last good view; with descriptors back, the next decisions
// connect again.
TEST_F(ViewFaults, OutOfDescriptorsTheViewCannotDumpAndTheStrictPinRefuses) {
  std::string dev;
  ASSERT_EQ(udpConnect(&dev), 0);
  ASSERT_EQ(dev, "mifvf0");
  const size_t warm = openDescriptors().size();
  // The program's socket first: then no descriptor is left for anyone.
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const int view = viewSocket();
  ASSERT_GE(view, 0);
  ::syscall(SYS_close, view);  // the program closed it: the view must open another
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  int lowestFree = 0;
  while (fcntl(lowestFree, F_GETFD) != -1) ++lowestFree;
  rlimit none = old;
  none.rlim_cur = static_cast<rlim_t>(lowestFree);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &none), 0);
  ASSERT_EQ(socket(AF_INET, SOCK_DGRAM, 0), -1);  // really none left
  EXPECT_EQ(errno, EMFILE);

  // Past the library's freshness window (100 us), within which a decision may use the view
  // as it was last checked (docs/architecture.md, "How fresh the view is").
  usleep(1000);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(9);
  inet_pton(AF_INET, "10.77.0.80", &sa.sin_addr);
  errno = 0;
  EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), -1);
  EXPECT_EQ(errno, ENETUNREACH);
  char name[IFNAMSIZ] = {};
  socklen_t len = sizeof name;
  getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len);
  EXPECT_STREQ(name, "");  // refused before anything was bound

  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  close(fd);
  bool back = false;
  for (int i = 0; i < 100 && !(back && viewSocket() >= 0); ++i) {
    back = udpConnect(&dev) == 0 && dev == "mifvf0";
    usleep(10 * 1000);  // the change socket is retried every 50 ms
  }
  EXPECT_TRUE(back);
  EXPECT_GE(viewSocket(), 0);
  EXPECT_EQ(openDescriptors().size(), warm);
}

}  // namespace
