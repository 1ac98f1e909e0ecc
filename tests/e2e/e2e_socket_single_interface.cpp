// RFC 6418 4.5: one interface, one link, two routers, two prefixes. IPv6 routes are
// source-specific, so a packet leaves through the router its source address belongs to;
// b's service is reachable only through router b. Which source the kernel picks for it is
// an RFC 6724 tie here (both prefixes share 8 bits with the service's), so the problem is
// shown deterministically by pinning to a: with a's source the service is unreachable.
// With a policy that gives each PvD its own `source` prefix on the same interface, mif
// binds the PvD's address (IP_BIND_ADDRESS_NO_PORT, no port burned) before connecting.
#include <unistd.h>

#include <memory>
#include <string>

#include "e2e_socket_util.h"
#include "lab.h"

namespace {

using mif::e2e::Lab;
using namespace mif::e2e::sock;

TEST(SingleInterfaceMultiplePvds, ConnectionsToBUseBsSourceAddress) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab(privateTopology("onelink"));
  ASSERT_TRUE(lab.ok()) << lab.error();
  lab.clearLogs();
  const std::string svc6 = lab.hostAddr6("bsvc");
  const std::string link = lab.link("b");
  ASSERT_EQ(link, lab.link("a"));
  const std::vector<std::string> curl = {"curl", "-sS", "--max-time", "4", "http://[" + svc6 + "]/"};

  char tmpl[] = "/tmp/mifpre-onelink-XXXXXX.toml";
  int fd = mkstemps(tmpl, 5);
  ASSERT_GE(fd, 0);
  const std::string policy =
      "[pvd.a]\ninterface = \"" + link + "\"\nsource = [\"" + lab.fact("pvd.a.prefix4") + "\", \"" +
      lab.fact("pvd.a.prefix6") + "\"]\n"
      "[pvd.b]\ninterface = \"" + link + "\"\nsource = [\"" + lab.fact("pvd.b.prefix4") + "\", \"" +
      lab.fact("pvd.b.prefix6") + "\"]\n";
  ASSERT_EQ(write(fd, policy.data(), policy.size()), static_cast<ssize_t>(policy.size()));
  close(fd);
  lab.clearLogs();
  auto wrong = lab.mifRun({"--policy", tmpl, "--pvd", "a"}, curl);
  EXPECT_FALSE(wrong.ok()) << "with a's source, router a cannot reach b's service: " << wrong.describe();
  EXPECT_TRUE(lab.served("bsvc", "http").empty());
  auto r = lab.mifRun({"--policy", tmpl, "--pvd", "b"}, curl);
  unlink(tmpl);
  ASSERT_TRUE(r.ok()) << r.describe();
  auto seen = lab.served("bsvc", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, lab.addr6("b"));
}

}  // namespace
