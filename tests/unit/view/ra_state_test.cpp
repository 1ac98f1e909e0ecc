// The router advertisement state under /run/mif (mif/view/ra_state.h): what a mif process
// heard comes back in another one with its age and what is left of its lifetime, only
// while its router is a default router, never past its lifetime, and is replaced by what
// that process hears itself; a portal's "open" mark; files nobody should trust are not read.
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "mif/view/ra_state.h"
#include "ra_source.h"
#include "ra_test_util.h"

namespace mif::view::detail {
namespace {

using namespace std::chrono_literals;
using Clock = RaStore::Clock;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

using ratest::defaultVia;
using ratest::factsOf;

// A state file as `mif show` writes it: heard at boot time 90 s, one fact of each kind.
const char* kFile =
    "mif-ra-state 1\n"
    "# a comment\n"
    "rdnss 3 wlan0 fe80::1 90000 600 2001:db8::53\n"
    "dnssl 3 wlan0 fe80::1 90000 600 corp.example\n"
    "pref64 3 wlan0 fe80::1 90000 600 2001:db8:64::/96\n"
    "captive 3 wlan0 fe80::1 90000 forever http://192.0.2.1/api captive -\n";

// A PREF64 option carries one of six lengths (RFC 8781); a state file naming another (a
// bare address is /128) is skipped, line by line, as a live RA with it would be.
TEST(RaState, APref64OfALengthNoRaCanCarryIsSkipped) {
  RaStore s;
  auto t = Clock::now();
  ASSERT_TRUE(s.load("mif-ra-state 1\n"
                     "pref64 3 wlan0 fe80::1 90000 600 2001:db8:64::1\n"
                     "pref64 3 wlan0 fe80::1 90000 600 2001:db8:64::/97\n"
                     "pref64 3 wlan0 fe80::1 90000 600 2001:db8:64::/40\n",
                     t, 100000));
  s.routesSeen({defaultVia(3, "fe80::1")});
  auto b = factsOf(s, 3, t);
  ASSERT_EQ(b.pref64.size(), 1u);
  EXPECT_EQ(b.pref64[0].prefix.toString(), "2001:db8::/40");
}

TEST(RaState, RecordedFactsComeBackWithTheirAgeWhileTheirRouterIsThere) {
  RaStore s;
  auto t = Clock::now();
  ASSERT_TRUE(s.load(kFile, t, 100000));  // read 10 s after they were heard
  s.routesSeen({defaultVia(3, "fe80::1")});
  auto b = factsOf(s, 3, t);
  ASSERT_EQ(b.pref64.size(), 1u);
  EXPECT_EQ(b.pref64[0].prefix.toString(), "2001:db8:64::/96");
  EXPECT_EQ(b.pref64[0].router.toString(), "fe80::1");
  EXPECT_EQ(b.pref64[0].heard, t - 10s);
  EXPECT_EQ(b.pref64[0].expires, t + 590s);
  ASSERT_EQ(b.captive.size(), 1u);
  EXPECT_EQ(b.captive[0].uri, "http://192.0.2.1/api");
  EXPECT_FALSE(b.captive[0].open);
  DnsFacts dns;
  s.lookup(3, t, dns);
  ASSERT_EQ(dns.servers.size(), 1u);
  EXPECT_EQ(dns.servers[0].addr.toString(), "2001:db8::53");
  EXPECT_EQ(dns.servers[0].origin, DnsOrigin::RouterAdvertisement);
  ASSERT_EQ(dns.domains.size(), 1u);
  EXPECT_EQ(dns.domains[0], "corp.example");
  // Written again, read again: the same facts, heard at the same time.
  RaStore again;
  ASSERT_TRUE(again.load(s.serialize(t, 100000), t + 5s, 105000));
  again.routesSeen({defaultVia(3, "fe80::1")});
  b = factsOf(again, 3, t + 5s);
  ASSERT_EQ(b.pref64.size(), 1u);
  EXPECT_EQ(b.pref64[0].heard, t - 10s);
  EXPECT_EQ(b.pref64[0].expires, t + 590s);
  EXPECT_EQ(b.captive.size(), 1u);
}

TEST(RaState, AFileNeverOutlivesTheKernelsRouteNorTheLifetimes) {
  // The kernel holds no default route from that router (it left, or the file is of
  // another namespace that had the same inode): nothing recorded is used.
  RaStore gone;
  auto t = Clock::now();
  ASSERT_TRUE(gone.load(kFile, t, 100000));
  gone.routesSeen({defaultVia(3, "fe80::2"), defaultVia(4, "fe80::1")});
  EXPECT_TRUE(factsOf(gone, 3, t).pref64.empty());
  EXPECT_TRUE(factsOf(gone, 3, t).captive.empty());
  DnsFacts dns;
  gone.lookup(3, t, dns);
  EXPECT_TRUE(dns.servers.empty());
  // Read after the lifetimes ended (heard at 90 s, 600 s lifetime): only the portal,
  // which has none of its own.
  RaStore late;
  ASSERT_TRUE(late.load(kFile, t, 700000));
  late.routesSeen({defaultVia(3, "fe80::1")});
  EXPECT_TRUE(factsOf(late, 3, t).pref64.empty());
  EXPECT_EQ(factsOf(late, 3, t).captive.size(), 1u);
}

TEST(RaState, WhatTheProcessHearsItselfWins) {
  RaStore s;
  auto t = Clock::now();
  ASSERT_TRUE(s.load(kFile, t, 100000));
  // The router announces the prefix again with a new lifetime, and withdraws the server.
  auto m = [&](std::vector<uint8_t> opt) {
    size_t base = NLMSG_ALIGN(sizeof(nduseroptmsg) + opt.size());
    std::vector<uint8_t> buf(NLMSG_LENGTH(base + RTA_LENGTH(16)), 0);
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
    h->nlmsg_type = RTM_NEWNDUSEROPT;
    h->nlmsg_len = static_cast<uint32_t>(buf.size());
    auto* n = static_cast<nduseroptmsg*>(NLMSG_DATA(h));
    n->nduseropt_family = AF_INET6;
    n->nduseropt_opts_len = static_cast<uint16_t>(opt.size());
    n->nduseropt_ifindex = 3;
    n->nduseropt_icmp_type = 134;
    std::memcpy(n + 1, opt.data(), opt.size());
    auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<uint8_t*>(n) + base);
    a->rta_type = NDUSEROPT_SRCADDR;
    a->rta_len = RTA_LENGTH(16);
    auto r = ip("fe80::1");
    std::memcpy(RTA_DATA(a), r.bytes.data(), 16);
    s.record(h, t);
  };
  // PREF64 2001:db8:64::/96, 1800 s (scaled: 225 << 3, length code 0).
  m({38, 2, 0x07, 0x08, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x64, 0, 0, 0, 0, 0, 0});
  // RDNSS 2001:db8::53, lifetime 0.
  m({25, 3, 0, 0, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53});
  s.routesSeen({defaultVia(3, "fe80::1")});
  auto b = factsOf(s, 3, t);
  ASSERT_EQ(b.pref64.size(), 1u);
  EXPECT_EQ(b.pref64[0].heard, t);
  EXPECT_EQ(b.pref64[0].expires, t + 1800s);
  DnsFacts dns;
  s.lookup(3, t, dns);
  EXPECT_TRUE(dns.servers.empty());
}

TEST(RaState, APortalFoundOpenStaysOpenWhileItsUriIsAnnounced) {
  RaStore s;
  auto t = Clock::now();
  ASSERT_TRUE(s.load(kFile, t, 100000));
  EXPECT_FALSE(s.markPortal(3, ip("fe80::1"), "http://other/", true, t));
  EXPECT_TRUE(s.markPortal(3, ip("fe80::1"), "http://192.0.2.1/api", true, t));
  RaStore again;
  ASSERT_TRUE(again.load(s.serialize(t, 100000), t + 1s, 101000));
  again.routesSeen({defaultVia(3, "fe80::1")});
  auto b = factsOf(again, 3, t + 1s);
  ASSERT_EQ(b.captive.size(), 1u);
  EXPECT_TRUE(b.captive[0].open);
  EXPECT_EQ(b.captive[0].checked, t);
}

TEST(RaState, OtherVersionsAndMalformedRecordsAreIgnored) {
  RaStore s;
  auto t = Clock::now();
  EXPECT_FALSE(s.load("mif-ra-state 2\npref64 3 x fe80::1 90000 600 2001:db8:64::/96\n", t, 100000));
  EXPECT_FALSE(s.load("", t, 100000));
  EXPECT_FALSE(s.load("pref64 3 x fe80::1 90000 600 2001:db8:64::/96\n", t, 100000));
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.load("mif-ra-state 1\n"
                     "pref64 0 x fe80::1 90000 600 2001:db8:64::/96\n"       // no index 0
                     "pref64 3 x 192.0.2.1 90000 600 2001:db8:64::/96\n"     // IPv4 router
                     "pref64 3 x fe80::1 200000 600 2001:db8:64::/96\n"      // heard later
                     "pref64 3 x fe80::1 90000 -5 2001:db8:64::/96\n"        // bad lifetime
                     "pref64 3 x fe80::1 90000 600 192.0.2.0/24\n"           // not IPv6
                     "rdnss 3 x fe80::1 90000 600 nonsense\n"
                     "captive 3 x fe80::1 90000 forever\n"                   // no URI
                     "future 3 x fe80::1 90000 600 whatever\n"               // a later kind
                     "pref64 3 x fe80::1 90000 600 2001:db8:64::/96\n",      // the good one
                     t, 100000));
  EXPECT_EQ(s.size(), 1u);
}

TEST(RaState, OnlyFilesNobodyElseCanWriteAreRead) {
  char dir[] = "/tmp/mif-ra-state-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/sub/net-1";
  std::string why;
  ASSERT_TRUE(writeRaState(path, kFile, &why)) << why;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  std::string text;
  ASSERT_TRUE(readRaState(path, text));
  EXPECT_EQ(text, kFile);
  ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
  EXPECT_FALSE(readRaState(path, text));  // anyone could have written it
  EXPECT_FALSE(readRaState(std::string(dir) + "/absent", text));
  std::string rm = std::string("rm -rf ") + dir;
  EXPECT_EQ(std::system(rm.c_str()), 0);
  EXPECT_NE(raStatePath("/run/mif/ra").find("/run/mif/ra/net-"), std::string::npos);
}

}  // namespace
}  // namespace mif::view::detail
