// DNS sources on files written by the test (no root, no namespace needed).
#include "dns_sources.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace mif::view::detail {
namespace {

class DnsSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mifview-dns-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  void write(const std::string& rel, const std::string& text) {
    std::string path = dir_ + "/" + rel;
    std::system(("mkdir -p $(dirname " + path + ")").c_str());
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  static Interface link(int index) {
    Interface i;
    i.index = index;
    i.name = "eth" + std::to_string(index);
    return i;
  }
  std::string dir_;
};

TEST(ParseServer, Forms) {
  DnsServer s;
  ASSERT_TRUE(parseServer("192.0.2.1", DnsOrigin::Resolved, s));
  EXPECT_EQ(s.addr.toString(), "192.0.2.1");
  EXPECT_EQ(s.port, 53);
  ASSERT_TRUE(parseServer("192.0.2.1:5353", DnsOrigin::Resolved, s));
  EXPECT_EQ(s.port, 5353);
  ASSERT_TRUE(parseServer("[2001:db8::1]:853#dns.example", DnsOrigin::Resolved, s));
  EXPECT_EQ(s.addr.toString(), "2001:db8::1");
  EXPECT_EQ(s.port, 853);
  ASSERT_TRUE(parseServer("fe80::1%3", DnsOrigin::Resolved, s));
  EXPECT_EQ(s.addr.toString(), "fe80::1");
  ASSERT_TRUE(parseServer("2001:db8::53", DnsOrigin::ResolvConf, s));
  EXPECT_EQ(s.origin, DnsOrigin::ResolvConf);
  EXPECT_FALSE(parseServer("dns.example", DnsOrigin::Resolved, s));
  EXPECT_FALSE(parseServer("192.0.2.1:0", DnsOrigin::Resolved, s));
  EXPECT_FALSE(parseServer("[2001:db8::1", DnsOrigin::Resolved, s));
}

TEST_F(DnsSourcesTest, ResolvedLinkStateThenNetworkd) {
  write("resolve/netif/2",
        "# resolved\nSERVERS=192.0.2.53 [2001:db8::53]:5353\nDOMAINS=Corp.Example. ~lab.example "
        "~.\n");
  write("netif/links/3",
        "ADMIN_STATE=configured\nDNS=198.51.100.53\nDOMAINS=\nROUTE_DOMAINS=wifi.example\n");
  auto src = makeResolvedSource(dir_, /*anyNamespace=*/true);
  DnsFacts a, b, c;
  src->lookup(link(2), false, a);
  src->lookup(link(3), false, b);
  src->lookup(link(4), false, c);  // no file: not an error, nothing known
  ASSERT_EQ(a.servers.size(), 2u);
  EXPECT_EQ(a.servers[1].addr.toString(), "2001:db8::53");
  EXPECT_EQ(a.servers[1].port, 5353);
  EXPECT_EQ(a.servers[0].origin, DnsOrigin::Resolved);
  EXPECT_EQ(a.domains, (std::vector<std::string>{"corp.example", "lab.example"}));
  ASSERT_EQ(b.servers.size(), 1u);
  EXPECT_EQ(b.servers[0].addr.toString(), "198.51.100.53");
  EXPECT_EQ(b.domains, (std::vector<std::string>{"wifi.example"}));
  EXPECT_TRUE(c.servers.empty() && c.domains.empty());
}

TEST_F(DnsSourcesTest, ResolvConfOnlyForTheDefaultRouteAndWithoutLoopback) {
  write("resolv.conf",
        "# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver ::1\n"
        "nameserver 2001:db8::53\nsearch a.example B.example\noptions edns0\n");
  auto src = makeResolvConfSource(dir_ + "/resolv.conf");
  DnsFacts other, holder;
  src->lookup(link(2), false, other);
  src->lookup(link(2), true, holder);
  EXPECT_TRUE(other.servers.empty());
  ASSERT_EQ(holder.servers.size(), 2u);
  EXPECT_EQ(holder.servers[0].addr.toString(), "192.0.2.53");
  EXPECT_EQ(holder.servers[1].addr.toString(), "2001:db8::53");
  EXPECT_EQ(holder.servers[0].origin, DnsOrigin::ResolvConf);
  EXPECT_EQ(holder.domains, (std::vector<std::string>{"a.example", "b.example"}));
}

}  // namespace
}  // namespace mif::view::detail
