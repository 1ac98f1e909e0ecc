#include "cmsg.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/mman.h>

#include <cstring>

namespace mif::preload {
namespace {

Outcome outcome(policy::IpAddress dst, int ifindex, std::optional<policy::IpAddress> source) {
  Outcome o;
  o.pktinfo = true;
  o.ifindex = ifindex;
  o.endpoint.addr = dst;
  if (source) {
    o.hasSource = true;
    o.source = *source;
  }
  return o;
}

TEST(Cmsg, KeepsTheProgramsControlMessagesAndAddsPktinfo) {
  alignas(cmsghdr) char theirs[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_control = theirs;
  m.msg_controllen = sizeof theirs;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TTL;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int ttl = 7;
  std::memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
  EXPECT_FALSE(hasPktinfo(m));

  Outcome o = outcome(policy::IpAddress::v4(192, 0, 2, 1), 5, policy::IpAddress::v4(192, 0, 2, 10));
  alignas(cmsghdr) char buf[kControlBuffer];
  size_t len = 0;
  ASSERT_EQ(mergePktinfo(m, o, AF_INET, buf, sizeof buf, &len), Merge::Done);
  msghdr out{};
  out.msg_control = buf;
  out.msg_controllen = len;
  cmsghdr* first = CMSG_FIRSTHDR(&out);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->cmsg_type, IP_TTL);
  cmsghdr* second = CMSG_NXTHDR(&out, first);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->cmsg_level, IPPROTO_IP);
  EXPECT_EQ(second->cmsg_type, IP_PKTINFO);
  in_pktinfo pi;
  std::memcpy(&pi, CMSG_DATA(second), sizeof pi);
  EXPECT_EQ(pi.ipi_ifindex, 5);
  char text[32];
  inet_ntop(AF_INET, &pi.ipi_spec_dst, text, sizeof text);
  EXPECT_STREQ(text, "192.0.2.10");
  EXPECT_TRUE(hasPktinfo(out));
  EXPECT_EQ(CMSG_NXTHDR(&out, second), nullptr);
  // The program's buffer is unchanged.
  EXPECT_EQ(m.msg_control, theirs);
  EXPECT_EQ(m.msg_controllen, sizeof theirs);
}

TEST(Cmsg, MappedDestinationOnIpv6SocketUsesMappedSource) {
  msghdr m{};
  Outcome o = outcome(policy::IpAddress::v4(198, 51, 100, 1), 3, std::nullopt);
  alignas(cmsghdr) char buf[kControlBuffer];
  size_t len = 0;
  ASSERT_EQ(mergePktinfo(m, o, AF_INET6, buf, sizeof buf, &len), Merge::Done);
  msghdr out{};
  out.msg_control = buf;
  out.msg_controllen = len;
  cmsghdr* c = CMSG_FIRSTHDR(&out);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->cmsg_level, IPPROTO_IPV6);
  EXPECT_EQ(c->cmsg_type, IPV6_PKTINFO);
  in6_pktinfo pi;
  std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
  EXPECT_EQ(pi.ipi6_ifindex, 3u);
  // ::ffff:0.0.0.0: the kernel's IPv4 path accepts only a v4-mapped source here.
  EXPECT_TRUE(IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr));
}

TEST(Cmsg, TooLargeIsReported) {
  static char huge[kControlBuffer];
  msghdr m{};
  m.msg_control = huge;
  m.msg_controllen = sizeof huge;
  Outcome o = outcome(*policy::IpAddress::parse("2001:db8::1"), 2, std::nullopt);
  alignas(cmsghdr) char buf[kControlBuffer];
  size_t len = 0;
  EXPECT_EQ(mergePktinfo(m, o, AF_INET6, buf, sizeof buf, &len), Merge::TooLarge);
}

TEST(Cmsg, ProgramsOwnPktinfoStands) {
  alignas(cmsghdr) char theirs[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr m{};
  m.msg_control = theirs;
  m.msg_controllen = sizeof theirs;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  EXPECT_TRUE(hasPktinfo(m));
  Outcome o = outcome(policy::IpAddress::v4(192, 0, 2, 1), 5, std::nullopt);
  alignas(cmsghdr) char buf[kControlBuffer];
  size_t len = 0;
  EXPECT_EQ(mergePktinfo(m, o, AF_INET, buf, sizeof buf, &len), Merge::ProgramsOwn);
}

// A control buffer the kernel would answer with EFAULT is reported, never read: NULL with
// a length, an unmapped page, a header cut by one.
TEST(Cmsg, UnreadableControlIsReportedNotRead) {
  auto* pages = static_cast<char*>(
      mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(pages, MAP_FAILED);
  ASSERT_EQ(munmap(pages + 4096, 4096), 0);
  Outcome o = outcome(policy::IpAddress::v4(192, 0, 2, 1), 5, std::nullopt);
  alignas(cmsghdr) char buf[kControlBuffer];
  size_t len = 0;
  msghdr m{};
  m.msg_controllen = CMSG_SPACE(sizeof(int));
  EXPECT_EQ(mergePktinfo(m, o, AF_INET, buf, sizeof buf, &len), Merge::Unreadable);
  m.msg_control = pages + 4096;
  EXPECT_EQ(mergePktinfo(m, o, AF_INET, buf, sizeof buf, &len), Merge::Unreadable);
  m.msg_control = pages + 4096 - 8;
  EXPECT_EQ(mergePktinfo(m, o, AF_INET, buf, sizeof buf, &len), Merge::Unreadable);
  m.msg_control = pages + 4096 - m.msg_controllen;  // readable to its last byte
  EXPECT_EQ(mergePktinfo(m, o, AF_INET, buf, sizeof buf, &len), Merge::Done);
  munmap(pages, 4096);
}

}  // namespace
}  // namespace mif::preload
