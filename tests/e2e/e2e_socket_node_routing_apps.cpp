// RFC 6418 4.2 item 2 again, with the shapes real applications have: many threads, daemons
// that close every descriptor, processes that fork after their first connection, and
// event-loop clients with non-blocking sockets. Each is pinned to the VPN with `mif run
// --pvd <vpn link>` (the kernel alone would use Wi-Fi, shown in e2e_socket_node_routing),
// and every connection the server saw must come from the VPN's address.
#include <memory>
#include <string>

#include "e2e_socket_util.h"
#include "lab.h"

namespace {

using mif::e2e::Lab;
using namespace mif::e2e::sock;
using namespace std::chrono_literals;

class NodeRoutingApps : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    lab_ = std::make_unique<Lab>(privateTopology("wifi-vpn"));
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    lab_->clearLogs();  // the harness keeps log offsets per path across labs
    www_ = lab_->hostAddr4("www");
    vpn4_ = lab_->addr4("vpn");
    tun_ = lab_->link("vpn");
  }
  // A Python prelude: fetch() does one HTTP request and returns the client address the
  // server reports.
  std::string prelude() const {
    return "import socket, os, sys, threading, selectors, errno\n"
           "A = '" + www_ + "'\n"
           "def fetch():\n"
           "    s = socket.create_connection((A, 80), timeout=10)\n"
           "    s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
           "    d = b''\n"
           "    while True:\n"
           "        c = s.recv(4096)\n"
           "        if not c: break\n"
           "        d += c\n"
           "    s.close()\n"
           "    return d.decode().split('client=')[1].split()[0]\n";
  }
  void expectAllFromVpn(size_t count) {
    auto seen = lab_->served("www", "http");
    EXPECT_EQ(seen.size(), count);
    size_t wrong = 0;
    for (const auto& s : seen) wrong += s.client != vpn4_;
    EXPECT_EQ(wrong, 0u) << "connections that did not come through the VPN";
  }
  std::unique_ptr<Lab> lab_;
  std::string www_, vpn4_, tun_;
};

TEST_F(NodeRoutingApps, SixteenThreadsTwoHundredConnectsEach) {
  const std::string script = prelude() +
      "bad = []\n"
      "def worker():\n"
      "    for i in range(200):\n"
      "        c = fetch()\n"
      "        if c != '" + vpn4_ + "': bad.append(c)\n"
      "ts = [threading.Thread(target=worker) for _ in range(16)]\n"
      "[t.start() for t in ts]; [t.join() for t in ts]\n"
      "print('bad', len(bad))\n";
  auto r = lab_->mifRun({"--pvd", tun_}, {"python3", "-c", script}, mif::e2e::ExecOptions().within(120s));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.out.find("bad 0"), std::string::npos) << r.out;
  expectAllFromVpn(16 * 200);
}

// A daemon closes every descriptor it does not know between connections (close_range,
// then one close() per number): the library must neither crash nor lose the pin.
TEST_F(NodeRoutingApps, DaemonClosingEveryDescriptorBetweenConnects) {
  const std::string script = prelude() +
      "out = []\n"
      "for i in range(10):\n"
      "    out.append(fetch())\n"
      "    os.closerange(3, 4096)\n"
      "    out.append(fetch())\n"
      "    for fd in range(3, 1024):\n"
      "        try: os.close(fd)\n"
      "        except OSError: pass\n"
      "    r, w = os.pipe()\n"  // reuse the low numbers for something else
      "    out.append(fetch())\n"
      "    os.close(r); os.close(w)\n"
      "print(' '.join(sorted(set(out))))\n";
  auto r = lab_->mifRun({"--pvd", tun_}, {"python3", "-c", script}, mif::e2e::ExecOptions().within(60s));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, vpn4_ + "\n");
  expectAllFromVpn(30);
}

TEST_F(NodeRoutingApps, ForkAfterTheFirstConnect) {
  const std::string script = prelude() +
      "first = fetch()\n"
      "pid = os.fork()\n"
      "got = [fetch() for _ in range(5)]\n"
      "if pid == 0:\n"
      "    os._exit(0 if set(got) == {first} else 5)\n"
      "_, st = os.waitpid(pid, 0)\n"
      "print(first, set(got) == {first}, os.waitstatus_to_exitcode(st))\n";
  auto r = lab_->mifRun({"--pvd", tun_}, {"python3", "-c", script}, mif::e2e::ExecOptions().within(60s));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, vpn4_ + " True 0\n");
  expectAllFromVpn(11);
}

// Non-blocking connects driven by epoll: EINPROGRESS, then writable, SO_ERROR 0.
TEST_F(NodeRoutingApps, NonBlockingEpollClient) {
  const std::string script = prelude() +
      "sel = selectors.EpollSelector()\n"
      "codes = set()\n"
      "for i in range(20):\n"
      "    s = socket.socket(); s.setblocking(False)\n"
      "    codes.add(s.connect_ex((A, 80)))\n"
      "    sel.register(s, selectors.EVENT_WRITE, b'')\n"
      "done = 0; clients = set()\n"
      "while done < 20:\n"
      "    for key, ev in sel.select(timeout=10):\n"
      "        s = key.fileobj\n"
      "        if ev & selectors.EVENT_WRITE:\n"
      "            assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0\n"
      "            s.send(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
      "            sel.modify(s, selectors.EVENT_READ, b'')\n"
      "        else:\n"
      "            d = key.data + s.recv(4096)\n"
      "            if d.endswith(b'\\n') or not d:\n"
      "                clients.add(d.decode().split('client=')[1].split()[0]); sel.unregister(s); s.close(); done += 1\n"
      "            else: sel.modify(s, selectors.EVENT_READ, d)\n"
      "print(sorted(codes), sorted(clients))\n";
  auto r = lab_->mifRun({"--pvd", tun_}, {"python3", "-c", script}, mif::e2e::ExecOptions().within(60s));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "[" + std::to_string(EINPROGRESS) + "] ['" + vpn4_ + "']\n");
  expectAllFromVpn(20);
}

}  // namespace
