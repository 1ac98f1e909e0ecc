// resolv.conf rendering for programs that read it themselves (tools/enforce/resolv_conf.h).
#include "enforce/resolv_conf.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace mif::enforce {
namespace {

using policy::IpAddress;

view::Snapshot twoPvds() {
  view::Snapshot snap;
  snap.pvds.resize(2);
  snap.pvds[0].id = 0;
  snap.pvds[0].dns = {{*IpAddress::parse("192.0.2.53"), 53, view::DnsOrigin::Policy},
                      {*IpAddress::parse("2001:db8::53"), 53, view::DnsOrigin::Policy}};
  snap.pvds[0].domains = {"corp.example"};
  snap.pvds[1].id = 1;
  snap.pvds[1].dns = {{*IpAddress::parse("198.51.100.53"), 53, view::DnsOrigin::Policy},
                      {*IpAddress::parse("198.51.100.54"), 5353, view::DnsOrigin::Policy},
                      {*IpAddress::parse("198.51.100.55"), 53, view::DnsOrigin::Policy}};
  snap.pvds[1].domains = {"home.example", "corp.example"};
  return snap;
}

TEST(ResolvConf, ServersInPvdOrderAtMostThree) {
  auto text = renderResolvConf(twoPvds(), {0, 1});
  EXPECT_NE(text.find("nameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver 198.51.100.53\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("198.51.100.55"), std::string::npos) << "glibc reads three at most";
  EXPECT_EQ(text.find("198.51.100.54"), std::string::npos) << "resolv.conf cannot name a port";
  EXPECT_NE(text.find("search corp.example home.example\n"), std::string::npos) << text;
}

TEST(ResolvConf, OnlyTheListedPvds) {
  auto text = renderResolvConf(twoPvds(), {1});
  EXPECT_EQ(text.find("192.0.2.53"), std::string::npos) << text;
  EXPECT_NE(text.find("nameserver 198.51.100.53\n"), std::string::npos) << text;
}

// With the run's DNS stub (dns_stub.h) the stub is the one server; the search list stays.
TEST(ResolvConf, TheStubIsTheOneServer) {
  const IpAddress stub = *IpAddress::parse("127.53.1.2");
  auto text = renderResolvConf(twoPvds(), {0, 1}, &stub);
  EXPECT_NE(text.find("\nnameserver 127.53.1.2\nsearch corp.example home.example\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("192.0.2.53"), std::string::npos) << text;
  view::Snapshot none;
  none.pvds.resize(1);
  EXPECT_EQ(renderResolvConf(none, {0}, &stub), "") << "no server behind the stub";
  EXPECT_EQ(pvdsWithServers(twoPvds(), {0, 1}), 2u);
  EXPECT_EQ(pvdsWithServers(twoPvds(), {1, 7}), 1u);
  EXPECT_EQ(pvdsWithServers(none, {0}), 0u);
}

TEST(ResolvConf, NothingWithoutServers) {
  view::Snapshot snap;
  snap.pvds.resize(1);
  EXPECT_EQ(renderResolvConf(snap, {0}), "");
  EXPECT_EQ(renderResolvConf(twoPvds(), {}), "");
  EXPECT_EQ(renderResolvConf(twoPvds(), {7}), "");
}

TEST(ResolvConf, TempFileHoldsTheText) {
  std::string path = writeTempFile("nameserver 192.0.2.1\n");
  ASSERT_FALSE(path.empty());
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "nameserver 192.0.2.1\n");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  unlink(path.c_str());
}

}  // namespace
}  // namespace mif::enforce
