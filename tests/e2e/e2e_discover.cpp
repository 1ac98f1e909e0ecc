// PvDs announced by the network (issue 32, RFC 8801; RFC 6418 4.5: one link, two
// routers, two PvDs). In the onelink lab both routers sit on the node's eth0; each
// announces its own explicit PvD (a PvD option with a nested prefix and DNS server),
// sent by the test from the router's side with a raw socket (tests/e2e/programs/
// send_ra.py). Without a listener nothing on the host knows either PvD: the kernel hears
// the advertisements (it takes the router as a default router) but keeps nothing of the
// PvD option and configures no address from the prefix nested in it. With `mif discover`
// running in the lab's node namespace (never the test's own), both PvDs are published,
// for unprivileged readers, under a temporary MIF_RUN_DIR, and `mif show` lists both by
// identity; a router that withdraws its
// PvD (lifetime 0) takes it away at once, malformed advertisements change nothing, and
// stopping the listener withdraws what it published. A PvD announced with the H flag has
// its additional information fetched over HTTPS through that PvD (its DNS, its router).
// The listener configures the addresses and source routes of the nested prefixes. (Over
// 400 lines: the tests share one lab fixture and its helpers, and each lab costs CI time.)
#include <arpa/inet.h>
#include <sys/stat.h>
#include <time.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "lab.h"

namespace {

using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::TempDir;
using namespace std::chrono_literals;

const std::string kSendRa = mif::e2e::sendRaProgram();

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "";
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Whether ADDRESS lies in b's prefix, 2001:db8:b::/64 (the node's own address there or the
// one the listener makes from b's announced prefix, whichever the PvD's source is).
bool inB(const std::string& address) { return address.rfind("2001:db8:b:", 0) == 0; }

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

// Polls `ok` every 20 ms until it holds or `limit` passes.
template <class F>
bool waitFor(F ok, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!ok()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

class Discover : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    lab_ = std::make_unique<Lab>("onelink");
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    link_ = lab_->link("a");
    ASSERT_EQ(link_, lab_->link("b"));  // one link, two routers
    pvds_ = dir_.path() + "/pvds";
    // The kernel's own handling of the same advertisements, for comparison.
    CommandResult r = lab_->shell("sysctl -qw net.ipv6.conf." + link_ +
                                  ".accept_ra=2 net.ipv6.conf." + link_ + ".autoconf=1");
    ASSERT_TRUE(r.ok()) << r.describe();
    // Advertisements leave from link-local addresses, usable once DAD is over.
    const std::string dadOver =
        "for i in $(seq 100); do ip -6 addr show dev DEV scope link tentative | grep -q . || "
        "exit 0; sleep 0.05; done; exit 1";
    auto on = [&](const std::string& dev) {
      std::string s = dadOver;
      return s.replace(s.find("DEV"), 3, dev);
    };
    ASSERT_TRUE(lab_->shell(on(link_)).ok());
    ASSERT_TRUE(lab_->shell(on("node"), ExecOptions().in("router.a")).ok());
    ASSERT_TRUE(lab_->shell(on("node"), ExecOptions().in("router.b")).ok());
  }

  void TearDown() override {
    if (pid_ > 0 && lab_) lab_->shell("kill " + std::to_string(pid_) + " 2>/dev/null");
    if (serverPid_ > 0 && lab_) lab_->shell("kill " + std::to_string(serverPid_) + " 2>/dev/null");
  }

  // One advertisement from router PVD ("a" or "b"); ARGS: send_ra.py's.
  CommandResult advertise(const std::string& pvd, const std::string& args) const {
    return lab_->shell("/usr/bin/python3 " + kSendRa + " node " + args,
                       ExecOptions().in("router." + pvd));
  }

  // Starts the listener in the node's namespace; true once it listens (its directory is
  // made after its socket).
  bool startListener(const std::string& args = "") {
    CommandResult r = lab_->shell("MIF_RUN_DIR=" + dir_.path() + " " + mif::e2e::mifBinary() +
                                  " discover " + args + " --interface " + link_ + " >" + dir_.path() +
                                  "/discover.log 2>&1 </dev/null & echo $!");
    if (!r.ok()) return false;
    pid_ = std::stoi(r.out);
    return waitFor([&] { return exists(pvds_); }, 5s);
  }

  std::string log() const { return slurp(dir_.path() + "/discover.log"); }

  // `mif show ARGS` in the node, reading the listener's directory, as an unprivileged
  // reader would (no policy: the explicit PvDs are listed whatever the policy).
  CommandResult show(const std::string& args) const {
    return lab_->shell(mif::e2e::mifBinary() + " show " + args,
                       ExecOptions()
                           .withEnv("MIF_RUN_DIR=" + dir_.path())
                           .withEnv("XDG_CONFIG_HOME=" + dir_.path()));
  }

  TempDir dir_{"e2e-discover"};
  std::unique_ptr<Lab> lab_;
  std::string link_, pvds_;
  int pid_ = 0, serverPid_ = 0;
};

const std::string kRaA =
    "pvd=a.example,1 pio=600,300,2001:db8:a1::/64 rdnss=600,2001:db8:a::53 "
    "dnssl=600,a.example";
const std::string kRaB =
    "pvd=b.example,1,H pio=600,300,2001:db8:b1::/64 rdnss=600,2001:db8:b::53 "
    "pref64=600,64:ff9b::/96";

TEST_F(Discover, TwoRoutersOnOneLinkEachPublishTheirOwnPvd) {
  // Without the listener: the kernel takes both routers' advertisements but keeps nothing
  // of their PvDs and makes no address from the nested prefixes.
  ASSERT_TRUE(advertise("a", kRaA).ok());
  ASSERT_TRUE(advertise("b", kRaB).ok());
  ASSERT_TRUE(waitFor([&] {
    return lab_->shell("ip -6 route show default dev " + link_ + " proto ra | grep -c via")
               .out.find('2') == 0;
  }, 3s)) << lab_->shell("ip -6 route").out;
  CommandResult addrs = lab_->shell("ip -6 addr show dev " + link_);
  EXPECT_EQ(addrs.out.find("2001:db8:a1:"), std::string::npos) << addrs.out;
  EXPECT_EQ(addrs.out.find("2001:db8:b1:"), std::string::npos) << addrs.out;
  // The kernel's default routes go again (else `mif show` would solicit those routers and
  // wait 0.6 s for answers each time).
  ASSERT_TRUE(lab_->shell("sysctl -qw net.ipv6.conf." + link_ + ".accept_ra=0 && ip -6 route "
                          "flush dev " + link_ + " proto ra").ok());

  ASSERT_TRUE(startListener()) << log();
  ASSERT_TRUE(advertise("a", kRaA).ok());
  ASSERT_TRUE(advertise("b", kRaB).ok());
  ASSERT_TRUE(waitFor([&] {
    return exists(pvds_ + "/a.example") && exists(pvds_ + "/b.example");
  }, 5s)) << log();
  std::string a = slurp(pvds_ + "/a.example"), b = slurp(pvds_ + "/b.example");
  EXPECT_NE(a.find("\nversion 1\n"), std::string::npos) << a;
  EXPECT_NE(a.find("\nid a.example\n"), std::string::npos) << a;
  EXPECT_NE(a.find("\nprefix 2001:db8:a1::/64 router fe80::"), std::string::npos) << a;
  EXPECT_NE(a.find("\ndns 2001:db8:a::53 router fe80::"), std::string::npos) << a;
  EXPECT_NE(a.find("\ndomain a.example router"), std::string::npos) << a;
  EXPECT_EQ(a.find("2001:db8:b"), std::string::npos) << a;  // nothing of b's
  EXPECT_NE(b.find("\nflags H\n"), std::string::npos) << b;
  EXPECT_NE(b.find("\nprefix 2001:db8:b1::/64 router fe80::"), std::string::npos) << b;
  EXPECT_NE(b.find("\npref64 64:ff9b::/96 router"), std::string::npos) << b;
  // Each from its own router: the routers' link-local addresses differ.
  auto routerOf = [](const std::string& text) {
    size_t at = text.find("\nrouter ");
    return at == std::string::npos ? "" : text.substr(at + 8, text.find(' ', at + 8) - at - 8);
  };
  EXPECT_NE(routerOf(a), "");
  EXPECT_NE(routerOf(a), routerOf(b));
  // Readable by anyone.
  struct stat st{};
  ASSERT_EQ(::stat((pvds_ + "/a.example").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // `mif show` lists both, by identity, with their prefixes, DNS and NAT64 prefix.
  CommandResult show = this->show("");
  ASSERT_TRUE(show.ok()) << show.describe();
  size_t atA = show.out.find("explicit-pvd a.example\n"), atB = show.out.find("explicit-pvd b.example\n");
  ASSERT_NE(atA, std::string::npos) << show.out;
  ASSERT_NE(atB, std::string::npos) << show.out;
  std::string showA = show.out.substr(atA, atB - atA), showB = show.out.substr(atB);
  EXPECT_NE(showA.find("prefix       2001:db8:a1::/64 router fe80::"), std::string::npos) << showA;
  EXPECT_NE(showA.find("dns          2001:db8:a::53 router"), std::string::npos) << showA;
  EXPECT_NE(showA.find("domain       a.example"), std::string::npos) << showA;
  EXPECT_NE(showB.find("nat64        64:ff9b::/96"), std::string::npos) << showB;
  EXPECT_NE(showB.find("more info    https://b.example/.well-known/pvd"), std::string::npos) << showB;
  CommandResult json = this->show("--json");
  ASSERT_TRUE(json.ok()) << json.describe();
  size_t list = json.out.find("\"explicit_pvds\":[{\"id\":\"a.example\"");
  ASSERT_NE(list, std::string::npos) << json.out;
  EXPECT_NE(json.out.find("{\"id\":\"b.example\"", list), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"prefix\":\"2001:db8:b1::/64\"", list), std::string::npos) << json.out;

  // Router a withdraws its PvD: gone within a second; b's stays.
  ASSERT_TRUE(advertise("a", "--router-lifetime 0 pvd=a.example,2 pio=0,0,2001:db8:a1::/64 "
                             "rdnss=0,2001:db8:a::53 dnssl=0,a.example")
                  .ok());
  EXPECT_TRUE(waitFor([&] { return !exists(pvds_ + "/a.example"); }, 1s)) << log();
  EXPECT_TRUE(exists(pvds_ + "/b.example"));
  show = this->show("");
  EXPECT_EQ(show.out.find("explicit-pvd a.example"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("explicit-pvd b.example"), std::string::npos) << show.out;

  // Malformed advertisements from b (each would withdraw b's PvD if it were taken):
  // a compressed PvD ID, a nested option running past the PvD option, a nested PIO of
  // prefix length 129, a PvD option nested in another, a zero-length option.
  b = slurp(pvds_ + "/b.example");
  const std::string withdraw = "--router-lifetime 0 ";
  for (const std::string& bad : {
           std::string("raw=150100000001c00c"),                        // compressed name
           "pvd=b.example,2 raw=0309" + std::string(60, '0'),            // runs past
           "pvd=b.example,2 raw=030481" + std::string(58, '0'),          // PIO /129
           std::string("pvd=b.example,2 raw=1503000000010163076578616d706c650000000000000000"),
           std::string("rdnss=0,2001:db8:b::53 raw=1900"),            // length 0
       }) {
    CommandResult r = advertise("b", withdraw + bad);
    ASSERT_TRUE(r.ok()) << bad << ": " << r.describe();
  }
  // The listener took them in (a valid one sent after them is heard) and changed nothing.
  ASSERT_TRUE(advertise("a", "pvd=c.example,1 rdnss=600,2001:db8:c::53").ok());
  ASSERT_TRUE(waitFor([&] { return exists(pvds_ + "/c.example"); }, 5s)) << log();
  EXPECT_EQ(slurp(pvds_ + "/b.example"), b);
  EXPECT_FALSE(exists(pvds_ + "/a.example"));
  std::string l = log();
  EXPECT_NE(l.find("compressed name"), std::string::npos) << l;
  EXPECT_NE(l.find("runs past the end"), std::string::npos) << l;
  EXPECT_NE(l.find("prefix length 129"), std::string::npos) << l;
  EXPECT_NE(l.find("nested in it"), std::string::npos) << l;
  EXPECT_NE(l.find("has length 0"), std::string::npos) << l;

  // Stopping the listener withdraws what it published.
  ASSERT_TRUE(lab_->shell("kill " + std::to_string(pid_)).ok());
  EXPECT_TRUE(waitFor([&] {
    return !exists(pvds_ + "/b.example") && !exists(pvds_ + "/c.example");
  }, 5s)) << log();
  pid_ = 0;
}

// RFC 6418 4.5 by identity: each router announces its PvD with the prefix the node has
// an address in and its own DNS server. Before anything is published, `mif run --pvd
// b.example` has no such PvD; once the listener published both, a program run with
// `--pvd b.example` leaves from b's address through router b and resolves b's private name
// through b's server, and one strictly pinned to a.example cannot reach b's service (a's
// router drops b's traffic).
TEST_F(Discover, APolicyNamesAnAnnouncedPvdByItsIdentity) {
  lab_->clearLogs();
  const std::string svc6 = lab_->hostAddr6("bsvc");
  const std::vector<std::string> env = {"XDG_CONFIG_HOME=" + dir_.path(),
                                        "MIF_RUN_DIR=" + dir_.path()};
  auto run = [&](const std::string& pvd, const std::string& url, const char* maxTime = "4") {
    ExecOptions o;
    for (const auto& e : env) o.withEnv(e);
    return lab_->mifRun({"--pvd", pvd, "--strict"},
                        {"curl", "-sS", "-6", "--max-time", maxTime, url}, o);
  };
  CommandResult before = run("b.example", "http://[" + svc6 + "]/");
  EXPECT_EQ(before.status, 125) << before.describe();
  EXPECT_NE(before.err.find("b.example"), std::string::npos) << before.err;

  ASSERT_TRUE(startListener()) << log();
  ASSERT_TRUE(advertise("a", "pvd=a.example,1 pio=600,300," + lab_->fact("pvd.a.prefix6") +
                                 " rdnss=600," + lab_->dns6("a"))
                  .ok());
  ASSERT_TRUE(advertise("b", "pvd=b.example,1 pio=600,300," + lab_->fact("pvd.b.prefix6") +
                                 " rdnss=600," + lab_->dns6("b"))
                  .ok());
  ASSERT_TRUE(waitFor([&] {
    return exists(pvds_ + "/a.example") && exists(pvds_ + "/b.example");
  }, 5s)) << log();

  CommandResult wrong = run("a.example", "http://[" + svc6 + "]/", "2");
  EXPECT_FALSE(wrong.ok()) << "a's router does not carry b's service: " << wrong.describe();
  EXPECT_TRUE(lab_->served("bsvc", "http").empty());
  CommandResult r = run("b.example", "http://svc.b.example/");
  ASSERT_TRUE(r.ok()) << r.describe();
  auto seen = lab_->served("bsvc", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(inB(seen[0].client)) << seen[0].client;
  EXPECT_TRUE(lab_->dnsSaw("b", "svc.b.example"));
  EXPECT_FALSE(lab_->dnsSaw("a", "svc.b.example", 0ms));
}

// RFC 8801 section 4: router b announces its PvD (svc.b.example) with the H flag; its
// additional information is served over HTTPS (a certificate of a test CA made here) by
// a host behind router b, reachable only through b, and svc.b.example resolves only
// through b's DNS server. Without the listener nothing fetches it; `mif discover
// --ca-file` fetches it through the PvD (b's server, b's address, b's router) and `mif
// show` shows its fields. A document naming another PvD, or expired, is refused with its
// reason in the log and not shown.
TEST_F(Discover, AdditionalInformationIsFetchedThroughTheAnnouncingPvd) {
  lab_->clearLogs();
  const std::string d = dir_.path(), svc6 = lab_->hostAddr6("bsvc");
  // A test CA and the server's certificate for the PvD ID.
  CommandResult pki = lab_->shell(
      "cd " + d + " && printf 'subjectAltName=DNS:svc.b.example\\n' >san.ext && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
      "-out ca.pem -days 2 -subj /CN=mif-test-ca 2>&1 && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key "
      "-out srv.csr -subj /CN=svc.b.example 2>&1 && "
      "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile san.ext -out srv.pem 2>&1");
  ASSERT_TRUE(pki.ok()) << pki.describe();
  auto utc = [](int64_t fromNow) {
    std::time_t t = std::time(nullptr) + fromNow;
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return std::string(buf);
  };
  auto serve = [&](const std::string& identifier, const std::string& expires) {
    std::ofstream(d + "/pvd.json")
        << R"({"identifier":")" << identifier << R"(","expires":")" << expires
        << R"(","prefixes":["2001:db8:b::/48"],"name":"B's network","noInternet":true,)"
        << R"("metered":true,"dnsZones":["b.example"]})";
  };
  serve("svc.b.example", utc(3600));
  CommandResult server = lab_->shell(
      "/usr/bin/python3 " + std::string(MIF_SOURCE_DIR) + "/tests/e2e/programs/pvd_info_server.py " +
          svc6 + " 443 " + d + "/srv.pem " + d + "/srv.key " + d + "/pvd.json " + d +
          "/requests.log >" + d + "/server.out 2>&1 </dev/null & echo $!",
      ExecOptions().in("router.b"));
  ASSERT_TRUE(server.ok()) << server.describe();
  serverPid_ = std::stoi(server.out);
  ASSERT_TRUE(waitFor([&] { return slurp(d + "/server.out").find("ready") != std::string::npos; }, 5s))
      << slurp(d + "/server.out");
  const std::string ra = "pvd=svc.b.example,SEQ,H pio=600,300," + lab_->fact("pvd.b.prefix6") +
                         " rdnss=600," + lab_->dns6("b");
  auto advertiseB = [&](int seq) {
    std::string args = ra;
    return advertise("b", args.replace(args.find("SEQ"), 3, std::to_string(seq)));
  };

  // Without the listener: the advertisement is heard by the kernel only; nothing asks.
  ASSERT_TRUE(advertiseB(1).ok());
  ASSERT_TRUE(startListener("--ca-file " + d + "/ca.pem")) << log();
  EXPECT_EQ(slurp(d + "/requests.log"), "");

  ASSERT_TRUE(advertiseB(1).ok());
  const std::string file = pvds_ + "/svc.b.example";
  ASSERT_TRUE(waitFor([&] { return slurp(file).find("\ninfo expires ") != std::string::npos; }, 8s))
      << log();
  // Fetched once, from b's address (through router b), the name resolved by b's server.
  std::string requests = slurp(d + "/requests.log");
  const std::string client = requests.substr(0, requests.find(' ') + 1);
  EXPECT_TRUE(inB(client)) << requests;
  EXPECT_EQ(requests, client + "/.well-known/pvd\n");
  EXPECT_TRUE(lab_->dnsSaw("b", "svc.b.example"));
  EXPECT_FALSE(lab_->dnsSaw("a", "svc.b.example", 0ms));
  CommandResult json = show("--json");
  ASSERT_TRUE(json.ok()) << json.describe();
  EXPECT_NE(json.out.find(R"("info":{"expires":")"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find(R"("name":"B's network","no_internet":true,"metered":true,)"
                          R"("dns_zones":["b.example"],"prefixes":["2001:db8:b::/48"])"),
            std::string::npos)
      << json.out;
  CommandResult text = show("");
  EXPECT_NE(text.out.find("    info         " + utc(0).substr(0, 4)), std::string::npos) << text.out;

  // Another PvD's document (sequence 2: the information changed): refused, not shown.
  serve("a.example", utc(3600));
  ASSERT_TRUE(advertiseB(2).ok());
  ASSERT_TRUE(waitFor([&] {
    return log().find("refused: \"identifier\" a.example is not the PvD ID svc.b.example") !=
           std::string::npos;
  }, 8s)) << log();
  EXPECT_EQ(slurp(file).find("\ninfo"), std::string::npos) << slurp(file);
  EXPECT_EQ(show("--json").out.find("B's network"), std::string::npos);

  // An expired one likewise.
  serve("svc.b.example", utc(-60));
  ASSERT_TRUE(advertiseB(3).ok());
  ASSERT_TRUE(waitFor([&] { return log().find("refused: expired at ") != std::string::npos; }, 8s))
      << log();
  EXPECT_EQ(slurp(file).find("\ninfo"), std::string::npos) << slurp(file);
  EXPECT_EQ(show("--json").out.find("B's network"), std::string::npos);

  // RFC 8801 4.1: a redirect is followed (through the PvD: b's address, b's server); a
  // status of 400 or more means there is none, and it is not asked again (no back-off
  // retries) until the sequence number grows.
  serve("svc.b.example", utc(3600));
  std::ofstream(d + "/pvd.json.status") << "302 https://svc.b.example/moved/pvd";
  std::ofstream(d + "/requests.log", std::ios::trunc).flush();
  ASSERT_TRUE(advertiseB(4).ok());
  ASSERT_TRUE(waitFor([&] { return slurp(file).find("\ninfo expires ") != std::string::npos; }, 8s))
      << log();
  requests = slurp(d + "/requests.log");
  const std::string fromB = requests.substr(0, requests.find(' ') + 1);
  EXPECT_TRUE(inB(fromB)) << requests;
  EXPECT_EQ(requests, fromB + "/.well-known/pvd\n" + fromB + "/moved/pvd\n");
  std::ofstream(d + "/pvd.json.status") << "404";
  ASSERT_TRUE(advertiseB(5).ok());
  ASSERT_TRUE(waitFor([&] {
    return log().find("HTTP status 404") != std::string::npos &&
           slurp(file).find("\ninfo") == std::string::npos;
  }, 8s)) << log();
  EXPECT_NE(log().find("not asked again until its sequence number changes"), std::string::npos) << log();
}

// The kernel makes no address from a prefix nested in a PvD option and no route for it:
// mif discover does (RFC 4862 SLAAC with the link's EUI-64, RFC 8028 `default from PREFIX
// via ROUTER`, both marked proto 109), for each router's PvD, renews them with each
// advertisement, and removes them when the router withdraws them (lifetime 0) and when it
// stops, leaving alone what it did not add. Here the node's own addresses in a's and b's
// prefixes and their routes are removed first: all the host has for a.example and
// b.example is what the listener configures. The host keeps its default route through a
// and the kernel takes both routers as default routers (accept_ra 2): without mif a
// program's traffic goes through one router for both PvDs' destinations; under `mif run --pvd ID` each PvD's through its own router,
// from its own address, its names resolved by its own DNS server.
TEST_F(Discover, TheListenerConfiguresAnAddressAndASourceRouteForEachRoutersNestedPrefix) {
  const std::string prefixA = lab_->fact("pvd.a.prefix6"), prefixB = lab_->fact("pvd.b.prefix6");
  ASSERT_EQ(prefixA, "2001:db8:a::/64");
  ASSERT_EQ(prefixB, "2001:db8:b::/64");
  CommandResult r = lab_->shell("ip -6 addr del " + lab_->addr6("a") + "/64 dev " + link_ +
                                " && ip -6 route del ::/0 from " + prefixA + " && ip -6 addr del " +
                                lab_->addr6("b") + "/64 dev " + link_ + " && ip -6 route del ::/0 from " +
                                prefixB + " && ip -6 route show from " + prefixA + " && ip -6 route show from " +
                                prefixB);
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_EQ(r.out.find("default"), std::string::npos) << r.out;
  // The addresses the kernel would make: the modified EUI-64 of the link's MAC address.
  r = lab_->shell("cat /sys/class/net/" + link_ + "/address");
  ASSERT_TRUE(r.ok()) << r.describe();
  unsigned m[6] = {};
  ASSERT_EQ(std::sscanf(r.out.c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]), 6);
  char iid[40];
  std::snprintf(iid, sizeof iid, "%x:%xff:fe%02x:%x", ((m[0] ^ 2) << 8) | m[1], m[2], m[3],
                (m[4] << 8) | m[5]);
  auto canonical = [](const std::string& text) {  // as ip prints it (RFC 5952)
    in6_addr a{};
    char out[INET6_ADDRSTRLEN] = "";
    if (inet_pton(AF_INET6, text.c_str(), &a) == 1) inet_ntop(AF_INET6, &a, out, sizeof out);
    return std::string(out);
  };
  const std::string addrA = canonical("2001:db8:a:0:" + std::string(iid)),
                    addrB = canonical("2001:db8:b:0:" + std::string(iid));
  // Router b's link-local address, and the administrator's own route to b's service
  // network from b's prefix through it, there before the listener: b's nested RIO
  // announces the same route, which is then not the listener's (left alone).
  r = lab_->shell("ip -6 -o addr show dev node scope link | sed 's/.*inet6 \\([^/]*\\).*/\\1/'",
                  ExecOptions().in("router.b"));
  ASSERT_TRUE(r.ok()) << r.describe();
  const std::string routerB = r.out.substr(0, r.out.find('\n'));
  const std::string svcNet = "2001:db8:bb::/48";
  ASSERT_TRUE(lab_->shell("ip -6 route add " + svcNet + " from " + prefixB + " via " + routerB + " dev " + link_)
                  .ok());
  auto addrs = [&] { return lab_->shell("ip -6 addr show dev " + link_).out; };
  auto routes = [&](const std::string& prefix) {
    return lab_->shell("ip -6 route show from " + prefix).out;
  };
  auto hasAddress = [&](const std::string& a) {
    return addrs().find("inet6 " + a + "/64") != std::string::npos;
  };
  auto ready = [&](const std::string& a) {  // there, and DAD over
    std::string out = lab_->shell("ip -6 addr show dev " + link_ + " to " + a).out;
    return out.find(a + "/64") != std::string::npos && out.find("tentative") == std::string::npos;
  };
  auto svcRoute = [&] {
    return lab_->shell("ip -6 route show from " + prefixB + " | grep '^" + svcNet + " '").out;
  };
  const std::string adminRoute = svcRoute();
  ASSERT_NE(adminRoute.find(" via " + routerB + " dev " + link_), std::string::npos) << adminRoute;

  const std::string kA = "pvd=a.example,1 pio=600,300," + prefixA + " rdnss=600," + lab_->dns6("a");
  const std::string kB = "pvd=b.example,1 pio=600,300," + prefixB + " rdnss=600," + lab_->dns6("b") +
                         " rio=600," + svcNet;
  ASSERT_TRUE(startListener()) << log();
  ASSERT_TRUE(advertise("a", kA).ok());
  ASSERT_TRUE(advertise("b", kB).ok());
  // An address from each router's nested prefix (once DAD is over), and a route from that
  // prefix via that router's link-local address.
  ASSERT_TRUE(waitFor([&] { return ready(addrA) && ready(addrB); }, 5s)) << addrs() << log();
  std::string a = slurp(pvds_ + "/a.example");
  size_t at = a.find("\nrouter ");
  ASSERT_NE(at, std::string::npos) << a;
  const std::string routerA = a.substr(at + 8, a.find(' ', at + 8) - at - 8);
  ASSERT_NE(routerA, routerB);
  const std::string viaA = "default from " + prefixA + " via " + routerA + " dev " + link_ + " proto 109";
  const std::string viaB = "default from " + prefixB + " via " + routerB + " dev " + link_ + " proto 109";
  EXPECT_NE(routes(prefixA).find(viaA), std::string::npos) << routes(prefixA) << log();
  EXPECT_NE(routes(prefixB).find(viaB), std::string::npos) << routes(prefixB) << log();
  r = lab_->shell("ip -6 route get " + lab_->hostAddr6("www") + " from " + addrA);
  EXPECT_NE(r.out.find("via " + routerA + " dev " + link_ + " proto 109"), std::string::npos)
      << r.describe();
  r = lab_->shell("ip -6 route get " + lab_->hostAddr6("bsvc") + " from " + addrB);
  EXPECT_NE(r.out.find("via " + routerB + " dev " + link_), std::string::npos) << r.describe();

  // Without mif: the host has one default route without a source (the lab's via a's
  // router, and the kernel's from both advertisements) and sends a program's traffic
  // through one router for both destinations (the route table, not the source address,
  // picks the router); the destination behind the other router is not reached.
  const std::string www6 = lab_->hostAddr6("www"), bsvc6 = lab_->hostAddr6("bsvc");
  auto routerFor = [&](const std::string& dest) {
    std::string out = lab_->shell("ip -6 route get " + dest).out;
    size_t v = out.find(" via ");
    return v == std::string::npos ? out : out.substr(v + 5, out.find(' ', v + 5) - v - 5);
  };
  ASSERT_TRUE(waitFor([&] {
    return lab_->shell("ip -6 route show default proto ra | grep -c via").out.find('2') == 0;
  }, 3s)) << lab_->shell("ip -6 route").out;
  auto routerName = [&](const std::string& via) {  // by its link-local or global address
    return via == routerA || via == lab_->gateway6("a") ? "a" : via == routerB || via == lab_->gateway6("b") ? "b" : via;
  };
  const std::string plainRouter = routerName(routerFor(www6));
  ASSERT_TRUE(plainRouter == "a" || plainRouter == "b") << plainRouter;
  EXPECT_EQ(routerName(routerFor(bsvc6)), plainRouter) << "one router for both";
  lab_->clearLogs();
  const std::string missed = plainRouter == "a" ? bsvc6 : www6;
  r = lab_->shell("curl -sS -6 --max-time 1 http://[" + missed + "]/");
  EXPECT_FALSE(r.ok()) << missed << " through " << plainRouter << ": " << r.describe();
  EXPECT_TRUE(lab_->served("").empty());

  // With mif: a program pinned to a.example leaves from a's address through router a and
  // resolves through a's DNS server; one pinned to b.example from b's through router b
  // and b's DNS server.
  lab_->clearLogs();
  ExecOptions o;
  o.withEnv("XDG_CONFIG_HOME=" + dir_.path()).withEnv("MIF_RUN_DIR=" + dir_.path());
  auto run = [&](const std::string& pvd, const std::string& url) {
    return lab_->mifRun({"--pvd", pvd, "--strict"}, {"curl", "-sS", "-6", "--max-time", "4", url}, o);
  };
  r = run("a.example", "http://www.example.com/");
  ASSERT_TRUE(r.ok()) << r.describe() << log();
  auto seen = lab_->served("www", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, addrA);
  EXPECT_TRUE(lab_->dnsSaw("a", "www.example.com"));
  EXPECT_FALSE(lab_->dnsSaw("b", "www.example.com", 0ms));
  r = run("b.example", "http://svc.b.example/");
  ASSERT_TRUE(r.ok()) << r.describe() << log();
  seen = lab_->served("bsvc", "http");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client, addrB);
  EXPECT_TRUE(lab_->dnsSaw("b", "svc.b.example"));
  EXPECT_FALSE(lab_->dnsSaw("a", "svc.b.example", 0ms));

  // What was not its own stays as it was: the administrator's route to b's service network
  // (the listener's would have been the same route, proto 109).
  EXPECT_NE(log().find("already there"), std::string::npos) << log();
  EXPECT_EQ(svcRoute(), adminRoute);

  // Router a withdraws its PvD: its address and route go within a second; b's stay.
  ASSERT_TRUE(advertise("a", "--router-lifetime 0 pvd=a.example,2 pio=0,0," + prefixA +
                                 " rdnss=0," + lab_->dns6("a"))
                  .ok());
  EXPECT_TRUE(waitFor([&] {
    return !hasAddress(addrA) && routes(prefixA).find("default") == std::string::npos;
  }, 1s)) << addrs() << routes(prefixA) << log();
  EXPECT_TRUE(hasAddress(addrB)) << addrs();
  EXPECT_NE(routes(prefixB).find(viaB), std::string::npos) << routes(prefixB);

  // Announced again, then the listener stops: all it added goes, the administrator's
  // route stays.
  ASSERT_TRUE(advertise("a", kA).ok());
  ASSERT_TRUE(waitFor([&] { return routes(prefixA).find(viaA) != std::string::npos && hasAddress(addrA); }, 3s))
      << routes(prefixA) << log();
  ASSERT_TRUE(lab_->shell("kill " + std::to_string(pid_)).ok());
  pid_ = 0;
  EXPECT_TRUE(waitFor([&] {
    return !hasAddress(addrA) && !hasAddress(addrB) && routes(prefixA).find("default") == std::string::npos &&
           routes(prefixB).find("default") == std::string::npos && !exists(pvds_ + "/a.example");
  }, 3s)) << addrs() << routes(prefixA) << routes(prefixB) << log();
  EXPECT_EQ(svcRoute(), adminRoute);
  EXPECT_EQ(lab_->shell("ip -6 route show proto 109").out, "");
}

// A program already running under `mif run`, whose policy strictly names a PvD by an ID
// that no router announces yet, connects to b's service every 100 ms
// (tests/e2e/programs/connect_every.py). It is refused (ENETUNREACH) until router b
// announces b.example, reaches the service from b's prefix (through router b: a's router
// does not carry it) within a second of the advertisement, and is refused again within a
// second of b's lifetime-0 advertisement. The same program without mif, beside it, is
// never stopped: the host's own address and route in b's prefix outlive the PvD. (The
// node's address in a's prefix and its route are removed, so that the program without
// mif has one source address and one route, through b, and reaches b's service throughout.)
TEST_F(Discover, ARunningProgramReachesAPvdAnnouncedAfterItStartedAndStopsWithIt) {
  const std::string d = dir_.path(), bsvc6 = lab_->hostAddr6("bsvc"), prefixB = lab_->fact("pvd.b.prefix6");
  ASSERT_TRUE(lab_->shell("ip -6 addr del " + lab_->addr6("a") + "/64 dev " + link_ +
                          " && ip -6 route del ::/0 from " + lab_->fact("pvd.a.prefix6") +
                          " && ip -6 route del ::/0 via " + lab_->gateway6("a"))
                  .ok());
  const std::string policy = dir_.write("announced.toml",
                                        "[pvd.announced]\nid = \"b.example\"\n\n"
                                        "[default]\npvd = \"announced\"\nstrict = true\n");
  ASSERT_TRUE(startListener()) << log();
  const std::string prog = "/usr/bin/python3 " + std::string(MIF_SOURCE_DIR) +
                           "/tests/e2e/programs/connect_every.py " + bsvc6;
  CommandResult r = lab_->shell("cd " + d + " && (MIF_RUN_DIR=" + d + " XDG_CONFIG_HOME=" + d + " " +
                                mif::e2e::mifBinary() + " run --policy " + policy + " -- " + prog +
                                " >mif.out 2>&1 </dev/null & echo $! >mif.pid; " + prog +
                                " >plain.out 2>&1 </dev/null & echo $! >plain.pid)");
  ASSERT_TRUE(r.ok()) << r.describe();
  struct Kill {  // both loops end with the test, whatever happens
    const Lab& lab;
    std::string dir;
    ~Kill() { lab.shell("kill $(cat " + dir + "/mif.pid " + dir + "/plain.pid) 2>/dev/null"); }
  } stopLoops{*lab_, d};
  struct Attempt {
    double at;
    bool ok;
    std::string what;  // the client address seen, or the errno
  };
  auto attempts = [&](const std::string& name) {
    std::vector<Attempt> out;
    std::istringstream in(slurp(d + "/" + name + ".out"));
    double at;
    std::string result, what;
    while (in >> at >> result >> what) out.push_back({at, result == "ok", what});
    return out;
  };
  auto now = [] {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
  };
  // Both running for a few attempts: under mif refused, the PvD not being announced.
  ASSERT_TRUE(waitFor([&] { return attempts("mif").size() >= 3 && attempts("plain").size() >= 3; }, 5s))
      << slurp(d + "/mif.out") << slurp(d + "/plain.out");
  for (const Attempt& a : attempts("mif")) EXPECT_EQ(a.what, "ENETUNREACH") << a.at;
  EXPECT_TRUE(attempts("plain").back().ok) << slurp(d + "/plain.out");

  // Times are taken before the sender starts: the advertisement leaves a little later.
  const double announced = now();
  ASSERT_TRUE(advertise("b", "pvd=b.example,1 pio=600,300," + prefixB + " rdnss=600," + lab_->dns6("b")).ok());
  ASSERT_TRUE(waitFor([&] {
    auto all = attempts("mif");
    return !all.empty() && all.back().ok;
  }, 3s)) << slurp(d + "/mif.out") << log();
  double firstOk = 0;
  for (const Attempt& a : attempts("mif")) {
    if (!a.ok) continue;
    if (firstOk == 0) firstOk = a.at;
    EXPECT_TRUE(inB(a.what)) << a.what;
  }
  EXPECT_LE(firstOk - announced, 1.0) << "reached " << firstOk - announced << " s after the advertisement";
  std::printf("first success under mif %.3f s after the advertisement\n", firstOk - announced);

  const double withdrawn = now();
  ASSERT_TRUE(advertise("b", "--router-lifetime 0 pvd=b.example,2 pio=0,0," + prefixB + " rdnss=0," +
                                 lab_->dns6("b"))
                  .ok());
  // Until 1.5 s after the withdrawal: every attempt starting 1 s after it is refused.
  ASSERT_TRUE(waitFor([&] {
    auto all = attempts("mif");
    return !all.empty() && all.back().at > withdrawn + 1.5;
  }, 5s)) << slurp(d + "/mif.out");
  double lastOk = 0;
  int after = 0;
  for (const Attempt& a : attempts("mif")) {
    if (a.ok) lastOk = a.at;
    if (a.at > withdrawn + 1.0) {
      ++after;
      EXPECT_EQ(a.what, "ENETUNREACH") << a.at - withdrawn << " s after the withdrawal";
    }
  }
  EXPECT_GE(after, 3);
  std::printf("last success under mif %.3f s after the withdrawal\n", lastOk - withdrawn);
  // Without mif the program went on through router b all along.
  auto plain = attempts("plain");
  ASSERT_FALSE(plain.empty());
  EXPECT_TRUE(plain.back().ok) << slurp(d + "/plain.out");
  EXPECT_GT(plain.back().at, withdrawn + 1.0);
  EXPECT_TRUE(inB(plain.back().what)) << plain.back().what;
}

}  // namespace
