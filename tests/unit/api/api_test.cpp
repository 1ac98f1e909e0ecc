// Every function of <mif/mif.h> and its errors, in-process, against libmif-api.so as a
// program links it. The network (made in main(), before any thread):
//   this process's namespace (unshare)        peer namespace mifapi-PID (ip netns)
//   wifi0 192.0.2.10/24          <-veth->     wifi1 192.0.2.1    dnsmasq: www -> 203.0.113.80
//   vpn0  198.51.100.10, .11/24  <-veth->     vpn1  198.51.100.1 dnsmasq: www -> 203.0.113.81
//   eth9  10.99.0.10/24          <-veth->     eth9p 10.99.0.1    (ad hoc PvD "eth9")
//   dn0 (down)                   <-veth->     dn0p               (PvD "down")
//   default routes through wifi0, vpn0, eth9 (metrics 100, 200, 300); 203.0.113.80 on the
//   peer's lo, where the tests listen.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mif/mif.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "api_net.h"

namespace apitest {

std::string gSkip = "not set up";
std::string gPeer;   // the peer namespace's name
std::string gDir;    // temporary directory (policy, dnsmasq files)
int gOwnNs = -1, gPeerNs = -1;
std::vector<pid_t> gDaemons;

int sh(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

pid_t dnsmasq(const std::string& listen, const std::string& answer, const std::string& tag) {
  const std::string conf = gDir + "/dnsmasq-" + tag + ".conf";
  std::ofstream(conf) << "no-resolv\nno-hosts\nbind-interfaces\nlisten-address=" << listen
                      << "\nport=53\nlocal=/example.test/\naddress=/www.example.test/" << answer << "\n"
                      << "log-queries\nlog-facility=" << gDir << "/" << tag << ".log\n";
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execlp("ip", "ip", "netns", "exec", gPeer.c_str(), "dnsmasq", "--keep-in-foreground",
           ("--conf-file=" + conf).c_str(), ("--pid-file=" + gDir + "/" + tag + ".pid").c_str(),
           nullptr);
    _exit(127);
  }
  for (int i = 0; i < 100; ++i) {
    std::ifstream f(gDir + "/" + tag + ".log");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (s.find("started") != std::string::npos) break;
    usleep(20000);
  }
  return pid;
}

// A TCP listener (or a bound UDP socket) in the peer namespace on address:port.
int peerListener(uint16_t port, const char* address, int type) {
  if (setns(gPeerNs, CLONE_NEWNET) != 0) return -1;
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, address, &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      (type == SOCK_STREAM && listen(fd, 8) != 0)) {
    close(fd);
    fd = -1;
  }
  setns(gOwnNs, CLONE_NEWNET);
  return fd;
}

std::string device(int fd) {
  char dev[IFNAMSIZ + 1] = {};
  socklen_t len = IFNAMSIZ;
  if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) != 0) return "?";
  return std::string(dev, strnlen(dev, len));
}

// Connects `fd` to the peer's server and returns the source address the server saw.
std::string sourceSeen(int fd, int listener, uint16_t port, const char* address) {
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, address, &dst.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0)
    return std::string("connect: ") + strerror(errno);
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  int c = accept(listener, reinterpret_cast<sockaddr*>(&peer), &len);
  if (c < 0) return "accept failed";
  close(c);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
  return text;
}

std::string firstAddress(const addrinfo* ai) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ai == nullptr) return "";
  if (ai->ai_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, text, sizeof text);
  else
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, text, sizeof text);
  return text;
}

// Not under `mif run`: the API works alone (every test of this suite is that mode).
TEST(MifApi, StandaloneWithoutMifRun) {
  if (std::getenv("LD_PRELOAD_WAS") != nullptr) GTEST_SKIP() << "run under the preload";
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "mif_preload_api"), nullptr);
}

TEST(MifApi, Version) {
  EXPECT_EQ(mif_api_version(), MIF_API_VERSION);
  EXPECT_EQ(mif_api_version() >> 16, MIF_API_VERSION_MAJOR);
}

TEST(MifApi, SocketSetPvdBindsDeviceAndSource) {
  REQUIRE_NET();
  int listener = peerListener(8080);
  ASSERT_GE(listener, 0);
  for (const auto& [pvd, dev, source] : {std::tuple{"wifi", "wifi0", "192.0.2.10"},
                                          std::tuple{"vpn", "vpn0", "198.51.100.11"}}) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(mif_socket_set_pvd(fd, pvd), 0) << mif_strerror(errno);
    EXPECT_EQ(device(fd), dev);
    // vpn has a `source` of its own (.11, not the interface's first address .10): the
    // socket is bound to it before connect, without a port.
    EXPECT_EQ(sourceSeen(fd, listener, 8080), source) << pvd;
    close(fd);
  }
  close(listener);
}

TEST(MifApi, SocketSetPvdIpv6SocketGetsDevice) {
  REQUIRE_NET();
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  ASSERT_EQ(mif_socket_set_pvd(fd, "vpn"), 0) << mif_strerror(errno);
  EXPECT_EQ(device(fd), "vpn0");
  close(fd);
}

TEST(MifApi, InterfaceNameIsAnAdHocPvd) {
  REQUIRE_NET();
  int listener = peerListener(8081);
  ASSERT_GE(listener, 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(mif_socket_set_pvd(fd, "eth9"), 0) << mif_strerror(errno);
  EXPECT_EQ(device(fd), "eth9");
  EXPECT_EQ(sourceSeen(fd, listener, 8081), "10.99.0.10");
  close(fd);
  close(listener);
  // Now listed, marked ad hoc; the policy's PvDs are still there (and still work).
  mif_pvd list[16];
  int n = mif_pvd_list(list, 16);
  ASSERT_GE(n, 4);
  bool seen = false;
  for (int i = 0; i < n && i < 16; ++i)
    if (std::string(list[i].name) == "eth9") {
      seen = true;
      EXPECT_TRUE(list[i].flags & MIF_PVD_ADHOC);
      EXPECT_TRUE(list[i].flags & MIF_PVD_IPV4);
      EXPECT_EQ(list[i].ifindex, if_nametoindex("eth9"));
    }
  EXPECT_TRUE(seen);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(mif_socket_set_pvd(s, "wifi"), 0);
  close(s);
}

TEST(MifApi, UnknownPvdIsEnoentAndNamed) {
  REQUIRE_NET();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  errno = 0;
  EXPECT_EQ(mif_socket_set_pvd(fd, "nosuchpvd"), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_NE(std::string(mif_strerror(ENOENT)).find("'nosuchpvd'"), std::string::npos)
      << mif_strerror(ENOENT);
  EXPECT_EQ(device(fd), "");
  close(fd);
}

TEST(MifApi, PvdDownIsEnetdown) {
  REQUIRE_NET();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(mif_socket_set_pvd(fd, "down"), -1);
  EXPECT_EQ(errno, ENETDOWN);
  EXPECT_NE(std::string(mif_strerror(ENETDOWN)).find("'down'"), std::string::npos);
  EXPECT_EQ(mif_socket_set_pvd(fd, "gone"), -1);  // no interface matches at all
  EXPECT_EQ(errno, ENETDOWN);
  EXPECT_NE(std::string(mif_strerror(ENETDOWN)).find("no interface matches"), std::string::npos)
      << mif_strerror(ENETDOWN);
  close(fd);
}

TEST(MifApi, NotAnInetSocket) {
  REQUIRE_NET();
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_EQ(mif_socket_set_pvd(u, "wifi"), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  close(u);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_EQ(mif_socket_set_pvd(p[0], "wifi"), -1);
  EXPECT_EQ(errno, ENOTSOCK);
  close(p[0]);
  close(p[1]);
  EXPECT_EQ(mif_socket_set_pvd(p[0], "wifi"), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(MifApi, NullUnpins) {
  REQUIRE_NET();
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(mif_socket_set_pvd(fd, "wifi"), 0);
  EXPECT_EQ(device(fd), "wifi0");
  ASSERT_EQ(mif_socket_set_pvd(fd, nullptr), 0);
  EXPECT_EQ(device(fd), "");
  close(fd);
}

TEST(MifApi, GetaddrinfoThroughEachPvd) {
  REQUIRE_NET();
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  for (const auto& [pvd, want] : {std::pair{"wifi", "203.0.113.80"}, std::pair{"vpn", "203.0.113.81"}}) {
    addrinfo* res = nullptr;
    ASSERT_EQ(mif_getaddrinfo(pvd, "www.example.test", "80", &hints, &res), 0) << pvd;
    EXPECT_EQ(firstAddress(res), want) << pvd;
    ASSERT_NE(res, nullptr);
    EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_port), 80);
    mif_freeaddrinfo(res);
  }
}

TEST(MifApi, GetaddrinfoErrors) {
  REQUIRE_NET();
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* res = nullptr;
  EXPECT_EQ(mif_getaddrinfo("nosuchpvd", "www.example.test", nullptr, &hints, &res), EAI_SYSTEM);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_NE(std::string(mif_strerror(EAI_SYSTEM)).find("'nosuchpvd'"), std::string::npos);
  // dnsmasq answers NXDOMAIN for names it does not know (no upstream).
  EXPECT_EQ(mif_getaddrinfo("wifi", "nothing.example.test", nullptr, &hints, &res), EAI_NONAME);
  // A PvD with no interface has no server to ask: never the system resolver.
  EXPECT_EQ(mif_getaddrinfo("gone", "www.example.test", nullptr, &hints, &res), EAI_AGAIN);
  EXPECT_NE(std::string(mif_strerror(EAI_AGAIN)).find("'gone'"), std::string::npos)
      << mif_strerror(EAI_AGAIN);
  hints.ai_flags = 0x7fff0000;  // glibc's own checks come first
  EXPECT_EQ(mif_getaddrinfo("wifi", "www.example.test", nullptr, &hints, &res), EAI_BADFLAGS);
  // Numeric hosts are getaddrinfo's own.
  hints.ai_flags = 0;
  ASSERT_EQ(mif_getaddrinfo("wifi", "192.0.2.99", nullptr, &hints, &res), 0);
  EXPECT_EQ(firstAddress(res), "192.0.2.99");
  mif_freeaddrinfo(res);
}

TEST(MifApi, ProcessDefault) {
  REQUIRE_NET();
  char buf[64];
  EXPECT_EQ(mif_process_get_pvd(buf, sizeof buf), 0);
  EXPECT_EQ(mif_process_set_pvd("nosuchpvd"), -1);
  EXPECT_EQ(errno, ENOENT);
  ASSERT_EQ(mif_process_set_pvd("vpn"), 0);
  EXPECT_EQ(mif_process_get_pvd(buf, sizeof buf), 3);
  EXPECT_STREQ(buf, "vpn");
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* res = nullptr;
  ASSERT_EQ(mif_getaddrinfo(nullptr, "www.example.test", nullptr, &hints, &res), 0);
  EXPECT_EQ(firstAddress(res), "203.0.113.81");
  mif_freeaddrinfo(res);
  ASSERT_EQ(mif_process_set_pvd(nullptr), 0);
  EXPECT_EQ(mif_process_get_pvd(buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "");
}

TEST(MifApi, PvdListAndGeneration) {
  REQUIRE_NET();
  EXPECT_GE(mif_pvd_list(nullptr, 0), 4);
  mif_pvd list[16];
  const int n = mif_pvd_list(list, 16);
  ASSERT_GE(n, 4);
  const mif_pvd* vpn = nullptr;
  const mif_pvd* down = nullptr;
  for (int i = 0; i < n; ++i) {
    if (std::string(list[i].name) == "vpn") vpn = &list[i];
    if (std::string(list[i].name) == "down") down = &list[i];
  }
  ASSERT_NE(vpn, nullptr);
  EXPECT_STREQ(vpn->ifname, "vpn0");
  EXPECT_EQ(vpn->flags & (MIF_PVD_PRESENT | MIF_PVD_IPV4 | MIF_PVD_ADHOC), MIF_PVD_PRESENT | MIF_PVD_IPV4);
  ASSERT_EQ(vpn->n_dns, 1u);
  EXPECT_EQ(vpn->dns[0].family, AF_INET);
  in_addr dns{};
  inet_pton(AF_INET, "198.51.100.1", &dns);
  EXPECT_EQ(std::memcmp(vpn->dns[0].addr, &dns, 4), 0);
  EXPECT_EQ(vpn->n_addrs, 1u);  // only its `source` belongs to it
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->flags & (MIF_PVD_IPV4 | MIF_PVD_IPV6), 0u);

  const uint64_t before = mif_view_generation();
  EXPECT_GT(before, 0u);
  ASSERT_EQ(sh("ip addr add 192.0.2.20/24 dev wifi0"), 0);
  uint64_t after = before;
  for (int i = 0; i < 200 && after == before; ++i) {
    usleep(10000);
    after = mif_view_generation();
  }
  EXPECT_GT(after, before);
  sh("ip addr del 192.0.2.20/24 dev wifi0");
}

TEST(MifApi, StrerrorOfOtherCodes) {
  EXPECT_STREQ(mif_strerror(EAI_NONAME), gai_strerror(EAI_NONAME));
  EXPECT_STREQ(mif_strerror(EPIPE), strerror(EPIPE));
}

TEST(MifApi, ConcurrentPins) {
  REQUIRE_NET();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (mif_socket_set_pvd(fd, (t + i) % 2 ? "wifi" : "vpn") != 0) failures++;
        close(fd);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

void setUp() {
  if (geteuid() != 0) {
    gSkip = "needs root (network namespaces)";
    return;
  }
  if (sh("command -v dnsmasq >/dev/null") != 0) {
    gSkip = "dnsmasq not installed";
    return;
  }
  char tmpl[] = "/tmp/mifapi-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return;
  gDir = tmpl;
  gPeer = "mifapi-" + std::to_string(getpid());
  if (sh("ip netns add " + gPeer) != 0) {
    gSkip = "cannot create a network namespace";
    return;
  }
  if (unshare(CLONE_NEWNET) != 0) {
    gSkip = std::string("unshare(CLONE_NEWNET): ") + strerror(errno);
    return;
  }
  gOwnNs = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  gPeerNs = open(("/run/netns/" + gPeer).c_str(), O_RDONLY | O_CLOEXEC);
  const std::string p = "ip -n " + gPeer + " ";
  const std::string cmds[] = {
      "ip link set lo up",
      "ip link add wifi0 type veth peer name wifi1 netns " + gPeer,
      "ip link add vpn0 type veth peer name vpn1 netns " + gPeer,
      "ip link add eth9 type veth peer name eth9p netns " + gPeer,
      "ip link add dn0 type veth peer name dn0p netns " + gPeer,
      "ip addr add 192.0.2.10/24 dev wifi0 && ip link set wifi0 up",
      "ip addr add 198.51.100.10/24 dev vpn0 && ip addr add 198.51.100.11/24 dev vpn0 && ip link set vpn0 up",
      "ip addr add 10.99.0.10/24 dev eth9 && ip link set eth9 up",
      "ip addr add 10.98.0.10/24 dev dn0",
      "ip route add default via 192.0.2.1 dev wifi0 metric 100",
      "ip route add default via 198.51.100.1 dev vpn0 metric 200",
      "ip route add default via 10.99.0.1 dev eth9 metric 300",
      p + "link set lo up",
      p + "addr add 203.0.113.80/32 dev lo",
      p + "addr add 192.0.2.1/24 dev wifi1 && " + p + "link set wifi1 up",
      p + "addr add 198.51.100.1/24 dev vpn1 && " + p + "link set vpn1 up",
      p + "addr add 10.99.0.1/24 dev eth9p && " + p + "link set eth9p up",
  };
  for (const auto& c : cmds)
    if (sh(c) != 0) {
      gSkip = "failed: " + c;
      return;
    }
  gDaemons.push_back(dnsmasq("192.0.2.1", "203.0.113.80", "wifi"));
  gDaemons.push_back(dnsmasq("198.51.100.1", "203.0.113.81", "vpn"));
  // The layers init.cpp reads: no user policy here, this file as MIF_POLICY.
  std::ofstream(gDir + "/policy.toml")
      << "[pvd.wifi]\ninterface = \"wifi0\"\ndns = [\"192.0.2.1\"]\n\n"
      << "[pvd.vpn]\ninterface = \"vpn0\"\ndns = [\"198.51.100.1\"]\nsource = [\"198.51.100.11/32\"]\n\n"
      << "[pvd.down]\ninterface = \"dn0\"\ndns = [\"10.98.0.1\"]\n\n"
      << "[pvd.gone]\ninterface = \"absent0\"\ndns = [\"10.97.0.1\"]\n";
  setenv("MIF_POLICY", (gDir + "/policy.toml").c_str(), 1);
  setenv("XDG_CONFIG_HOME", gDir.c_str(), 1);
  setenv("MIF_TRACE", (gDir + "/trace.jsonl").c_str(), 1);  // read by libmif.so only
  gSkip.clear();
  // The first call builds the view (or, under `mif run`, loads the engine) here, in this
  // namespace: later calls may come from a thread inside the peer's (peerListener).
  (void)mif_view_generation();
}

void tearDown() {
  for (pid_t pid : gDaemons) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  if (!gPeer.empty()) sh("ip netns del " + gPeer + " 2>/dev/null");
  if (!gDir.empty()) sh("rm -rf " + gDir);
}

std::string traceText() {
  std::ifstream f(gDir + "/trace.jsonl");
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace apitest

using namespace apitest;

int main(int argc, char** argv) {
  // Run under libmif.so (the mif_api_inside_run tests): the library is mapped now; the
  // programs this test starts (ip, dnsmasq) must not be governed by it.
  if (const char* p = std::getenv("LD_PRELOAD")) {
    setenv("LD_PRELOAD_WAS", p, 1);
    unsetenv("LD_PRELOAD");
  }
  testing::InitGoogleTest(&argc, argv);
  if (!GTEST_FLAG_GET(list_tests)) setUp();  // test discovery only lists
  const int rc = RUN_ALL_TESTS();
  tearDown();
  return rc;
}
