// The C API inside `mif run` (issue 12): the same test binary run with libmif.so preloaded
// (ctest mif_api_inside_run: LD_PRELOAD and MIF_PVD=wifi, a non-strict pin; and
// mif_api_inside_strict_run: MIF_PVD=wifi MIF_STRICT=1). libmif-api then uses the
// preloaded engine's table instead of its own policy and view: pins go through the
// engine (its trace sees them, its datagram cache forgets the socket's last decision),
// lookups through its resolver (the addresses are tagged for its connect hook), and
// mif_process_set_pvd moves every new socket and lookup of the process. Run without the
// preload, these tests skip.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <mif/mif.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "api_net.h"

namespace {

using namespace apitest;

bool preloaded() { return dlsym(RTLD_DEFAULT, "mif_preload_api") != nullptr; }
bool strictRun() {
  const char* s = std::getenv("MIF_STRICT");
  return s != nullptr && std::strcmp(s, "1") == 0;
}

#define REQUIRE_RUN(strict)                                                       \
  do {                                                                            \
    REQUIRE_NET();                                                                \
    if (!preloaded()) GTEST_SKIP() << "not under libmif.so (ctest mif_api_inside_run)"; \
    if (strictRun() != (strict)) GTEST_SKIP() << "for the other mif_api_inside_*run"; \
  } while (0)

// Sends one datagram from `fd` to the peer's UDP socket and returns the source it saw.
std::string datagramSource(int fd, int server, uint16_t port) {
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, "203.0.113.80", &dst.sin_addr);
  if (sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 1)
    return std::string("sendto: ") + strerror(errno);
  pollfd p{server, POLLIN, 0};
  if (poll(&p, 1, 2000) != 1) return "nothing received";
  char b[8];
  sockaddr_in from{};
  socklen_t len = sizeof from;
  if (recvfrom(server, b, sizeof b, 0, reinterpret_cast<sockaddr*>(&from), &len) < 0)
    return "recvfrom failed";
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
  return text;
}

std::string resolved(const char* name) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(name, "80", &hints, &res);
  if (rc != 0) return gai_strerror(rc);
  std::string a = firstAddress(res);
  freeaddrinfo(res);
  return a;
}

TEST(MifApiInsideRun, PinGoesThroughTheEngineAndHolds) {
  REQUIRE_RUN(false);
  int listener = peerListener(8090);
  ASSERT_GE(listener, 0);
  // The engine's pin (MIF_PVD=wifi) for a socket the program did not pin.
  int plain = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(sourceSeen(plain, listener, 8090), "192.0.2.10");
  close(plain);
  // Pinned to vpn through the API: the connect's own decision (wifi) does not move it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(mif_socket_set_pvd(fd, "vpn"), 0) << mif_strerror(errno);
  EXPECT_EQ(device(fd), "vpn0");
  EXPECT_EQ(sourceSeen(fd, listener, 8090), "198.51.100.11");
  close(fd);
  close(listener);
  // The engine did it: its trace has the pin.
  const std::string trace = traceText();
  EXPECT_NE(trace.find("\"call\":\"mif_socket_set_pvd\""), std::string::npos) << trace;
  EXPECT_NE(trace.find("\"pvd\":\"vpn\",\"interface\":\"vpn0\",\"source\":\"198.51.100.11\""),
            std::string::npos)
      << trace;
}

TEST(MifApiInsideRun, NamesAreTheEnginesPvds) {
  REQUIRE_RUN(false);
  // Standalone, an interface is an ad hoc PvD; under mif run, only the ones its --pvd
  // named are: the API does not grow a second policy beside the engine's.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(mif_socket_set_pvd(fd, "eth9"), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_NE(std::string(mif_strerror(ENOENT)).find("--pvd"), std::string::npos)
      << mif_strerror(ENOENT);
  EXPECT_EQ(mif_socket_set_pvd(fd, "down"), -1);
  EXPECT_EQ(errno, ENETDOWN);
  EXPECT_NE(std::string(mif_strerror(ENETDOWN)).find("'down'"), std::string::npos);
  close(fd);
  mif_pvd list[8];
  const int n = mif_pvd_list(list, 8);
  ASSERT_EQ(n, 4);  // the policy's four, nothing ad hoc
  EXPECT_STREQ(list[1].name, "vpn");
  EXPECT_STREQ(list[1].ifname, "vpn0");
  EXPECT_GT(mif_view_generation(), 0u);
}

TEST(MifApiInsideRun, LookupsAreTaggedForTheEnginesConnect) {
  REQUIRE_RUN(false);
  ASSERT_EQ(sh("ip -n " + gPeer + " addr add 203.0.113.81/32 dev lo 2>/dev/null || true"), 0);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  ASSERT_EQ(mif_getaddrinfo("vpn", "www.example.test", "8091", &hints, &res), 0)
      << mif_strerror(EAI_AGAIN);
  ASSERT_EQ(firstAddress(res), "203.0.113.81");
  // A socket the program did not pin: the engine's connect finds the address tagged by
  // the API's lookup (the vpn's DNS gave it) and sends it through vpn, not the wifi pin.
  int listener = peerListener(8091, "203.0.113.81");
  ASSERT_GE(listener, 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(sourceSeen(fd, listener, 8091, "203.0.113.81"), "198.51.100.11");
  close(fd);
  close(listener);
  mif_freeaddrinfo(res);
  const std::string trace = traceText();
  EXPECT_NE(trace.find("\"call\":\"mif_getaddrinfo\",\"name\":\"www.example.test\""), std::string::npos)
      << trace;
  EXPECT_NE(trace.find("\"step_name\":\"DNS tag\""), std::string::npos) << trace;
  // An unknown PvD, and the PvD with no interface: as standalone.
  EXPECT_EQ(mif_getaddrinfo("nosuchpvd", "www.example.test", nullptr, &hints, &res), EAI_SYSTEM);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(mif_getaddrinfo("gone", "www.example.test", nullptr, &hints, &res), EAI_AGAIN);
  EXPECT_NE(std::string(mif_strerror(EAI_AGAIN)).find("'gone'"), std::string::npos)
      << mif_strerror(EAI_AGAIN);
}

TEST(MifApiInsideRun, ProcessDefaultMovesEveryNewSocketAndLookup) {
  REQUIRE_RUN(false);
  int listener = peerListener(8092);
  ASSERT_GE(listener, 0);
  int udpServer = peerListener(8093, "203.0.113.80", SOCK_DGRAM);
  ASSERT_GE(udpServer, 0);
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_EQ(datagramSource(udp, udpServer, 8093), "192.0.2.10");  // the wifi pin
  EXPECT_EQ(resolved("www.example.test"), "203.0.113.80");        // wifi's server

  ASSERT_EQ(mif_process_set_pvd("vpn"), 0) << mif_strerror(errno);
  char name[32];
  EXPECT_EQ(mif_process_get_pvd(name, sizeof name), 3);
  EXPECT_STREQ(name, "vpn");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(sourceSeen(fd, listener, 8092), "198.51.100.11");
  close(fd);
  // The datagram socket's cached decision (wifi) is not reused under the new default.
  EXPECT_EQ(datagramSource(udp, udpServer, 8093), "198.51.100.11");
  EXPECT_EQ(resolved("www.example.test"), "203.0.113.81");  // vpn's server
  // A socket pinned through the API keeps its PvD whatever the default, and its last
  // datagram's decision (vpn, per datagram) is forgotten when it is pinned.
  ASSERT_EQ(mif_socket_set_pvd(udp, "wifi"), 0) << mif_strerror(errno);
  EXPECT_EQ(datagramSource(udp, udpServer, 8093), "192.0.2.10");

  ASSERT_EQ(mif_process_set_pvd(nullptr), 0);
  EXPECT_EQ(mif_process_get_pvd(name, sizeof name), 0);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(sourceSeen(fd, listener, 8092), "192.0.2.10");
  close(fd);
  EXPECT_EQ(resolved("www.example.test"), "203.0.113.80");
  EXPECT_EQ(mif_process_set_pvd("nosuchpvd"), -1);
  EXPECT_EQ(errno, ENOENT);
  close(udp);
  close(udpServer);
  close(listener);
}

TEST(MifApiInsideRun, NullUnpinsThroughTheEngine) {
  REQUIRE_RUN(false);
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  ASSERT_EQ(mif_socket_set_pvd(fd, "vpn"), 0) << mif_strerror(errno);
  EXPECT_EQ(device(fd), "vpn0");
  ASSERT_EQ(mif_socket_set_pvd(fd, nullptr), 0);
  EXPECT_EQ(device(fd), "");
  close(fd);
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_EQ(mif_socket_set_pvd(u, "wifi"), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  close(u);
}

// Last of its suite: it leaves wifi failed for its back-off. The peer forwards, and
// answers 198.18.0.0/15 with "host unreachable": the engine's connect through wifi reports
// a broken path, and the list says so.
TEST(MifApiInsideRun, ListShowsTheHealthOfTheProgramsOwnTraffic) {
  REQUIRE_RUN(false);
  mif_pvd list[8];
  ASSERT_EQ(mif_pvd_list(list, 8), 4);
  EXPECT_EQ(list[0].flags & (MIF_PVD_DEGRADED | MIF_PVD_FAILED), 0u);
  ASSERT_EQ(sh("ip netns exec " + gPeer + " sysctl -qw net.ipv4.ip_forward=1"), 0);
  ASSERT_EQ(sh("ip -n " + gPeer + " route add unreachable 198.18.0.0/15"), 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(80);
  inet_pton(AF_INET, "198.18.0.1", &dst.sin_addr);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst), -1);
  EXPECT_EQ(errno, EHOSTUNREACH);
  close(fd);
  ASSERT_EQ(mif_pvd_list(list, 8), 4);
  EXPECT_STREQ(list[0].name, "wifi");
  EXPECT_TRUE(list[0].flags & MIF_PVD_FAILED) << list[0].flags;
  EXPECT_EQ(list[1].flags & (MIF_PVD_DEGRADED | MIF_PVD_FAILED), 0u);
  sh("ip -n " + gPeer + " route del unreachable 198.18.0.0/15");
}

TEST(MifApiInsideStrictRun, NothingEscapesTheStrictPin) {
  REQUIRE_RUN(true);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  errno = 0;
  EXPECT_EQ(mif_socket_set_pvd(fd, "vpn"), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(std::string(mif_strerror(EPERM)).find("allows only wifi"), std::string::npos)
      << mif_strerror(EPERM);
  EXPECT_EQ(device(fd), "");  // nothing was bound
  ASSERT_EQ(mif_socket_set_pvd(fd, "wifi"), 0) << mif_strerror(errno);
  EXPECT_EQ(device(fd), "wifi0");
  close(fd);

  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* res = nullptr;
  EXPECT_EQ(mif_getaddrinfo("vpn", "www.example.test", nullptr, &hints, &res), EAI_SYSTEM);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(std::string(mif_strerror(EAI_SYSTEM)).find("'vpn'"), std::string::npos);
  ASSERT_EQ(mif_getaddrinfo("wifi", "www.example.test", nullptr, &hints, &res), 0);
  EXPECT_EQ(firstAddress(res), "203.0.113.80");
  mif_freeaddrinfo(res);

  EXPECT_EQ(mif_process_set_pvd("vpn"), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(mif_process_set_pvd("wifi"), 0);
  EXPECT_EQ(mif_process_set_pvd(nullptr), 0);
}

}  // namespace
