#pragma once
// The network of the C API's tests (api_test.cpp builds it in main, before any thread) and
// the helpers both test files use. See api_test.cpp for the picture.
#include <gtest/gtest.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace apitest {

extern std::string gSkip;  // why the network tests skip ("" when the network is up)
extern std::string gPeer;  // the peer namespace's name
extern std::string gDir;   // temporary directory (policy, dnsmasq files, trace)

#define REQUIRE_NET()                               \
  do {                                              \
    if (!apitest::gSkip.empty()) GTEST_SKIP() << apitest::gSkip; \
  } while (0)

int sh(const std::string& cmd);
// A TCP listener (SOCK_STREAM) or a bound UDP socket (SOCK_DGRAM) in the peer namespace.
int peerListener(uint16_t port, const char* address = "203.0.113.80", int type = SOCK_STREAM);
// The device the socket is bound to ("" for none).
std::string device(int fd);
// Connects `fd` to the peer's TCP server and returns the source address the server saw.
std::string sourceSeen(int fd, int listener, uint16_t port, const char* address = "203.0.113.80");
std::string firstAddress(const addrinfo* ai);
// What libmif.so wrote to MIF_TRACE so far (the mif_api_inside_run tests).
std::string traceText();

}  // namespace apitest
