// The per-socket datagram decision (issue 26): an unconnected UDP socket's decision is
// remembered for its next datagram to the same destination, and must be revalidated the
// moment the network changes. A strict sender pinned to the VPN sends datagrams to www;
// the program itself then takes the VPN away (link down, or its address removed) and goes
// on sending on the same socket to the same destination: the very next datagram is
// refused by mif (ENETUNREACH, with mif's strict note in the trace), and nothing of it
// ever leaves through Wi-Fi.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lab.h"

namespace {

using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::TempDir;

std::string topology() {
  static const std::string path = mif::e2e::renamedTopology("wifi-vpn", "dgram-wifi-vpn");
  return path;
}

// Sends 20 datagrams, runs CHANGE (a shell command), sends 5 more, all from one socket to
// www:9; prints "before N ok" / "after I errno E" per datagram.
std::string senderScript(const std::string& www, const std::string& change) {
  return "import socket, subprocess, time\n"
         "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
         "def send(tag, i):\n"
         "    try:\n"
         "        s.sendto(b'x' * 32, ('" + www + "', 9))\n"
         "        print(tag, i, 'ok', flush=True)\n"
         "    except OSError as e:\n"
         "        print(tag, i, 'errno', e.errno, flush=True)\n"
         "for i in range(20):\n"
         "    send('before', i)\n"
         "    time.sleep(0.01)\n"
         "subprocess.run(" + change + ", shell=True, check=True)\n"
         "for i in range(5):\n"
         "    send('after', i)\n";
}

class DatagramCache : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    ASSERT_TRUE(dir_.ok());
    lab_ = std::make_unique<Lab>(topology());
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    www_ = lab_->hostAddr4("www");
  }
  void check(const std::string& change) {
    auto wifi = lab_->capture("wifi", "host " + www_);
    auto vpn = lab_->capture("vpn", "host " + www_);
    ASSERT_TRUE(wifi.running()) << wifi.error();
    ASSERT_TRUE(vpn.running()) << vpn.error();
    const std::string trace = dir_.path() + "/trace.jsonl";
    auto r = lab_->mifRun({"--pvd", std::string(lab_->link("vpn")), "--strict", "--trace=" + trace},
                          {"python3", "-c", senderScript(www_, "'" + change + "'")},
                          ExecOptions().within(std::chrono::seconds(30)));
    ASSERT_EQ(r.status, 0) << r.describe();
    for (int i = 0; i < 20; ++i)
      EXPECT_NE(r.out.find("before " + std::to_string(i) + " ok\n"), std::string::npos) << r.out;
    // The first datagram after the change already refused, and every one after it.
    for (int i = 0; i < 5; ++i)
      EXPECT_NE(r.out.find("after " + std::to_string(i) + " errno 101\n"), std::string::npos)
          << r.out;
    wifi.stop();
    vpn.stop();
    EXPECT_EQ(wifi.count(), 0u) << "a datagram left through Wi-Fi";
    EXPECT_GE(vpn.count(), 20u) << "the datagrams before the change went through the VPN";
    // The refusals are mif's strict decision (not the kernel failing a stale pin).
    std::ifstream in(trace);
    std::string line;
    int refused = 0;
    while (std::getline(in, line))
      if (line.find("\"call\":\"sendto\"") != std::string::npos &&
          line.find("\"note\":\"strict and no PvD usable\"") != std::string::npos &&
          line.find("\"error\":\"ENETUNREACH\"") != std::string::npos)
        ++refused;
    EXPECT_EQ(refused, 5);
  }
  std::unique_ptr<Lab> lab_;
  TempDir dir_{"dgram"};
  std::string www_;
};

TEST_F(DatagramCache, AStrictSenderStopsAtTheFirstDatagramAfterTheVpnGoesDown) {
  check("ip link set " + std::string(lab_->link("vpn")) + " down");
}

TEST_F(DatagramCache, AStrictSenderStopsAtTheFirstDatagramAfterTheVpnLosesItsAddress) {
  check("ip addr flush dev " + std::string(lab_->link("vpn")));
}

}  // namespace
