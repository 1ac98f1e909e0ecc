// RFC 6418 4.2 item 2 (node routing): www is reachable through both Wi-Fi and the VPN; the
// node-scoped routing table always picks Wi-Fi (the lower metric), whatever the user wants
// for this application. Each test shows that first with the program alone, then the same
// unmodified program under `mif run`, and asserts the source address the server saw.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "e2e_socket_util.h"
#include "lab.h"

namespace {

using mif::e2e::Lab;
using mif::e2e::Served;

// A policy file for the lab's two PvDs (removed when the test ends).
class PolicyFile {
 public:
  explicit PolicyFile(const std::string& text) {
    char tmpl[] = "/tmp/mifpre-policy-XXXXXX.toml";
    int fd = mkstemps(tmpl, 5);
    path_ = tmpl;
    if (fd >= 0) {
      (void)!write(fd, text.data(), text.size());
      close(fd);
    }
  }
  ~PolicyFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class NodeRouting : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    lab_ = std::make_unique<Lab>(mif::e2e::sock::privateTopology("wifi-vpn"));
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    // The harness remembers log offsets per path across Lab instances; a fresh lab's logs
    // start empty, so reset the offsets to what is there now.
    lab_->clearLogs();
    www4_ = lab_->hostAddr4("www");
    www6_ = lab_->hostAddr6("www");
    wifi4_ = lab_->addr4("wifi");
    vpn4_ = lab_->addr4("vpn");
    vpn6_ = lab_->addr6("vpn");
    tun_ = lab_->link("vpn");
  }
  std::unique_ptr<Lab> lab_;
  std::string www4_, www6_, wifi4_, vpn4_, vpn6_, tun_;
};

TEST_F(NodeRouting, CurlLeavesThroughTheVpnOnlyUnderMif) {
  auto plain = lab_->exec({"curl", "-sS", "--max-time", "5", "http://" + www4_ + "/"});
  ASSERT_TRUE(plain.ok()) << plain.describe();
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, wifi4_) << "the kernel's choice is Wi-Fi (the problem)";

  lab_->clearLogs();
  auto r = lab_->mifRun({"--pvd", tun_}, {"curl", "-sS", "--max-time", "5", "http://" + www4_ + "/"});
  ASSERT_TRUE(r.ok()) << r.describe();
  seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, vpn4_);

  lab_->clearLogs();
  r = lab_->mifRun({"--pvd", tun_}, {"curl", "-sS", "--max-time", "5", "http://[" + www6_ + "]/"});
  ASSERT_TRUE(r.ok()) << r.describe();
  seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, vpn6_);
}

TEST_F(NodeRouting, WgetLeavesThroughTheVpnOnlyUnderMif) {
  auto plain = lab_->exec({"wget", "-q", "-T", "5", "-O", "-", "http://" + www4_ + "/"});
  ASSERT_TRUE(plain.ok()) << plain.describe();
  ASSERT_EQ(lab_->served("www", "http").size(), 1u) << plain.describe();
  EXPECT_EQ(lab_->served("www", "http")[0].client, wifi4_);
  lab_->clearLogs();
  auto r = lab_->mifRun({"--pvd", tun_}, {"wget", "-q", "-T", "5", "-O", "-", "http://" + www4_ + "/"});
  ASSERT_TRUE(r.ok()) << r.describe();
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, vpn4_);
}

TEST_F(NodeRouting, PythonTcpAndConnectedUdpBothFamilies) {
  const std::string script =
      "import socket\n"
      "for a in ['" + www4_ + "', '" + www6_ + "']:\n"
      "    s = socket.create_connection((a, 80), timeout=5)\n"
      "    s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); s.recv(500); s.close()\n"
      "    fam = socket.AF_INET6 if ':' in a else socket.AF_INET\n"
      "    u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(5)\n"
      "    u.connect((a, 7)); u.send(b'ping'); u.recv(500); u.close()\n";
  auto plain = lab_->exec({"python3", "-c", script});
  ASSERT_TRUE(plain.ok()) << plain.describe();
  for (const auto& s : lab_->served("www")) EXPECT_EQ(lab_->pvdOfAddress(s.client), "wifi") << s.client;

  lab_->clearLogs();
  auto r = lab_->mifRun({"--pvd", tun_}, {"python3", "-c", script});
  ASSERT_TRUE(r.ok()) << r.describe();
  auto http = lab_->served("www", "http");
  auto udp = lab_->served("www", "udp");
  ASSERT_EQ(http.size(), 2u);
  ASSERT_EQ(udp.size(), 2u);
  EXPECT_EQ(http[0].client, vpn4_);
  EXPECT_EQ(http[1].client, vpn6_);
  EXPECT_EQ(udp[0].client, vpn4_);
  EXPECT_EQ(udp[1].client, vpn6_);
}

// One unconnected UDP socket talking to two peers that the policy puts on different PvDs:
// each datagram gets its own interface and source (IP_PKTINFO), the socket is not pinned to
// its first destination.
TEST_F(NodeRouting, UnconnectedUdpChoosesPerDatagram) {
  const std::string decoy4 = lab_->hostAddr4("decoy");
  PolicyFile policy(
      "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\n"
      "[pvd.vpn]\ninterface = \"" + tun_ + "\"\n"
      "[[rule]]\ndst = \"" + www4_ + "/32\"\npvd = \"vpn\"\n"
      "[default]\npvd = \"wifi\"\n");
  const std::string script =
      "import socket\n"
      "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)\n"
      "for a in ['" + www4_ + "', '" + decoy4 + "', '" + www4_ + "']:\n"
      "    u.sendto(b'ping', (a, 7)); u.recvfrom(500)\n";
  auto plain = lab_->exec({"python3", "-c", script});
  ASSERT_TRUE(plain.ok()) << plain.describe();
  for (const auto& s : lab_->served("www", "udp")) EXPECT_EQ(s.client, wifi4_);

  lab_->clearLogs();
  auto r = lab_->mifRun({"--policy", policy.path()}, {"python3", "-c", script});
  ASSERT_TRUE(r.ok()) << r.describe();
  auto www = lab_->served("www", "udp");
  auto decoy = lab_->served("decoy", "udp");
  ASSERT_EQ(www.size(), 2u);
  ASSERT_EQ(decoy.size(), 1u);
  EXPECT_EQ(www[0].client, vpn4_);
  EXPECT_EQ(decoy[0].client, wifi4_);
  EXPECT_EQ(www[1].client, vpn4_);
  // One socket: the same source port everywhere.
  EXPECT_EQ(www[0].clientPort, decoy[0].clientPort);
}

// RFC 6418 4.2, last paragraph: a source address is valid only on its own PvD. A program
// that binds the VPN's address and lets the kernel route sends it out of Wi-Fi, where the
// router drops it (BCP 38); under mif its bind pins the socket to the interface that owns
// the address.
TEST_F(NodeRouting, ExplicitBindKeepsTheProgramsChoiceOnItsInterface) {
  const std::string script =
      "import socket, sys\n"
      "s = socket.socket(); s.settimeout(3)\n"
      "s.bind(('" + vpn4_ + "', 0))\n"
      "try:\n"
      "    s.connect(('" + www4_ + "', 80)); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); s.recv(500)\n"
      "    print('connected')\n"
      "except OSError as e:\n"
      "    print('failed', e); sys.exit(3)\n";
  auto plain = lab_->exec({"python3", "-c", script});
  EXPECT_FALSE(plain.ok()) << "without mif the VPN source leaves through Wi-Fi: " << plain.describe();
  EXPECT_TRUE(lab_->served("www", "http").empty());

  lab_->clearLogs();
  // No --pvd at all: an empty pin still loads the library, the program's own bind decides.
  PolicyFile policy("[pvd.wifi]\ninterface = \"" + lab_->link("wifi") + "\"\n[default]\npvd = \"wifi\"\n");
  auto r = lab_->mifRun({"--policy", policy.path()}, {"python3", "-c", script});
  ASSERT_TRUE(r.ok()) << r.describe();
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, vpn4_);
}

TEST_F(NodeRouting, SocatAndNc) {
  auto r = lab_->mifRun({"--pvd", tun_},
                        {"sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | socat -t 3 - TCP:" + www4_ + ":80"});
  ASSERT_TRUE(r.ok()) << r.describe();
  r = lab_->mifRun({"--pvd", tun_},
                   {"sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 " + www4_ + " 80"});
  ASSERT_TRUE(r.ok()) << r.describe();
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& s : seen) EXPECT_EQ(s.client, vpn4_);
}

// The environment carries the pin to every process of the tree.
TEST_F(NodeRouting, ShellProcessTree) {
  const std::string url = "http://" + www4_ + "/";
  auto r = lab_->mifRun({"--pvd", tun_},
                        {"sh", "-c", "curl -s --max-time 5 " + url + " && (wget -q -T 5 -O - " + url +
                                         ") && sh -c 'curl -s --max-time 5 " + url + "'"});
  ASSERT_TRUE(r.ok()) << r.describe();
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& s : seen) EXPECT_EQ(s.client, vpn4_);
}

}  // namespace
