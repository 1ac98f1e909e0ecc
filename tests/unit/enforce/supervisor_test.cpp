// The supervisor end to end inside one private network namespace (root only): a forked
// child with the filter makes real calls; the supervisor decides with a real policy and
// live view and changes the child's sockets. Interfaces: mifenf0 (192.0.2.2/24) and
// mifenf2 (198.51.100.2/24), each one end of a veth pair, no default route anywhere, so
// a datagram to 203.0.113.9 only goes out when its socket is pinned to a device.
#include "enforce/supervisor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <thread>

#include "mif/policy/loader.h"
#include "supervised.h"

namespace mif::enforce {
namespace {

using testing::SupervisedChild;

std::string privateNetworkProblem() {
  static std::string problem = [] {
    if (geteuid() != 0) return std::string("needs root (network namespace, veth)");
    if (unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET) failed");
    int rc = std::system(
        "ip link set lo up && "
        "ip link add mifenf0 type veth peer name mifenf1 && "
        "ip addr add 192.0.2.2/24 dev mifenf0 && ip link set mifenf1 up && "
        "ip link set mifenf0 up && "
        "ip link add mifenf2 type veth peer name mifenf3 && "
        "ip addr add 198.51.100.2/24 dev mifenf2 && ip link set mifenf3 up && "
        "ip link set mifenf2 up && "
        // A veth's operational state turns UP through the kernel's linkwatch, up to a
        // second later (more on a busy machine); until then the view calls its PvD
        // unusable and nothing is pinned. Every test here assumes both links usable.
        "for i in $(seq 100); do "
        "ip -o link show mifenf0 | grep -q 'state UP' && "
        "ip -o link show mifenf2 | grep -q 'state UP' && exit 0; sleep 0.05; done; exit 1");
    return rc == 0 ? std::string() : std::string("could not create the veth pairs");
  }();
  return problem;
}

#define REQUIRE_PRIVATE_NETWORK()                                              \
  do {                                                                         \
    if (auto why = privateNetworkProblem(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

std::optional<policy::Policy> compile(const std::string& toml, policy::Pin pin) {
  std::vector<policy::PolicyDoc> layers;
  if (!toml.empty()) {
    auto loaded = policy::loadString(toml, "test.toml", policy::Layer::User);
    EXPECT_TRUE(loaded.ok());
    layers.push_back(std::move(loaded.doc));
  }
  auto r = policy::Policy::compile(std::move(layers), pin);
  for (const auto& d : r.diagnostics) ADD_FAILURE() << d.format();
  return std::move(r.policy);
}

policy::Pin pinTo(std::vector<std::string> pvds, bool strict, std::vector<std::string> dns = {}) {
  policy::Pin pin;
  pin.pvds = std::move(pvds);
  pin.strict = strict;
  for (const auto& d : dns) pin.dns.push_back(*policy::IpAddress::parse(d));
  return pin;
}

// The child's exit status (its body's return value).
int runSupervised(const policy::Policy& p, FilterMode mode, const std::function<int()>& body) {
  auto c = SupervisedChild::start(mode, body);
  if (c.listener < 0) return -1;
  Trace trace;
  int status;
  {
    Supervisor sup(p, mode, c.listener, trace);
    SupervisorThread thread(sup);
    status = c.wait();
  }
  close(c.listener);
  return status;
}

sockaddr_in v4(const char* a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  inet_pton(AF_INET, a, &s.sin_addr);
  return s;
}

int boundIf(int fd) {
  int idx = 0;
  socklen_t len = sizeof idx;
  getsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &idx, &len);
  return idx;
}

int index(const char* name) { return static_cast<int>(if_nametoindex(name)); }

int connectTo(int s, const char* addr, uint16_t port) {
  sockaddr_in to = v4(addr, port);
  return connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 ? 0 : errno;
}

TEST(Supervisor, ConnectIsPinnedToThePinnedInterface) {
  REQUIRE_PRIVATE_NETWORK();
  auto p = compile("", pinTo({"mifenf0"}, false));
  ASSERT_TRUE(p);
  int expect = index("mifenf0");
  EXPECT_EQ(runSupervised(*p, FilterMode::PerCall,
                          [&] {
                            int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                            // No route to 203.0.113.0/24: only a pinned socket connects (on-link).
                            if (int e = connectTo(s, "203.0.113.9", 9)) return 100 + e;
                            return boundIf(s) == expect ? 0 : 1;
                          }),
            0);
}

// Once no process uses the filter, every receive fails at once (ENOENT): handleOne() must
// say the listener is finished rather than report a vanished call, or run() spins a CPU
// until the caller notices the exit.
TEST(Supervisor, StopsByItselfWhenNoProcessUsesTheFilter) {
  auto p = compile("", pinTo({}, false));
  ASSERT_TRUE(p);
  auto c = SupervisedChild::start(FilterMode::PerCall, [] { return 0; });
  ASSERT_GE(c.listener, 0);
  EXPECT_EQ(c.wait(), 0);
  Trace trace;
  Supervisor sup(*p, FilterMode::PerCall, c.listener, trace);
  int calls = 0;
  while (calls < 1000 && sup.handleOne()) ++calls;
  EXPECT_EQ(calls, 0);
  close(c.listener);
}

TEST(Supervisor, ThreadsAndForkedChildrenArePinnedToo) {
  REQUIRE_PRIVATE_NETWORK();
  auto p = compile("", pinTo({"mifenf2"}, false));
  ASSERT_TRUE(p);
  int expect = index("mifenf2");
  EXPECT_EQ(
      runSupervised(*p, FilterMode::PerCall,
                    [&] {
                      int threadResult = -1;
                      std::thread t([&] {
                        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                        threadResult =
                            connectTo(s, "203.0.113.9", 9) == 0 && boundIf(s) == expect ? 0 : 1;
                      });
                      t.join();
                      if (threadResult != 0) return 10;
                      pid_t c = fork();
                      if (c == 0) {
                        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                        _exit(connectTo(s, "203.0.113.9", 9) == 0 && boundIf(s) == expect ? 0 : 1);
                      }
                      int st = 0;
                      waitpid(c, &st, 0);
                      return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 20;
                    }),
      0);
}

TEST(Supervisor, StrictPinWithTheInterfaceDownRefusesWithEnetunreach) {
  REQUIRE_PRIVATE_NETWORK();
  ASSERT_EQ(std::system("ip link set mifenf2 down"), 0);
  auto p = compile("", pinTo({"mifenf2"}, true));
  ASSERT_TRUE(p);
  for (FilterMode mode : {FilterMode::PerCall, FilterMode::PinAtCreation}) {
    EXPECT_EQ(runSupervised(
                  *p, mode,
                  [&] {
                    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                    if (s < 0) return 1;
                    if (connectTo(s, "203.0.113.9", 9) != ENETUNREACH) return 2;
                    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                    sockaddr_in to = v4("192.0.2.1", 9);  // on mifenf0's link: reachable unpinned
                    if (sendto(u, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != -1)
                      return 3;
                    return errno == ENETUNREACH ? 0 : 4;
                  }),
              0)
        << filterModeName(mode);
  }
  ASSERT_EQ(std::system("ip link set mifenf2 up"), 0);
}

TEST(Supervisor, PinAtCreationHandsOverAPinnedSocketWithItsFlags) {
  REQUIRE_PRIVATE_NETWORK();
  auto p = compile("", pinTo({"mifenf0"}, true));
  ASSERT_TRUE(p);
  int expect = index("mifenf0");
  EXPECT_EQ(
      runSupervised(*p, FilterMode::PinAtCreation,
                    [&] {
                      int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
                      if (s < 0 || boundIf(s) != expect) return 1;
                      if (!(fcntl(s, F_GETFL) & O_NONBLOCK)) return 2;
                      if (fcntl(s, F_GETFD) & FD_CLOEXEC) return 3;
                      int c = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
                      if (c < 0 || boundIf(c) != expect || !(fcntl(c, F_GETFD) & FD_CLOEXEC))
                        return 4;
                      sockaddr_in to = v4("203.0.113.9", 9);
                      for (int i = 0; i < 100; ++i) {
                        if (sendto(s, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != 1)
                          return 5;
                      }
                      return 0;
                    }),
      0);
}

TEST(Supervisor, LoopbackStaysReachableUnderAStrictPin) {
  REQUIRE_PRIVATE_NETWORK();
  auto p = compile("", pinTo({"mifenf0"}, true));
  ASSERT_TRUE(p);
  for (FilterMode mode : {FilterMode::PerCall, FilterMode::PinAtCreation}) {
    EXPECT_EQ(runSupervised(*p, mode,
                            [&] {
                              int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                              sockaddr_in any = v4("127.0.0.1", 0);
                              if (bind(l, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0)
                                return 1;
                              socklen_t len = sizeof any;
                              getsockname(l, reinterpret_cast<sockaddr*>(&any), &len);
                              if (listen(l, 1) != 0) return 2;
                              int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                              if (connect(c, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0)
                                return 3;
                              return 0;
                            }),
              0)
        << filterModeName(mode);
  }
}

TEST(Supervisor, DnsConnectToAnotherServerGoesToThePvdsServer) {
  REQUIRE_PRIVATE_NETWORK();
  auto p = compile("", pinTo({"mifenf0"}, false, {"192.0.2.53"}));
  ASSERT_TRUE(p);
  EXPECT_EQ(runSupervised(*p, FilterMode::PerCall,
                          [&] {
                            int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                            if (int e = connectTo(s, "203.0.113.53", 53)) return 100 + e;
                            sockaddr_in peer{};
                            socklen_t len = sizeof peer;
                            getpeername(s, reinterpret_cast<sockaddr*>(&peer), &len);
                            char text[32];
                            inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
                            return std::string(text) == "192.0.2.53" && ntohs(peer.sin_port) == 53
                                       ? 0
                                       : 1;
                          }),
            0);
}

TEST(Supervisor, StrictDnsDatagramToAnotherServerIsRefused) {
  REQUIRE_PRIVATE_NETWORK();
  auto p = compile("", pinTo({"mifenf0"}, true, {"192.0.2.53"}));
  ASSERT_TRUE(p);
  EXPECT_EQ(
      runSupervised(
          *p, FilterMode::PerCall,
          [&] {
            int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            sockaddr_in other = v4("203.0.113.53", 53), own = v4("192.0.2.53", 53);
            if (sendto(s, "q", 1, 0, reinterpret_cast<sockaddr*>(&other), sizeof other) != -1 ||
                errno != ENETUNREACH)
              return 1;
            return sendto(s, "q", 1, 0, reinterpret_cast<sockaddr*>(&own), sizeof own) == 1 ? 0 : 2;
          }),
      0);
}

TEST(Supervisor, StrictRefusesBindingAnotherPvdsAddress) {
  REQUIRE_PRIVATE_NETWORK();
  auto p = compile("", pinTo({"mifenf0"}, true));
  ASSERT_TRUE(p);
  int expect = index("mifenf0");
  EXPECT_EQ(runSupervised(*p, FilterMode::PerCall,
                          [&] {
                            int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                            sockaddr_in other = v4("198.51.100.2", 0), own = v4("192.0.2.2", 0);
                            if (bind(s, reinterpret_cast<sockaddr*>(&other), sizeof other) != -1 ||
                                errno != EADDRNOTAVAIL)
                              return 1;
                            if (bind(s, reinterpret_cast<sockaddr*>(&own), sizeof own) != 0)
                              return 2;
                            return boundIf(s) == expect ? 0 : 3;
                          }),
            0);
}

TEST(Supervisor, PerDestinationRulesPickThePvdPerDatagram) {
  REQUIRE_PRIVATE_NETWORK();
  auto p = compile(R"(
[pvd.a]
interface = "mifenf0"
prefixes = ["203.0.113.0/25"]
[pvd.b]
interface = "mifenf2"
prefixes = ["203.0.113.128/25"]
)",
                   {});
  ASSERT_TRUE(p);
  int a = index("mifenf0"), b = index("mifenf2");
  EXPECT_EQ(
      runSupervised(*p, FilterMode::PerCall,
                    [&] {
                      int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                      sockaddr_in toA = v4("203.0.113.9", 9), toB = v4("203.0.113.200", 9);
                      if (sendto(s, "x", 1, 0, reinterpret_cast<sockaddr*>(&toA), sizeof toA) != 1)
                        return 1;
                      if (boundIf(s) != a) return 2;
                      if (sendto(s, "x", 1, 0, reinterpret_cast<sockaddr*>(&toB), sizeof toB) != 1)
                        return 3;
                      if (boundIf(s) != b) return 4;
                      // A device the program chose itself is its own choice (nothing strict).
                      int t = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                      if (setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "mifenf2", 7) != 0) return 5;
                      if (sendto(t, "x", 1, 0, reinterpret_cast<sockaddr*>(&toA), sizeof toA) != 1)
                        return 6;
                      return boundIf(t) == b ? 0 : 7;
                    }),
      0);
}

}  // namespace
}  // namespace mif::enforce
