// RFC 6418 4.2 item 3: 10.0.0.0/8 is used behind both PvDs. The office pushes a route for
// 10.0.0.0/8, more specific than home's default route, so the kernel alone always reaches
// the office's 10.0.0.10 and never the home NAS at the same address. Pinned to the home
// interface, the same unmodified program reaches the NAS.
#include <memory>
#include <string>

#include "e2e_socket_util.h"
#include "lab.h"

namespace {

using mif::e2e::Lab;
using namespace mif::e2e::sock;

TEST(OverlappingPrefixes, PinnedToHomeTheSameAddressReachesTheNas) {
  MIF_E2E_REQUIRE_LAB();
  Lab lab(privateTopology("overlap"));
  ASSERT_TRUE(lab.ok()) << lab.error();
  lab.clearLogs();
  const std::string target = lab.hostAddr4("nas");
  ASSERT_EQ(target, lab.hostAddr4("app"));
  const std::vector<std::string> curl = {"curl", "-sS", "--max-time", "5", "http://" + target + "/"};

  auto plain = lab.exec(curl);
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_EQ(lab.served("nas", "http").size(), 0u) << "the problem: the NAS is unreachable";
  ASSERT_EQ(lab.served("app", "http").size(), 1u);

  lab.clearLogs();
  auto r = lab.mifRun({"--pvd", lab.link("home")}, curl);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(lab.served("app", "http").size(), 0u);
  auto nas = lab.served("nas", "http");
  ASSERT_EQ(nas.size(), 1u);
  EXPECT_EQ(nas[0].client, lab.addr4("home"));

  // An ordered preference (home, then office) from a longer-lived program: every
  // connection follows the first usable PvD, never the more specific route.
  lab.clearLogs();
  const std::string script =
      "import socket\n"
      "for i in range(2):\n"
      "    s = socket.create_connection(('" + target + "', 80), timeout=5)\n"
      "    s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print(s.recv(500).decode().split('host=')[1].split()[0]); s.close()\n";
  r = lab.mifRun({"--pvd", lab.link("home") + "," + lab.link("office")}, {"python3", "-c", script});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "nas\nnas\n");
}

}  // namespace
