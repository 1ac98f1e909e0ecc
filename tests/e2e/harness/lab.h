#pragma once
// End-to-end test harness: brings up a `mif lab` topology (network namespaces with a node,
// one router and one dnsmasq per PvD, hosts with small HTTP/UDP services, an optional
// shared "internet"), runs real programs in the node's namespace (plain or under
// `mif run`), and reads what the lab saw: DNS query logs, service logs, packet captures.
//
// Typical test:
//
//   #include "lab.h"
//   using namespace std::chrono_literals;
//
//   TEST(SplitDns, PrivateNameResolvesThroughTheVpnOnly) {
//     MIF_E2E_REQUIRE_LAB();                    // skips with a reason when not root, ...
//     mif::e2e::Lab lab("wifi-vpn");            // built-in name, or a path to a .toml
//     ASSERT_TRUE(lab.ok()) << lab.error();
//     auto r = lab.mifRun({"--pvd", "vpn"}, {"curl", "-s", "http://wiki.corp.example/"});
//     EXPECT_EQ(r.status, 0) << r.describe();
//     EXPECT_TRUE(lab.dnsSaw("vpn", "wiki.corp.example"));
//     EXPECT_FALSE(lab.dnsSaw("wifi", "wiki.corp.example", 0ms));
//     auto seen = lab.served("wiki");
//     ASSERT_EQ(seen.size(), 1u);
//     EXPECT_EQ(seen[0].client, lab.addr4("vpn"));
//   }                                         // ~Lab tears everything down, pass or fail
//
// Every topology's names and addresses are available as "facts" (see Lab::fact and
// docs/lab.md), so tests never hard-code an address: lab.addr4("wifi"), lab.dns4("vpn"),
// lab.hostAddr4("wiki"), lab.link("vpn") (the node's interface name of that PvD).
//
// Threading: a Lab and its Captures belong to the test's thread. Only one test program runs
// at a time (ctest RUN_SERIAL), but two Labs of different topologies may coexist.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace mif::e2e {

// Why end-to-end tests cannot run here (not root, no network namespaces, no ip or
// dnsmasq), or "" when they can. Use MIF_E2E_REQUIRE_LAB() in the test body.
std::string labUnavailableReason();

// Skips the current test with the reason from labUnavailableReason(); never passes
// silently. Must be used in the TEST body (or SetUp), as GTEST_SKIP requires.
#define MIF_E2E_REQUIRE_LAB()                                                        \
  do {                                                                               \
    if (std::string mifLabWhy_ = ::mif::e2e::labUnavailableReason(); !mifLabWhy_.empty()) \
      GTEST_SKIP() << "end-to-end lab unavailable: " << mifLabWhy_;                  \
  } while (0)

// Path of the `mif` binary under test (MIF_BIN_DIR/mif, or $MIF_BIN if set).
std::string mifBinary();
// tests/e2e/programs/send_ra.py: router advertisements sent with a raw socket.
inline std::string sendRaProgram() {
  return std::string(MIF_SOURCE_DIR) + "/tests/e2e/programs/send_ra.py";
}
// tests/e2e/programs/icmp_reject.py: a firewall's REJECT (ICMP port unreachable) without
// netfilter, run in a router's namespace.
inline std::string icmpRejectProgram() {
  return std::string(MIF_SOURCE_DIR) + "/tests/e2e/programs/icmp_reject.py";
}

// What a command did. status is the exit status (0..255), 128+N when killed by signal N,
// -1 when it could not be started at all (err then says why).
struct CommandResult {
  int status = -1;
  bool timedOut = false;  // killed (SIGKILL to its process group) at the timeout
  std::string out;        // everything it wrote to stdout
  std::string err;        // everything it wrote to stderr
  bool ok() const { return status == 0 && !timedOut; }
  // One line for failure messages: "status 1 (timed out); stdout: ...; stderr: ...".
  std::string describe() const;
};

struct ExecOptions {
  std::chrono::milliseconds timeout{10000};
  // Extra "NAME=VALUE" entries added to (or replacing in) the inherited environment.
  std::vector<std::string> env;
  // Written to the command's stdin, which is then closed. Empty: stdin is /dev/null.
  std::string input;
  // Namespace role to run in: "node" (default), "router.<pvd>", "internet", or a full
  // namespace name starting with "miflab-". See Lab::ns.
  std::string where = "node";

  // Chainable setters: GCC 12 warns (-Wmissing-field-initializers) on designated
  // initializers that leave members out, so write ExecOptions().in("router.vpn").within(5s).
  ExecOptions& within(std::chrono::milliseconds t) { timeout = t; return *this; }
  ExecOptions& withEnv(std::string nameValue) { env.push_back(std::move(nameValue)); return *this; }
  ExecOptions& withInput(std::string data) { input = std::move(data); return *this; }
  ExecOptions& in(std::string role) { where = std::move(role); return *this; }
};

// Runs argv (PATH is searched) in the test's own namespace, as Lab::exec does in the
// lab's; opts.where is ignored. E.g. runHere({mifBinary(), "lab", "status"}).
CommandResult runHere(const std::vector<std::string>& argv, const ExecOptions& opts = {});

// One query as the PvD's dnsmasq logged it: type "A", "AAAA", "PTR", ...; from is the
// client's address (which tells which of the node's addresses it came from).
struct DnsQuery {
  std::string type;
  std::string name;
  std::string from;
};

// One request a lab service answered. proto is "http" or "udp"; host the service's
// identity (a host name of the topology, e.g. "www", "wiki"); client the source address
// it saw (no port); local the address it was reached at.
struct Served {
  std::string proto;
  std::string host;
  std::string client;
  int clientPort = 0;
  std::string local;
};

// A running tcpdump (-U --immediate-mode, so nothing sent before stop() is missed).
// Created by Lab::capture; stops itself when destroyed.
class Capture {
 public:
  Capture() = default;
  Capture(Capture&& other) noexcept;
  Capture& operator=(Capture&& other) noexcept;
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  ~Capture();

  // True while tcpdump runs (it was listening when Lab::capture returned).
  bool running() const { return pid_ > 0; }
  // Error text when starting failed.
  const std::string& error() const { return error_; }
  // Stops tcpdump (SIGINT, waits for it to flush, at most 2 s). Idempotent.
  void stop();
  // Stops, then returns the packets as `tcpdump -n -r` prints them, one line each.
  std::vector<std::string> packets();
  // Number of captured packets whose printed line contains needle ("" counts all),
  // e.g. count("198.51.100.10 >") for packets from that source.
  size_t count(std::string_view needle = "");
  const std::string& file() const { return file_; }

 private:
  friend class Lab;
  int pid_ = -1;
  std::string file_;
  std::string error_;
  std::vector<std::string> lines_;
  bool read_ = false;
};

class Lab {
 public:
  // Brings TOPOLOGY up with `mif lab up TOPOLOGY --as INSTANCE`. TOPOLOGY is a built-in
  // name ("wifi-vpn", "overlap", "oneway", "captive", "onelink", "poorlink") or a path to a
  // topology file. INSTANCE names this copy (its namespaces are "miflab-<instance>-...");
  // by default "<topology>-t<pid>", so that test programs running at the same time (other
  // engineers' builds, or two ctest runs) never share or tear down each other's labs.
  // First it removes leftovers of the same instance and of instances whose test process
  // is gone (a crashed or killed earlier run). On failure ok() is false and error() says
  // why; nothing throws.
  explicit Lab(std::string topology, std::string instance = "");
  // `mif lab down`: removes namespaces, processes, state files; also when the test failed.
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  // The instance's name (its namespaces are "miflab-<name>-...", its state
  // /run/mif-lab/<name>); `mif lab exec|facts|portal|down <name>` accept it.
  const std::string& name() const { return name_; }

  // A fact `mif lab facts` printed for this topology ("" when absent). Keys (docs/lab.md):
  //   pvds                     space-separated PvD names
  //   pvd.<p>.link             the node's interface of that PvD
  //   pvd.<p>.addr4 / addr6    the node's first address of each family on it
  //   pvd.<p>.addrs            all its node addresses (space-separated, no length)
  //   pvd.<p>.prefix4/prefix6  the PvD's on-link prefixes
  //   pvd.<p>.gateway4/6       its router's address on the node's link
  //   pvd.<p>.dns              its DNS server addresses (space-separated)
  //   pvd.<p>.domains          zones its DNS server is authoritative for
  //   hosts                    space-separated host names
  //   host.<h>.pvd             the PvD the host sits behind, or "internet"
  //   host.<h>.addr4 / addr6   its addresses
  //   ns.node, ns.router.<p>, ns.internet   namespace names
  //   policy                   a mif policy file describing the node's PvDs (one
  //                            [pvd.<p>] each: interface, dns, domains, prefixes,
  //                            source; [default] = the PvD with the best default route)
  std::string fact(std::string_view key) const;
  // fact("policy"): for `mif run --policy`.
  std::string policyFile() const { return fact("policy"); }
  std::string link(std::string_view pvd) const { return fact("pvd." + std::string(pvd) + ".link"); }
  std::string addr4(std::string_view pvd) const { return fact("pvd." + std::string(pvd) + ".addr4"); }
  std::string addr6(std::string_view pvd) const { return fact("pvd." + std::string(pvd) + ".addr6"); }
  std::string gateway4(std::string_view pvd) const {
    return fact("pvd." + std::string(pvd) + ".gateway4");
  }
  std::string gateway6(std::string_view pvd) const {
    return fact("pvd." + std::string(pvd) + ".gateway6");
  }
  // The PvD's first IPv4 / IPv6 DNS server address ("" when it has none of that family).
  std::string dns4(std::string_view pvd) const;
  std::string dns6(std::string_view pvd) const;
  std::string hostAddr4(std::string_view host) const {
    return fact("host." + std::string(host) + ".addr4");
  }
  std::string hostAddr6(std::string_view host) const {
    return fact("host." + std::string(host) + ".addr6");
  }
  // Which PvD a node address belongs to ("" when none): maps Served::client back.
  std::string pvdOfAddress(std::string_view address) const;
  // Namespace name of a role: "node", "router.<pvd>", "internet"; a name that already
  // starts with "miflab-" is returned as is.
  std::string ns(std::string_view role = "node") const;

  // Runs argv (PATH is searched) in a namespace of the lab (opts.where, default the node),
  // with /sys remounted for that namespace as `ip netns exec` does, capturing output.
  CommandResult exec(const std::vector<std::string>& argv, const ExecOptions& opts = {}) const;
  // `/bin/sh -c SCRIPT` in the node (or opts.where).
  CommandResult shell(const std::string& script, const ExecOptions& opts = {}) const;
  // `mif run MIFARGS... -- ARGV...` in the node, mif taken from mifBinary().
  CommandResult mifRun(const std::vector<std::string>& mifArgs,
                       const std::vector<std::string>& argv, const ExecOptions& opts = {}) const;
  // `mif ARGS...` in the root namespace (e.g. {"lab", "status"}).
  CommandResult mif(const std::vector<std::string>& args, const ExecOptions& opts = {}) const;

  // Queries the PvD's DNS server has logged so far, oldest first.
  std::vector<DnsQuery> dnsQueries(std::string_view pvd) const;
  // Whether the PvD's DNS server received a query for NAME (any type; case-insensitive,
  // trailing dot ignored). dnsmasq writes its log asynchronously, so this polls up to
  // `wait` for a positive answer; pass 0ms for a negative check after a positive one.
  bool dnsSaw(std::string_view pvd, std::string_view name,
              std::chrono::milliseconds wait = std::chrono::milliseconds(1000)) const;
  // Requests answered by the lab's services so far, oldest first; with HOST, only that
  // host's. A service logs each request before answering it, so this needs no waiting.
  std::vector<Served> served(std::string_view host = "") const;
  // The same, only the requests of one protocol ("http" or "udp").
  std::vector<Served> served(std::string_view host, std::string_view proto) const;
  // Empties the DNS and service logs, so that the next step sees only its own traffic.
  void clearLogs() const;

  // Starts tcpdump on an interface and returns once it is listening. IFACE is a PvD name
  // (its node-side interface) or an interface name in namespace `where` (e.g. "node",
  // the router's side of a PvD link, with where = "router.<pvd>"). FILTER is a pcap
  // filter expression ("" for everything).
  Capture capture(std::string_view iface, const std::string& filter = "",
                  std::string_view where = "node") const;

  // Kill-switch helpers, acting on the node's side of a PvD's link: set it down, or up
  // again with the routes the kernel dropped meanwhile restored (`mif lab up` again);
  // delete it (the veth pair disappears with its addresses and routes, like a VPN's tun
  // device going away); recreate it with its addresses and routes (`mif lab up` again,
  // which only restores what is missing). Return false (and ADD_FAILURE) on error.
  bool linkDown(std::string_view pvd) const;
  bool linkUp(std::string_view pvd) const;
  bool linkDelete(std::string_view pvd) const;
  bool linkRecreate(std::string_view pvd) const;

  // Captive portal PvDs: marks the user authenticated (true) or not; the PvD's DNS then
  // answers normally, or every name with the portal's address. `mif lab portal`.
  bool setPortalAuthenticated(std::string_view pvd, bool authenticated) const;

  // The state directory (/run/mif-lab/<name>): logs, captures, generated configs.
  std::string stateDir() const;

 private:
  bool loadFacts();
  std::string topology_;
  std::string name_;
  bool ok_ = false;
  std::string error_;
  std::vector<std::pair<std::string, std::string>> facts_;
  mutable int captures_ = 0;
};

// Builds tests/e2e/programs/NAME.go with Go's own resolver and no cgo (a static program
// LD_PRELOAD never reaches; stdlib only, so no network is needed), once per test process,
// under $TMPDIR (or /tmp)/mif-go. Returns the program's path, or "" with *why set.
std::string goProgram(const std::string& name, std::string* why);

// A temporary directory (under $TMPDIR or /tmp) for a test's policy files, and an empty
// XDG_CONFIG_HOME so that no user layer of the machine leaks into the test; removed with
// everything in it when destroyed.
class TempDir {
 public:
  explicit TempDir(std::string_view tag = "e2e");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  // Writes TEXT to path()/NAME and returns that file's path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

// The path of a copy of built-in topology BUILTIN renamed NAME (written once per process
// into $TMPDIR or /tmp), so that a test program using it never meets, or tears down,
// another test program's instance of the built-in one.
std::string renamedTopology(const std::string& builtin, const std::string& name);

}  // namespace mif::e2e
