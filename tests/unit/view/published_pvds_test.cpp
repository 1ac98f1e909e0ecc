// The files `mif discover` publishes (mif/view/published_pvds.h): what is written reads
// back the same, a reader skips what has ended, and a file that is not in the format (or of
// another version) is refused with its line.
#include "mif/view/published_pvds.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace mif::view {
namespace {

policy::IpAddress ip(const char* s) { return *policy::IpAddress::parse(s); }
policy::Prefix pfx(const char* s) { return *policy::Prefix::parse(s).prefix; }

PublishedPvd sample() {
  PublishedPvd p;
  p.id = "corp.example.com";
  p.sequence = 7;
  p.http = true;
  p.delay = 3;
  PublishedPvd::Router r;
  r.ifname = "eth0";
  r.router = ip("fe80::1");
  r.heard = 100;
  r.expires = 1900;
  p.routers.push_back(r);
  PublishedPvd::Prefix x;
  x.ifname = "eth0";
  x.router = r.router;
  x.prefix = pfx("2001:db8:a::/64");
  x.expires = 700;
  x.preferred = 400;
  x.onLink = x.autonomous = true;
  p.prefixes.push_back(x);
  PublishedPvd::Route rt;
  static_cast<PublishedOrigin&>(rt) = r;
  rt.prefix = pfx("2001:db8:100::/48");
  rt.preference = 1;
  rt.expires = kForever;
  p.routes.push_back(rt);
  PublishedPvd::Server s;
  static_cast<PublishedOrigin&>(s) = r;
  s.addr = ip("2001:db8:a::53");
  s.expires = 50;
  p.dns.push_back(s);
  PublishedPvd::Domain d;
  static_cast<PublishedOrigin&>(d) = r;
  d.name = "corp.example";
  d.expires = 700;
  p.domains.push_back(d);
  PublishedPvd::Nat64 n;
  static_cast<PublishedOrigin&>(n) = r;
  n.prefix = pfx("64:ff9b::/96");
  n.expires = 700;
  p.pref64.push_back(n);
  PublishedPvd::Mtu m;
  static_cast<PublishedOrigin&>(m) = r;
  m.mtu = 1400;
  m.expires = 1900;
  p.mtu.push_back(m);
  return p;
}

TEST(PublishedPvds, WhatIsWrittenReadsBackTheSame) {
  std::string text = formatPublishedPvd(sample());
  EXPECT_NE(text.find("\nversion 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nprefix 2001:db8:a::/64 router fe80::1 dev eth0 expires 700 preferred "
                      "400 flags LA\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("expires forever preference high"), std::string::npos) << text;
  PublishedPvd back;
  std::string why;
  ASSERT_TRUE(parsePublishedPvd(text, back, why)) << why;
  EXPECT_EQ(formatPublishedPvd(back), text);
  EXPECT_EQ(back.expires(), kForever);
}

TEST(PublishedPvds, OtherVersionsAndBrokenLinesAreRefusedWithTheirLine) {
  PublishedPvd p;
  std::string why;
  EXPECT_FALSE(parsePublishedPvd("version 2\nid a.example\n", p, why));
  EXPECT_EQ(why, "line 1: version 2 is not known");
  EXPECT_FALSE(parsePublishedPvd("id a.example\n", p, why));
  EXPECT_EQ(why, "line 1: expected 'version N' first");
  EXPECT_FALSE(parsePublishedPvd("# c\nversion 1\nid a.example\nprefix 10.0.0.0/8 router "
                                 "fe80::1 dev eth0 expires 5 preferred 5\n",
                                 p, why));
  EXPECT_EQ(why, "line 4: prefix: not an IPv6 prefix");
  EXPECT_FALSE(parsePublishedPvd("version 1\nid a.example\ndns 2001:db8::1 dev eth0 expires 5\n",
                                 p, why));
  EXPECT_EQ(why, "line 3: dns: no router address");
  EXPECT_FALSE(parsePublishedPvd("version 1\n", p, why));
  EXPECT_EQ(why, "line 1: no id");
  // A key of a later writer of the same version is skipped.
  EXPECT_TRUE(parsePublishedPvd("version 1\nid a.example\nfuture thing\n", p, why)) << why;
}

TEST(PublishedPvds, AReaderSkipsWhatHasEndedAndFilesItCannotRead) {
  char tmpl[] = "/tmp/mif-pvds-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/corp.example.com") << formatPublishedPvd(sample());
  std::ofstream(dir + "/broken.example") << "version 9\n";
  PublishedPvd gone = sample();
  gone.id = "gone.example";
  gone.routes.clear();
  std::ofstream(dir + "/gone.example") << formatPublishedPvd(gone);
  std::vector<std::string> problems;
  auto pvds = readPublishedPvds(dir, 60, &problems);
  ASSERT_EQ(pvds.size(), 2u);
  EXPECT_EQ(pvds[0].id, "corp.example.com");
  EXPECT_TRUE(pvds[0].dns.empty());  // ended at 50
  EXPECT_EQ(pvds[0].prefixes.size(), 1u);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], dir + "/broken.example: line 1: version 9 is not known");
  // At 2000 only corp's route (forever) is left; gone.example has nothing.
  pvds = readPublishedPvds(dir, 2000);
  ASSERT_EQ(pvds.size(), 1u);
  EXPECT_EQ(pvds[0].routes.size(), 1u);
  EXPECT_TRUE(pvds[0].routers.empty());
  for (const char* n : {"/corp.example.com", "/broken.example", "/gone.example"})
    unlink((dir + n).c_str());
  rmdir(tmpl);
  EXPECT_TRUE(readPublishedPvds(dir).empty());  // no directory: no listener, no PvD
}

TEST(PublishedPvds, TheRunDirectoryComesFromTheEnvironment) {
  const char* old = std::getenv("MIF_RUN_DIR");
  std::string saved = old ? old : "";
  unsetenv("MIF_RUN_DIR");
  EXPECT_EQ(publishedPvdDir(), "/run/mif/pvds");
  setenv("MIF_RUN_DIR", "/tmp/x", 1);
  EXPECT_EQ(publishedPvdDir(), "/tmp/x/pvds");
  if (old)
    setenv("MIF_RUN_DIR", saved.c_str(), 1);
  else
    unsetenv("MIF_RUN_DIR");
}

}  // namespace
}  // namespace mif::view

namespace mif::view {
namespace {

// The additional information (RFC 8801 section 4) rides in the same version: lines an
// older reader skips. A name with spaces, '%' and UTF-8 comes back byte for byte.
TEST(PublishedPvds, AdditionalInformationReadsBackAndEndsWithItsExpiry) {
  PublishedPvd p = sample();
  PublishedPvd::Info i;
  i.expires = 5000;
  i.expiresUtc = "2026-12-07T06:00:00Z";
  i.fetched = 120;
  i.name = "Caf\xc3\xa9 Wi-Fi 100%";
  i.noInternet = true;
  i.metered = false;
  i.prefixes = {pfx("2001:db8:a::/48")};
  i.dnsZones = {"corp.example", "example.net"};
  p.info = i;
  std::string text = formatPublishedPvd(p);
  EXPECT_NE(text.find("\ninfo expires 5000 utc 2026-12-07T06:00:00Z fetched 120 no-internet yes "
                      "metered no\ninfo-name Caf%C3%A9%20Wi-Fi%20100%25\n"),
            std::string::npos)
      << text;
  PublishedPvd back;
  std::string why;
  ASSERT_TRUE(parsePublishedPvd(text, back, why)) << why;
  ASSERT_TRUE(back.info);
  EXPECT_EQ(back.info->name, i.name);
  EXPECT_EQ(back.info->prefixes, i.prefixes);
  EXPECT_EQ(back.info->dnsZones, i.dnsZones);
  EXPECT_EQ(back.info->metered, std::optional<bool>(false));
  EXPECT_EQ(formatPublishedPvd(back), text);
  EXPECT_FALSE(parsePublishedPvd("version 1\nid a.example\ninfo-zone x.example\n", back, why));
  EXPECT_EQ(why, "line 3: info-zone before info");
  EXPECT_FALSE(parsePublishedPvd("version 1\nid a.example\ninfo expires 9 utc - fetched 1\n"
                                 "info-name a%2\n",
                                 back, why));
  EXPECT_EQ(why, "line 4: info-name: bad %-escape");

  // A reader drops the information once it has expired, and keeps the PvD.
  char dir[] = "/tmp/mif-published-info-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::ofstream(std::string(dir) + "/corp.example.com") << text;
  auto now = readPublishedPvds(dir, 4999);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_TRUE(now[0].info);
  auto later = readPublishedPvds(dir, 5000);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_FALSE(later[0].info);
  ::unlink((std::string(dir) + "/corp.example.com").c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace mif::view
