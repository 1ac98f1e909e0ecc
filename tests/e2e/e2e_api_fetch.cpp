// The C API in the lab (issue 12): a program linked with libmif-api.so and run WITHOUT
// `mif run` (only MIF_POLICY names the lab's policy) pins one socket to wifi and one to
// vpn with mif_socket_set_pvd, resolves through each PvD with mif_getaddrinfo, and
// fetches from the lab's www host: the server sees each PvD's own source address, and
// each PvD's DNS server saw the name.
#include <sys/types.h>
#include <unistd.h>

#include "lab.h"

namespace {

std::string program() { return std::string(MIF_BIN_DIR) + "/api_fetch"; }

TEST(Api, EachSocketLeavesThroughItsPvdWithoutMifRun) {
  MIF_E2E_REQUIRE_LAB();
  mif::e2e::Lab lab("wifi-vpn", "api-t" + std::to_string(getpid()));
  ASSERT_TRUE(lab.ok()) << lab.error();
  auto r = lab.exec({program(), "wifi", "vpn"},
                    mif::e2e::ExecOptions().withEnv("MIF_POLICY=" + lab.policyFile()));
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_NE(r.out.find("wifi 203.0.113.80 HTTP/1."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vpn 203.0.113.80 HTTP/1."), std::string::npos) << r.out;
  auto seen = lab.served("www");
  ASSERT_EQ(seen.size(), 2u) << r.describe();
  EXPECT_EQ(seen[0].client, lab.addr4("wifi"));
  EXPECT_EQ(seen[1].client, lab.addr4("vpn"));
  EXPECT_TRUE(lab.dnsSaw("wifi", "www.example.com"));
  EXPECT_TRUE(lab.dnsSaw("vpn", "www.example.com"));
}

// Under `mif run --pvd wifi` the socket the program pinned to vpn keeps its PvD: the
// interposer leaves a device binding the program made alone unless strict forbids it.
// (The API still builds its own view here; docs/api.md, "Inside mif run".)
TEST(Api, PinnedSocketKeepsItsPvdUnderMifRun) {
  MIF_E2E_REQUIRE_LAB();
  mif::e2e::Lab lab("wifi-vpn", "api-t" + std::to_string(getpid()));
  ASSERT_TRUE(lab.ok()) << lab.error();
  auto r = lab.mifRun({"--policy", lab.policyFile(), "--pvd", "wifi"}, {program(), "vpn", "wifi"},
                      mif::e2e::ExecOptions().withEnv("MIF_POLICY=" + lab.policyFile()));
  ASSERT_EQ(r.status, 0) << r.describe();
  auto seen = lab.served("www");
  ASSERT_EQ(seen.size(), 2u) << r.describe();
  EXPECT_EQ(seen[0].client, lab.addr4("vpn"));
  EXPECT_EQ(seen[1].client, lab.addr4("wifi"));
}

TEST(Api, UnknownPvdIsNamedInTheError) {
  MIF_E2E_REQUIRE_LAB();
  mif::e2e::Lab lab("wifi-vpn", "api-t" + std::to_string(getpid()));
  ASSERT_TRUE(lab.ok()) << lab.error();
  auto r = lab.exec({program(), "vpm"},
                    mif::e2e::ExecOptions().withEnv("MIF_POLICY=" + lab.policyFile()));
  EXPECT_EQ(r.status, 1) << r.describe();
  EXPECT_NE(r.err.find("'vpm'"), std::string::npos) << r.describe();
  EXPECT_TRUE(lab.served("www").empty());
}

}  // namespace
