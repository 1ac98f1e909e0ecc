// Issue 28 item 4 for the live view's own netlink socket: a real LiveView (not a fed one)
// in this test's private network namespace, its system calls failing through the seam
// (sys_faults.h) while a program strictly pinned to a PvD connects and the PvD's interface
// goes down and comes back. Whatever fails, a decision never uses a view older than the
// change the kernel announced before it (the PvD down: refused before anything is bound;
// back up: connected at once), strict stays strict, and no descriptor is left behind.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "fixture.h"
#include "mif/view/live_view.h"
#include "runtime.h"
#include "sys_faults.h"

namespace {

namespace faults = mif::sys::faults;
using faults::Call;
using mif::preload::Runtime;

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
int viewSocket() {
  for (int fd : openDescriptors()) {
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

class ViewFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    MIFDNS_REQUIRE_NETNS();
    policyFile_ = "/tmp/mif-view-faults." + std::to_string(getpid()) + ".toml";
    std::ofstream(policyFile_) << kPolicy;
    ASSERT_TRUE(sh("ip link add mifvf0 type veth peer name mifvf1 && ip link set mifvf1 up && "
                   "ip addr add 10.77.0.10/24 dev mifvf0 && "
                   "ip link set mifvf0 up"));
    Runtime::Config c;
    c.layerFiles = {policyFile_};
    c.pin.pvds = {"vpn"};
    c.pin.strict = true;
    c.app = "view_faults";  // c.view left empty: the real LiveView on netlink
    std::string error;
    runtimes_.push_back(Runtime::create(c, &error));
    ASSERT_EQ(error, "");
    Runtime::installForTest(runtimes_.back().get());
  }
  void TearDown() override {
    faults::disarm();
    Runtime::installForTest(nullptr);
    sh("ip link del mifvf0");
    std::remove(policyFile_.c_str());
  }
  std::string policyFile_;
  static inline std::vector<std::unique_ptr<Runtime>> runtimes_;
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

    ASSERT_TRUE(sh("ip link set mifvf0 up"));
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

}  // namespace
