// RFC 6418 4.4 and 5.5 item 4 (sessions bound to their interface), and section 6 (packets
// on the wrong interface leak confidential information): an application pinned to the
// VPN must never fall back to Wi-Fi when the tunnel goes away. Without mif, the moment
// tun0 disappears, connections to the corporate wiki follow the default route out of
// Wi-Fi. Under `mif run --pvd tun0 --strict` they fail at once with ENETUNREACH, nothing
// appears on Wi-Fi, and when the tunnel comes back (a new device, a new index) the same
// running program connects through it again.
#include <memory>
#include <string>
#include <thread>

#include "e2e_socket_util.h"
#include "lab.h"

namespace {

using mif::e2e::Lab;
using namespace mif::e2e::sock;
using namespace std::chrono_literals;

// Connects to the wiki every 100 ms for `seconds`, printing "ok CLIENT" or
// "err ERRNO SECONDS" per attempt.
std::string loopScript(const std::string& wiki, int seconds) {
  return "import socket, time\n"
         "end = time.time() + " + std::to_string(seconds) + "\n"
         "while time.time() < end:\n"
         "    t = time.time()\n"
         "    try:\n"
         "        s = socket.create_connection(('" + wiki + "', 80), timeout=1)\n"
         "        s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
         "        d = s.recv(4096).decode(); s.close()\n"
         "        print('ok', d.split('client=')[1].split()[0], flush=True)\n"
         "    except OSError as e:\n"
         "        print('err', e.errno, round(time.time() - t, 3), flush=True)\n"
         "    time.sleep(0.1)\n";
}

class SessionManagement : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    lab_ = std::make_unique<Lab>(privateTopology("wifi-vpn"));
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    lab_->clearLogs();
    wiki_ = lab_->hostAddr4("wiki");
  }
  // Runs `argv` in a thread while the VPN link is deleted after 2 s and recreated 2.5 s
  // later; returns the program's result.
  mif::e2e::CommandResult runThroughOutage(bool underMif) {
    mif::e2e::CommandResult result;
    const std::string script = loopScript(wiki_, 7);
    std::thread program([&] {
      if (underMif) {
        result = lab_->mifRun({"--pvd", lab_->link("vpn"), "--strict"}, {"python3", "-c", script},
                              mif::e2e::ExecOptions().within(30s));
      } else {
        result = lab_->exec({"python3", "-c", script}, mif::e2e::ExecOptions().within(30s));
      }
    });
    std::this_thread::sleep_for(2s);
    EXPECT_TRUE(lab_->linkDelete("vpn"));
    std::this_thread::sleep_for(2500ms);
    EXPECT_TRUE(lab_->linkRecreate("vpn"));
    program.join();
    return result;
  }
  std::unique_ptr<Lab> lab_;
  std::string wiki_;
};

TEST_F(SessionManagement, WithoutMifTheWikiTrafficLeaksOutOfWifiWhenTheTunnelDrops) {
  auto wifi = lab_->capture("wifi", "host " + wiki_);
  ASSERT_TRUE(wifi.running()) << wifi.error();
  auto r = runThroughOutage(false);
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_GT(wifi.count(wiki_), 0u) << "expected the problem: SYNs to the wiki on Wi-Fi";
}

TEST_F(SessionManagement, StrictPinFailsFastWithNothingOnWifiAndRecoversOnTheNewTunnel) {
  auto wifi = lab_->capture("wifi", "");
  ASSERT_TRUE(wifi.running()) << wifi.error();
  auto r = runThroughOutage(true);
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto lines = outputLines(r.out);
  // ok ... (tunnel up), err 101 ... (tunnel gone), ok ... (new tunnel).
  size_t i = 0, okBefore = 0, errs = 0, okAfter = 0, slowErrs = 0;
  for (; i < lines.size() && lines[i].rfind("ok ", 0) == 0; ++i) ++okBefore;
  for (; i < lines.size() && lines[i].rfind("err ", 0) == 0; ++i) {
    ++errs;
    EXPECT_EQ(lines[i].substr(0, 8), "err 101 ") << lines[i];  // ENETUNREACH
    if (std::stod(lines[i].substr(8)) > 0.05) ++slowErrs;
  }
  for (; i < lines.size() && lines[i].rfind("ok ", 0) == 0; ++i) ++okAfter;
  EXPECT_EQ(i, lines.size()) << "unexpected order:\n" << r.out;
  EXPECT_GT(okBefore, 5u) << r.out;
  EXPECT_GT(errs, 5u) << r.out;
  EXPECT_GT(okAfter, 5u) << r.out;
  EXPECT_EQ(slowErrs, 0u) << "connects must fail at once, not time out:\n" << r.out;
  for (const auto& l : lines) {
    if (l.rfind("ok ", 0) == 0) {
      EXPECT_EQ(l, "ok " + lab_->addr4("vpn"));
    }
  }
  // Not one packet of the program on Wi-Fi (tcpdump --immediate-mode, started before).
  const auto packets = wifi.packets();
  size_t leaked = 0;
  for (const auto& p : packets) {
    if (p.find(wiki_) != std::string::npos || p.find(lab_->addr4("vpn")) != std::string::npos) ++leaked;
  }
  EXPECT_EQ(leaked, 0u) << "packets on Wi-Fi:\n" << [&] {
    std::string all;
    for (const auto& p : packets) all += p + "\n";
    return all;
  }();
}

}  // namespace
