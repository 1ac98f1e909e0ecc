#include "sockaddr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/un.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace mif::preload {
namespace {

TEST(Sockaddr, Ipv4) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(443);
  inet_pton(AF_INET, "192.0.2.7", &in.sin_addr);
  Endpoint e;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in), sizeof in, &e));
  EXPECT_EQ(e.addr, policy::IpAddress::v4(192, 0, 2, 7));
  EXPECT_EQ(e.port, 443);
  EXPECT_EQ(e.socketFamily, AF_INET);
  EXPECT_FALSE(e.loopback());
  EXPECT_FALSE(e.wildcard());
}

TEST(Sockaddr, V4MappedIsDecidedAsIpv4) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(53);
  inet_pton(AF_INET6, "::ffff:198.51.100.1", &in6.sin6_addr);
  Endpoint e;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6, &e));
  EXPECT_EQ(e.addr, policy::IpAddress::v4(198, 51, 100, 1));
  EXPECT_EQ(e.socketFamily, AF_INET6);
  sockaddr_storage back;
  socklen_t len = toSockaddr(e.addr, 0, e.socketFamily, &back);
  ASSERT_EQ(len, sizeof(sockaddr_in6));
  char text[64];
  inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&back)->sin6_addr, text, sizeof text);
  EXPECT_STREQ(text, "::ffff:198.51.100.1");
}

TEST(Sockaddr, RejectsWhatLibcShouldJudge) {
  Endpoint e;
  EXPECT_FALSE(fromSockaddr(nullptr, 16, &e));
  sockaddr_in in{};
  in.sin_family = AF_INET;
  EXPECT_FALSE(fromSockaddr(reinterpret_cast<sockaddr*>(&in), 1, &e));
  EXPECT_FALSE(fromSockaddr(reinterpret_cast<sockaddr*>(&in), sizeof in - 1, &e));
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_FALSE(fromSockaddr(reinterpret_cast<sockaddr*>(&un), sizeof un, &e));
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  EXPECT_FALSE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6 - 4, &e));
}

TEST(Sockaddr, LoopbackWildcardAndScope) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_addr = in6addr_loopback;
  Endpoint e;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6, &e));
  EXPECT_TRUE(e.loopback());
  in6.sin6_addr = in6addr_any;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6, &e));
  EXPECT_TRUE(e.wildcard());
  inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
  in6.sin6_scope_id = 3;
  ASSERT_TRUE(fromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6, &e));
  EXPECT_EQ(e.scopeId, 3u);
  char buf[64];
  EXPECT_STREQ(formatAddress(e.addr, buf, sizeof buf), "fe80::1");
}

// Caller memory: what the kernel could not read is reported, never read (a read would
// crash this test), and errno is kept.
class CallerMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    pages_ = static_cast<char*>(
        mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(pages_, MAP_FAILED);
    ASSERT_EQ(munmap(pages_ + 2 * 4096, 4096), 0);  // two readable pages, then a hole
  }
  void TearDown() override { munmap(pages_, 2 * 4096); }
  char* hole() const { return pages_ + 2 * 4096; }
  char* pages_ = nullptr;
};

TEST_F(CallerMemory, ReadableRangesAcrossPages) {
  errno = 4242;
  EXPECT_TRUE(callerReadable(pages_, 2 * 4096, nullptr));
  EXPECT_TRUE(callerReadable(pages_ + 4096 - 8, 16, nullptr));  // across two readable pages
  EXPECT_TRUE(callerReadable(hole() - 16, 16, nullptr));          // ends at the hole
  EXPECT_FALSE(callerReadable(hole() - 8, 16, nullptr));          // its last 8 bytes in it
  EXPECT_FALSE(callerReadable(hole(), 1, nullptr));
  EXPECT_FALSE(callerReadable(reinterpret_cast<void*>(1), 16, nullptr));
  EXPECT_FALSE(callerReadable(nullptr, 16, nullptr));
  EXPECT_FALSE(callerReadable(reinterpret_cast<void*>(UINTPTR_MAX - 4), 16, nullptr));
  EXPECT_TRUE(callerReadable(nullptr, 0, nullptr));  // nothing to read
  EXPECT_EQ(errno, 4242);
}

TEST_F(CallerMemory, ProtNoneIsNotReadable) {
  ASSERT_EQ(mprotect(pages_ + 4096, 4096, PROT_NONE), 0);
  EXPECT_FALSE(callerReadable(pages_ + 4096, 16, nullptr));
  EXPECT_FALSE(callerReadable(pages_ + 4096 - 8, 16, nullptr));
  EXPECT_TRUE(callerReadable(pages_ + 4096 - 16, 16, nullptr));
}

TEST_F(CallerMemory, TheHooksOwnFramePageNeedsNoProbe) {
  // Memory of the live frame's page is readable by construction; the answer is the same
  // as the probe's.
  char local[64] = {};
  EXPECT_TRUE(callerReadable(local, sizeof local, MIF_LIVE_FRAME()));
  // A frame address never vouches for memory outside its own page.
  EXPECT_FALSE(callerReadable(hole() - 8, 16, hole() - 1));
}

// What needs no probe (the main thread's stack above the live frame, the program-break
// heap) reads as readable, and memory outside both is still judged by the probe.
bool deepCall(int depth, const char* outer) {
  char here[512];  // 32 of these put `outer` several pages above the last frame
  here[0] = static_cast<char>(depth);
  const bool r = depth > 0 ? deepCall(depth - 1, outer) : callerReadable(outer, 64, MIF_LIVE_FRAME());
  asm volatile("" : : "r"(here) : "memory");  // no tail call: every frame stays live
  return r;
}

TEST_F(CallerMemory, MainStackAboveTheFrameAndTheBrkHeapNeedNoProbe) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan's malloc does not use the brk heap, and its stack frames may live elsewhere: the
  // shortcut this test counts cannot apply (the probe still answers correctly).
  GTEST_SKIP() << "not under AddressSanitizer";
#endif
  char* small = static_cast<char*>(std::malloc(32));  // the main arena: the brk heap
  ASSERT_NE(small, nullptr);
  EXPECT_TRUE(callerReadable(small, 32, MIF_LIVE_FRAME()));  // reads start_brk once
  const uint64_t before = probesMade();
  char outer[64] = {1};
  EXPECT_TRUE(deepCall(32, outer));
  EXPECT_TRUE(callerReadable(small, 32, MIF_LIVE_FRAME()));
  EXPECT_EQ(probesMade(), before) << "a stack or brk-heap sockaddr costs no system call";
  std::free(small);
  // Anything else is probed, and a live frame vouches for nothing below itself.
  EXPECT_TRUE(callerReadable(pages_, 16, MIF_LIVE_FRAME()));
  EXPECT_FALSE(callerReadable(hole(), 16, MIF_LIVE_FRAME()));
  EXPECT_EQ(probesMade(), before + 2);
}

TEST_F(CallerMemory, SockaddrsTheKernelWouldRefuse) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(80);
  inet_pton(AF_INET, "192.0.2.7", &in.sin_addr);
  Endpoint e;
  char* end = hole() - sizeof in;
  std::memcpy(end, &in, sizeof in);
  EXPECT_TRUE(fromCallerSockaddr(reinterpret_cast<sockaddr*>(end), sizeof in, &e, nullptr));
  EXPECT_EQ(e.addr, policy::IpAddress::v4(192, 0, 2, 7));
  // The kernel copies all of `len`: a valid sockaddr_in followed by the hole is EFAULT.
  char* cut = hole() - 12;
  std::memcpy(cut, &in, 12);
  EXPECT_FALSE(fromCallerSockaddr(reinterpret_cast<sockaddr*>(cut), sizeof in, &e, nullptr));
  EXPECT_FALSE(fromCallerSockaddr(reinterpret_cast<sockaddr*>(1), sizeof in, &e, nullptr));
  // Lengths the kernel refuses with EINVAL before reading.
  alignas(sockaddr_storage) char big[256] = {};
  std::memcpy(big, &in, sizeof in);
  auto* sa = reinterpret_cast<sockaddr*>(big);
  EXPECT_TRUE(fromCallerSockaddr(sa, sizeof(sockaddr_storage), &e, nullptr));
  EXPECT_FALSE(fromCallerSockaddr(sa, sizeof(sockaddr_storage) + 1, &e, nullptr));
  EXPECT_FALSE(fromCallerSockaddr(sa, static_cast<socklen_t>(-1), &e, nullptr));
  // sendmsg cuts an oversized msg_namelen instead (a negative one stays refused).
  EXPECT_EQ(msgNameLength(sa, 200), sizeof(sockaddr_storage));
  EXPECT_EQ(msgNameLength(sa, static_cast<socklen_t>(-1)), static_cast<socklen_t>(-1));
  EXPECT_EQ(msgNameLength(nullptr, 16), 0u);
}

}  // namespace
}  // namespace mif::preload
