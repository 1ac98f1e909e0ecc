// Issue 21, local stub resolvers under a strict pin. A program with a DNS client of its
// own (dig here; Go's and Chromium's resolvers alike) that asks a resolver on loopback
// (systemd-resolved's 127.0.0.53, a dnsmasq on 127.0.0.1) hands the name to a process
// outside the pin, which forwards it through whatever PvD it likes. Under a strict pin mif
// sends such a query (UDP or TCP, port 53 on 127.0.0.0/8 or ::1) to the pinned PvD's own
// server over its interface instead; without --strict loopback is left alone.
//
// Topology "wifi-vpn": Wi-Fi holds the default route; only the VPN's server knows
// corp.example. The test starts a stub dnsmasq on 127.0.0.53 in the node, forwarding to
// the Wi-Fi server, as a host's local resolver would.
//
// The lab's dnsmasq (bind-dynamic, its address held on the router's loopback) accepts a
// TCP connection and closes it without an answer, with or without mif; the TCP case
// therefore names a second server in the VPN's router namespace (10.8.0.54, bind-interfaces,
// the same records) as the VPN PvD's server.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lab.h"

extern char** environ;

namespace {

using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using namespace std::chrono_literals;

std::string topology() {
  static const std::string path = mif::e2e::renamedTopology("wifi-vpn", "stub-wifi-vpn");
  return path;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A server started in one of the lab's namespaces (`ip netns exec` execs it, so the PID
// is the server's own) and stopped by that PID, waiting for it with a bound.
class Server {
 public:
  Server(const std::string& ns, std::vector<std::string> argv, const std::string& log)
      : log_(log) {
    std::vector<std::string> full{"ip", "netns", "exec", ns};
    full.insert(full.end(), argv.begin(), argv.end());
    std::vector<char*> args;
    for (auto& a : full) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    // Its own complaints (an address it cannot bind, a bad option) go beside its log.
    posix_spawn_file_actions_addopen(&fa, 2, (log + ".stderr").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawnp(&pid_, "ip", &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    // dnsmasq logs "started" once its sockets are bound; a loaded host (the whole suite
    // beside a build) can take seconds to get there.
    for (int i = 0; i < 200 && pid_ > 0 && !started(); ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;  // it exited: its stderr says why
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  ~Server() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 40; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(50ms);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  bool started() const { return readFile(log_).find("started") != std::string::npos; }
  // The queries logged so far ("query[A] NAME from ADDRESS" lines).
  std::string queries() const {
    std::string out;
    std::istringstream in(readFile(log_));
    for (std::string l; std::getline(in, l);)
      if (l.find("query[") != std::string::npos) out += l + "\n";
    return out;
  }
  void clear() const { std::ofstream(log_, std::ios::trunc); }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

class StrictLoopbackDns : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    ASSERT_TRUE(dir_.ok());
    lab_ = std::make_unique<Lab>(topology());
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    xdg_ = dir_.path() + "/xdg";  // no user policy layer of the machine
    std::filesystem::create_directories(xdg_);
    const std::string vpnDns = lab_->dns4("vpn");
    const std::string wifiDns = lab_->dns4("wifi");
    ASSERT_FALSE(vpnDns.empty());
    ASSERT_FALSE(wifiDns.empty());
    policy_ = dir_.write("policy.toml", "[pvd.vpn]\ninterface = \"" + lab_->link("vpn") +
                                            "\"\ndns = [\"" + vpnDns + "\", \"" +
                                            lab_->dns6("vpn") +
                                            "\"]\n[pvd.wifi]\ninterface = \"" +
                                            lab_->link("wifi") + "\"\ndns = [\"" + wifiDns +
                                            "\"]\n[default]\npvd = \"wifi\"\n");

    // The host's local stub resolver, forwarding to the Wi-Fi PvD's server.
    stub_ = std::make_unique<Server>(
        lab_->ns("node"),
        std::vector<std::string>{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                                 "--pid-file=", "--user=root", "--no-hosts", "--no-resolv",
                                 "--cache-size=0", "--bind-interfaces",
                                 "--listen-address=" + std::string(kStub),
                                 "--server=" + wifiDns, "--log-queries",
                                 "--log-facility=" + dir_.path() + "/stub.log"},
        dir_.path() + "/stub.log");
    ASSERT_TRUE(stub_->started()) << readFile(dir_.path() + "/stub.log")
                                  << readFile(dir_.path() + "/stub.log.stderr");
    lab_->clearLogs();
  }

  ExecOptions opts() const { return ExecOptions().withEnv("XDG_CONFIG_HOME=" + xdg_); }

  CommandResult dig(const std::vector<std::string>* mifArgs, std::vector<std::string> extra) const {
    std::vector<std::string> argv{"dig", "+time=2", "+tries=1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return mifArgs ? lab_->mifRun(*mifArgs, argv, opts()) : lab_->exec(argv, opts());
  }

  // What the Wi-Fi server logged, after giving its asynchronous log time to settle.
  std::vector<mif::e2e::DnsQuery> wifiQueries() const {
    lab_->dnsSaw("wifi", "nothing.invalid", 500ms);
    return lab_->dnsQueries("wifi");
  }

  static constexpr const char* kStub = "127.0.0.53";
  mif::e2e::TempDir dir_{"stubdns"};
  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Server> stub_;
  std::string xdg_;
  std::string policy_;
};

// Without mif, and under a non-strict pin: the stub forwards the name to the Wi-Fi server
// (the leak a strict pin closes); loopback is not mif's business then.
TEST_F(StrictLoopbackDns, WithoutStrictTheStubForwardsToWifi) {
  const std::vector<std::string> nonStrict{"--policy", policy_, "--pvd", "vpn"};
  for (const auto* mifArgs : {static_cast<const std::vector<std::string>*>(nullptr), &nonStrict}) {
    SCOPED_TRACE(mifArgs ? "mif run --pvd vpn" : "without mif");
    lab_->clearLogs();
    stub_->clear();
    auto r = dig(mifArgs, {"@" + std::string(kStub), "www.example.com"});
    EXPECT_NE(r.out.find("status: NOERROR"), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("SERVER: 127.0.0.53#53"), std::string::npos) << r.describe();
    EXPECT_TRUE(lab_->dnsSaw("wifi", "www.example.com"));
    EXPECT_NE(stub_->queries().find("www.example.com"), std::string::npos);

    auto wiki = dig(mifArgs, {"@" + std::string(kStub), "wiki.corp.example"});
    EXPECT_NE(wiki.out.find("<<>> DiG"), std::string::npos) << wiki.describe();
    EXPECT_EQ(wiki.out.find(lab_->hostAddr4("wiki")), std::string::npos) << wiki.describe();
    EXPECT_TRUE(lab_->dnsSaw("wifi", "wiki.corp.example"));  // the private name leaked
    EXPECT_FALSE(lab_->dnsSaw("vpn", "wiki.corp.example", 0ms));
  }
}

// Under a strict VPN pin: the query goes to the VPN's server over tun0, dig gets its
// answer (presented, on its connected socket, as the stub's), and neither the stub nor the
// Wi-Fi server sees anything.
TEST_F(StrictLoopbackDns, StrictPinAsksThePvdsServerInsteadOfTheStub) {
  const std::vector<std::string> strict{"--policy", policy_, "--pvd", "vpn", "--strict"};
  stub_->clear();
  auto wiki = dig(&strict, {"@" + std::string(kStub), "wiki.corp.example"});
  EXPECT_NE(wiki.out.find("status: NOERROR"), std::string::npos) << wiki.describe();
  EXPECT_NE(wiki.out.find(lab_->hostAddr4("wiki")), std::string::npos) << wiki.describe();
  auto www = dig(&strict, {"@" + std::string(kStub), "www.example.com"});
  EXPECT_NE(www.out.find(lab_->hostAddr4("www")), std::string::npos) << www.describe();
  // IPv6 loopback, from an AF_INET6 socket (dig's are IPV6_V6ONLY): the VPN's IPv6 server.
  auto six = dig(&strict, {"-6", "@::1", "wiki.corp.example"});
  EXPECT_NE(six.out.find(lab_->hostAddr4("wiki")), std::string::npos) << six.describe();

  ASSERT_TRUE(lab_->dnsSaw("vpn", "wiki.corp.example"));
  EXPECT_TRUE(lab_->dnsSaw("vpn", "www.example.com"));
  for (const auto& q : lab_->dnsQueries("vpn")) {
    EXPECT_EQ(lab_->pvdOfAddress(q.from), "vpn") << q.name << " from " << q.from;
  }
  EXPECT_TRUE(wifiQueries().empty());
  EXPECT_EQ(stub_->queries(), "");
}

// TCP (dig +tcp) under a strict pin: connected to the VPN's server over tun0 instead.
TEST_F(StrictLoopbackDns, StrictPinSendsTcpQueriesToThePvdsServer) {
  // A TCP-capable server of the VPN's (see the top of this file).
  auto added = lab_->exec({"ip", "addr", "add", "10.8.0.54/32", "dev", "lo"},
                          ExecOptions().in("router.vpn"));
  ASSERT_EQ(added.status, 0) << added.describe();
  Server vpnTcp(lab_->ns("router.vpn"),
                {"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--pid-file=",
                 "--user=root", "--no-hosts", "--no-resolv", "--local=/#/", "--bind-interfaces",
                 "--listen-address=10.8.0.54", "--local-ttl=60",
                 "--host-record=wiki.corp.example," + lab_->hostAddr4("wiki"),
                 "--host-record=www.example.com," + lab_->hostAddr4("www"), "--log-queries",
                 "--log-facility=" + dir_.path() + "/vpn-tcp.log"},
                dir_.path() + "/vpn-tcp.log");
  ASSERT_TRUE(vpnTcp.started());
  const std::string policy = dir_.write(
      "tcp.toml", "[pvd.vpn]\ninterface = \"" + lab_->link("vpn") +
                      "\"\ndns = [\"10.8.0.54\"]\n[pvd.wifi]\ninterface = \"" +
                      lab_->link("wifi") + "\"\ndns = [\"" + lab_->dns4("wifi") +
                      "\"]\n[default]\npvd = \"wifi\"\n");
  const std::vector<std::string> strict{"--policy", policy, "--pvd", "vpn", "--strict"};
  stub_->clear();
  vpnTcp.clear();
  auto wiki = dig(&strict, {"+tcp", "@" + std::string(kStub), "wiki.corp.example"});
  EXPECT_NE(wiki.out.find(lab_->hostAddr4("wiki")), std::string::npos) << wiki.describe();
  EXPECT_NE(wiki.out.find("(TCP)"), std::string::npos) << wiki.describe();
  auto www = dig(&strict, {"+tcp", "@" + std::string(kStub), "www.example.com"});
  EXPECT_NE(www.out.find(lab_->hostAddr4("www")), std::string::npos) << www.describe();

  std::this_thread::sleep_for(300ms);  // dnsmasq's log is asynchronous
  const std::string seen = vpnTcp.queries();
  EXPECT_EQ(countOf(seen, "wiki.corp.example from " + lab_->addr4("vpn")), 1u) << seen;
  EXPECT_EQ(countOf(seen, "www.example.com from " + lab_->addr4("vpn")), 1u) << seen;
  EXPECT_TRUE(wifiQueries().empty());
  EXPECT_EQ(stub_->queries(), "");
  EXPECT_FALSE(lab_->dnsSaw("vpn", "wiki.corp.example", 0ms));  // only the one named
}

// The pinned PvD has no DNS server of the socket's family (an IPv6 server only, asked
// from an AF_INET socket): refused at once (ECONNREFUSED), never handed to the stub.
TEST_F(StrictLoopbackDns, StrictPinWithoutAServerOfTheFamilyRefusesAtOnce) {
  const std::string policy = dir_.write(
      "v6.toml", "[pvd.vpn]\ninterface = \"" + lab_->link("vpn") + "\"\ndns = [\"" +
                     lab_->dns6("vpn") + "\"]\n[default]\npvd = \"vpn\"\n");
  const std::vector<std::string> strict{"--policy", policy, "--pvd", "vpn", "--strict"};
  stub_->clear();
  const auto started = std::chrono::steady_clock::now();
  auto r = dig(&strict, {"@" + std::string(kStub), "wiki.corp.example"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms) << r.describe();  // not a timeout
  EXPECT_EQ(r.out.find(lab_->hostAddr4("wiki")), std::string::npos) << r.describe();
  EXPECT_NE((r.out + r.err).find("connection refused"), std::string::npos) << r.describe();
  EXPECT_TRUE(wifiQueries().empty());
  EXPECT_EQ(stub_->queries(), "");
}

}  // namespace
