// glibc's addrinfo layout and order, built by mif and freed by glibc.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <string>
#include <vector>

#include "fixture.h"
#include "mif/dns/addrinfo.h"
#include "mif/dns/local_names.h"

using mif::policy::IpAddress;

namespace {
mif::dns::Answer answerOf(std::initializer_list<const char*> addrs, const char* owner) {
  mif::dns::Answer a;
  a.status = mif::dns::Status::Ok;
  a.owner = owner;
  for (const char* s : addrs) a.addresses.push_back(*IpAddress::parse(s));
  return a;
}
}  // namespace

TEST(Addrinfo, LayoutIsGlibcsAndGlibcFreesIt) {
  std::vector<mif::dns::ServTuple> st;
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  ASSERT_EQ(mif::dns::probeService(::getaddrinfo, ::freeaddrinfo, "http", hints, &st), 0);
  ASSERT_GE(st.size(), 1u);  // whatever /etc/services lists (raw has no service)
  EXPECT_EQ(st[0].socktype, SOCK_STREAM);
  EXPECT_EQ(ntohs(st[0].portNet), 80);
  auto a = answerOf({"192.0.2.1", "192.0.2.2"}, "real.example");
  addrinfo* res = nullptr;
  ASSERT_EQ(mif::dns::buildAddrinfo("alias.example", hints, a, st, nullptr, nullptr, &res), 0);
  int n = 0;
  for (addrinfo* p = res; p; p = p->ai_next, ++n) {
    EXPECT_EQ(reinterpret_cast<char*>(p->ai_addr), reinterpret_cast<char*>(p + 1));
    EXPECT_EQ(p->ai_flags, AI_CANONNAME);
    if (n == 0)
      EXPECT_STREQ(p->ai_canonname, "real.example");
    else
      EXPECT_EQ(p->ai_canonname, nullptr);
  }
  EXPECT_EQ(n, int(2 * st.size()));
  freeaddrinfo(res);  // glibc's
}

TEST(Addrinfo, ServiceErrorsAreGlibcs) {
  std::vector<mif::dns::ServTuple> st;
  addrinfo h{};
  h.ai_socktype = SOCK_RAW;
  EXPECT_EQ(mif::dns::probeService(::getaddrinfo, ::freeaddrinfo, "http", h, &st), EAI_SERVICE);
  h = {};
  h.ai_flags = AI_NUMERICSERV;
  EXPECT_EQ(mif::dns::probeService(::getaddrinfo, ::freeaddrinfo, "http", h, &st), EAI_NONAME);
  h = {};
  h.ai_socktype = 99;
  EXPECT_EQ(mif::dns::probeService(::getaddrinfo, ::freeaddrinfo, nullptr, h, &st), EAI_SOCKTYPE);
  h = {};
  h.ai_flags = 0x4000;
  EXPECT_EQ(mif::dns::probeService(::getaddrinfo, ::freeaddrinfo, nullptr, h, &st), EAI_BADFLAGS);
}

// Found by fuzz_dns_answer under ASan: the sort's prefix match read one byte past the
// address (and past the table's prefix) for an answer holding ::1, the only /128 of
// glibc's tables. This test fails under -DMIF_SANITIZE=ON without the fix.
TEST(Addrinfo, SortingAnAnswerWithLoopbackReadsNothingPastTheAddress) {
  std::vector<mif::dns::ServTuple> st = {{SOCK_STREAM, IPPROTO_TCP, htons(1)}};
  auto a = answerOf({"2001:db8::1", "::1", "192.0.2.1"}, "x");
  addrinfo h{};
  addrinfo* res = nullptr;
  ASSERT_EQ(mif::dns::buildAddrinfo("x", h, a, st, nullptr, nullptr, &res), 0);
  int n = 0;
  for (addrinfo* p = res; p; p = p->ai_next) ++n;
  EXPECT_EQ(n, 3);
  freeaddrinfo(res);
}

TEST(Addrinfo, V4MappedAndAll) {
  std::vector<mif::dns::ServTuple> st = {{SOCK_STREAM, IPPROTO_TCP, htons(1)}};
  auto a = answerOf({"192.0.2.1", "2001:db8::1"}, "x");
  addrinfo h{};
  h.ai_family = AF_INET6;
  h.ai_flags = AI_V4MAPPED;
  addrinfo* res = nullptr;
  ASSERT_EQ(mif::dns::buildAddrinfo("x", h, a, st, nullptr, nullptr, &res), 0);
  int n = 0;
  for (addrinfo* p = res; p; p = p->ai_next) ++n;
  EXPECT_EQ(n, 1);  // an AAAA exists: the mapped A is dropped without AI_ALL
  freeaddrinfo(res);
  h.ai_flags = AI_V4MAPPED | AI_ALL;
  ASSERT_EQ(mif::dns::buildAddrinfo("x", h, a, st, nullptr, nullptr, &res), 0);
  n = 0;
  for (addrinfo* p = res; p; p = p->ai_next) ++n;
  EXPECT_EQ(n, 2);
  freeaddrinfo(res);
  h.ai_flags = 0;
  auto only4 = answerOf({"192.0.2.1"}, "x");
  EXPECT_EQ(mif::dns::buildAddrinfo("x", h, only4, st, nullptr, nullptr, &res), EAI_NODATA);
}

// RFC 8305 section 4 (issue 30): the first address's family, then the other's first, and
// so on; each family keeps its order; one family runs out, the other's rest follow.
TEST(Addrinfo, InterleaveFamilies) {
  using V = std::vector<size_t>;
  auto of = [](std::initializer_list<int> f) {
    return mif::dns::interleaveFamilies(std::vector<int>(f));
  };
  const int v4 = AF_INET, v6 = AF_INET6;
  EXPECT_EQ(of({}), V{});
  EXPECT_EQ(of({v6}), V{0});
  EXPECT_EQ(of({v6, v6, v4, v4}), (V{0, 2, 1, 3}));
  EXPECT_EQ(of({v4, v4, v4, v6}), (V{0, 3, 1, 2}));
  EXPECT_EQ(of({v6, v4, v6, v4}), (V{0, 1, 2, 3}));  // already interleaved
  EXPECT_EQ(of({v4, v6, v6, v6}), (V{0, 1, 2, 3}));
  EXPECT_EQ(of({v4, v4, v6, v4, v6, v6, v6}), (V{0, 2, 1, 4, 3, 5, 6}));
  EXPECT_EQ(of({v6, v6, v6}), (V{0, 1, 2}));  // one family: unchanged
}

// The list getaddrinfo returns: glibc's RFC 6724 order (IPv6 first here: precedence 40
// against IPv4's 10), then interleaved; the nodes of one address (one per socktype) stay
// together, the canonical name stays on the first node. One family asked: glibc's order.
TEST(Addrinfo, DualStackAnswersAreInterleavedAndOneFamilyIsNot) {
  std::vector<mif::dns::ServTuple> st = {{SOCK_STREAM, IPPROTO_TCP, htons(80)},
                                         {SOCK_DGRAM, IPPROTO_UDP, htons(80)}};
  auto a = answerOf({"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"}, "canon.example");
  auto listOf = [](addrinfo* res) {
    std::string out;
    for (addrinfo* p = res; p; p = p->ai_next) {
      char host[INET6_ADDRSTRLEN];
      const void* at = p->ai_family == AF_INET6
                           ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr)
                           : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr);
      inet_ntop(p->ai_family, at, host, sizeof host);
      out += std::string(host) + (p->ai_socktype == SOCK_STREAM ? "/s" : "/d") +
             (p->ai_canonname ? "(" + std::string(p->ai_canonname) + ")" : "") + " ";
    }
    return out;
  };
  addrinfo h{};
  h.ai_flags = AI_CANONNAME;
  addrinfo* res = nullptr;
  ASSERT_EQ(mif::dns::buildAddrinfo("x", h, a, st, nullptr, nullptr, &res), 0);
  EXPECT_EQ(listOf(res),
            "2001:db8::1/s(canon.example) 2001:db8::1/d 192.0.2.1/s 192.0.2.1/d "
            "2001:db8::2/s 2001:db8::2/d 192.0.2.2/s 192.0.2.2/d ");
  freeaddrinfo(res);
  h.ai_family = AF_INET;
  ASSERT_EQ(mif::dns::buildAddrinfo("x", h, a, st, nullptr, nullptr, &res), 0);
  EXPECT_EQ(listOf(res), "192.0.2.1/s(canon.example) 192.0.2.1/d 192.0.2.2/s 192.0.2.2/d ");
  freeaddrinfo(res);
  h.ai_family = AF_INET6;
  h.ai_flags = AI_V4MAPPED | AI_ALL;  // every address IPv6: nothing to interleave
  ASSERT_EQ(mif::dns::buildAddrinfo("x", h, a, st, nullptr, nullptr, &res), 0);
  EXPECT_EQ(listOf(res), "2001:db8::1/s 2001:db8::1/d 2001:db8::2/s 2001:db8::2/d "
                         "::ffff:192.0.2.1/s ::ffff:192.0.2.1/d ::ffff:192.0.2.2/s ::ffff:192.0.2.2/d ");
  freeaddrinfo(res);
}

TEST(LocalNames, WhatStaysWithGlibc) {
  EXPECT_TRUE(mif::dns::isNumericHost("192.0.2.1"));
  EXPECT_TRUE(mif::dns::isNumericHost("127.1"));
  EXPECT_TRUE(mif::dns::isNumericHost("fe80::1%eth0"));
  EXPECT_FALSE(mif::dns::isNumericHost("192.0.2.1 junk"));
  EXPECT_FALSE(mif::dns::isNumericHost("www.example"));
  EXPECT_TRUE(mif::dns::isLocalhost("LocalHost."));
  EXPECT_TRUE(mif::dns::isValidHostname("a-b_c.example."));
  EXPECT_FALSE(mif::dns::isValidHostname("-bad.example"));
  EXPECT_FALSE(mif::dns::isValidHostname("sp ace.example"));
  EXPECT_FALSE(mif::dns::isValidHostname("a..b"));
}
