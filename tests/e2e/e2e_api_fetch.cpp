// The C API in the lab (issue 12): a program linked with libmif-api.so and run WITHOUT
// `mif run` (only MIF_POLICY names the lab's policy) pins one socket to wifi and one to
// vpn with mif_socket_set_pvd, resolves through each PvD with mif_getaddrinfo, and
// fetches from the lab's www host: the server sees each PvD's own source address, and
// each PvD's DNS server saw the name. The same with examples/api (the C example and the
// Python module's script), and inside `mif run`, where the API uses the engine's state:
// a pin holds against the run's own pin, a strict run refuses a pin that would escape it,
// and mif_process_set_pvd moves the process's ordinary sockets and lookups.
#include <sys/types.h>
#include <unistd.h>

#include "lab.h"

namespace {

std::string program() { return std::string(MIF_BIN_DIR) + "/api_fetch"; }
std::string cExample() { return std::string(MIF_BIN_DIR) + "/fetch_each"; }
std::string pyExample() { return std::string(MIF_SOURCE_DIR) + "/examples/api/fetch_each.py"; }
// The build tree's Python module (api/python/mif, which loads the build's library).
std::string pythonPath() { return "PYTHONPATH=" + std::string(MIF_BIN_DIR) + "/../api/python"; }

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

// Under `mif run --pvd wifi` the socket the program pinned to vpn keeps its PvD: the API
// pins it through the engine, whose connect leaves a device binding alone unless strict
// forbids it.
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

// The examples resolve with AF_UNSPEC: the lab's www has both families, so the server sees
// the PvD's IPv4 or IPv6 source, whichever the sort put first.
bool sourceOf(const mif::e2e::Lab& lab, const std::string& client, const char* pvd) {
  return client == lab.addr4(pvd) || client == lab.addr6(pvd);
}

TEST(Api, ExamplesFetchThroughEachPvdWithoutMifRun) {
  MIF_E2E_REQUIRE_LAB();
  mif::e2e::Lab lab("wifi-vpn", "api-t" + std::to_string(getpid()));
  ASSERT_TRUE(lab.ok()) << lab.error();
  const auto env = mif::e2e::ExecOptions().withEnv("MIF_POLICY=" + lab.policyFile()).withEnv(pythonPath());
  auto c = lab.exec({cExample(), "http://www.example.com/", "wifi", "vpn"}, env);
  ASSERT_EQ(c.status, 0) << c.describe();
  EXPECT_EQ(c.out.rfind("wifi ", 0), 0u) << c.out;
  EXPECT_NE(c.out.find("\nvpn "), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(" HTTP/1."), std::string::npos) << c.out;
  auto py = lab.exec({"python3", pyExample(), "http://www.example.com/", "wifi", "vpn"}, env);
  ASSERT_EQ(py.status, 0) << py.describe();
  EXPECT_NE(py.out.find("\nvpn "), std::string::npos) << py.out;
  auto seen = lab.served("www");
  ASSERT_EQ(seen.size(), 4u) << c.describe() << py.describe();
  EXPECT_TRUE(sourceOf(lab, seen[0].client, "wifi")) << seen[0].client;
  EXPECT_TRUE(sourceOf(lab, seen[1].client, "vpn")) << seen[1].client;
  EXPECT_TRUE(sourceOf(lab, seen[2].client, "wifi")) << seen[2].client;
  EXPECT_TRUE(sourceOf(lab, seen[3].client, "vpn")) << seen[3].client;
  EXPECT_TRUE(lab.dnsSaw("vpn", "www.example.com"));
}

TEST(Api, PythonPinHoldsUnderMifRun) {
  MIF_E2E_REQUIRE_LAB();
  mif::e2e::Lab lab("wifi-vpn", "api-t" + std::to_string(getpid()));
  ASSERT_TRUE(lab.ok()) << lab.error();
  auto r = lab.mifRun({"--policy", lab.policyFile(), "--pvd", "wifi"},
                      {"python3", pyExample(), "http://www.example.com/", "vpn", "wifi"},
                      mif::e2e::ExecOptions().withEnv(pythonPath()));
  ASSERT_EQ(r.status, 0) << r.describe();
  // The engine loaded in Python beside libmif-api.so (mif run leaves it static TLS room).
  EXPECT_EQ(r.err.find("cannot load"), std::string::npos) << r.describe();
  auto seen = lab.served("www");
  ASSERT_EQ(seen.size(), 2u) << r.describe();
  EXPECT_TRUE(sourceOf(lab, seen[0].client, "vpn")) << seen[0].client;
  EXPECT_TRUE(sourceOf(lab, seen[1].client, "wifi")) << seen[1].client;
}

// mif_process_set_pvd inside `mif run` (android_setprocnetwork): Python's own urllib, which
// knows nothing of mif, resolves and connects through vpn although the run's pin is wifi.
TEST(Api, ProcessDefaultMovesOrdinarySocketsUnderMifRun) {
  MIF_E2E_REQUIRE_LAB();
  mif::e2e::Lab lab("wifi-vpn", "api-t" + std::to_string(getpid()));
  ASSERT_TRUE(lab.ok()) << lab.error();
  auto r = lab.mifRun({"--policy", lab.policyFile(), "--pvd", "wifi"},
                      {"python3", "-c",
                       "import mif, urllib.request\n"
                       "mif.process_set_pvd('vpn')\n"
                       "print(mif.process_get_pvd(), urllib.request.urlopen('http://www.example.com/', timeout=5).status)\n"},
                      mif::e2e::ExecOptions().withEnv(pythonPath()));
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(r.err.find("cannot load"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("vpn 200"), std::string::npos) << r.describe();
  auto seen = lab.served("www");
  ASSERT_EQ(seen.size(), 1u) << r.describe();
  EXPECT_TRUE(sourceOf(lab, seen[0].client, "vpn")) << seen[0].client;
  EXPECT_TRUE(lab.dnsSaw("vpn", "www.example.com"));
}

// A strict `mif run --pvd wifi`: the API cannot pin a socket to vpn nor resolve through
// it; the refusal comes from the API call itself, naming the PvD, and nothing is sent.
TEST(Api, StrictMifRunRefusesAnEscapingPin) {
  MIF_E2E_REQUIRE_LAB();
  mif::e2e::Lab lab("wifi-vpn", "api-t" + std::to_string(getpid()));
  ASSERT_TRUE(lab.ok()) << lab.error();
  auto r = lab.mifRun({"--policy", lab.policyFile(), "--pvd", "wifi", "--strict"},
                      {program(), "vpn"});
  EXPECT_EQ(r.status, 1) << r.describe();
  EXPECT_NE(r.err.find("'vpn': mif run is strict"), std::string::npos) << r.describe();
  EXPECT_TRUE(lab.served("www").empty());
  EXPECT_FALSE(lab.dnsSaw("vpn", "www.example.com", std::chrono::milliseconds(0)));
  auto ok = lab.mifRun({"--policy", lab.policyFile(), "--pvd", "wifi", "--strict"},
                       {program(), "wifi"});
  EXPECT_EQ(ok.status, 0) << ok.describe();
}

}  // namespace
