// Strict means strict on every path (issue 21): the failure paths of a strict pin refuse
// the network and never fall back to the system resolver or the default route.
//
// Engine missing: libmif.so loads libmif-engine.so from its own directory on the first
// network call. A libmif.so alone in a directory (a broken install) cannot; without
// MIF_STRICT every call then goes to glibc as without mif (said once on stderr), and
// under MIF_STRICT every lookup that would need a server fails with the API's own "cannot
// reach a server" error, and no query reaches any server. The node's system resolver is
// the Wi-Fi PvD's dnsmasq, which would answer; its log is the witness.
//
// errno: a program must not tell mif is there by errno or h_errno. errno_probe calls
// every hooked function with both set to a sentinel; its report under mif (the name
// resolved by mif through the same server as the system resolver) equals the report
// without mif, line for line, for a name that resolves and one that does not.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "e2e_dns_common.h"

namespace {

using mif::e2e::Lab;
using mif::e2e::TempDir;
using mifdns::e2e::run;

class StrictEveryPath : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    lab_ = std::make_unique<Lab>(mif::e2e::renamedTopology("wifi-vpn", "strict-wifi-vpn"));
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    ASSERT_TRUE(dir_.ok());
    // A broken install: the stub without the engine beside it.
    lonely_ = dir_.path() + "/libmif.so";
    std::error_code ec;
    std::filesystem::copy_file(std::string(MIF_BIN_DIR) + "/../lib/mif/libmif.so", lonely_, ec);
    ASSERT_FALSE(ec) << ec.message();
  }

  // ARGV in the node, the system resolver being Wi-Fi's server, with the lonely stub
  // preloaded (and MIF_STRICT=1 when `strict`).
  mif::e2e::CommandResult withLonelyStub(bool strict, std::vector<std::string> argv) {
    std::vector<std::string> cmd = {"env", "LD_PRELOAD=" + lonely_};
    if (strict) cmd.push_back("MIF_STRICT=1");
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    return run(*lab_, lab_->dns4("wifi"), "", {}, cmd);
  }

  // Every resolver API a program uses, one line each: the answer or the error it got.
  static std::vector<std::string> lookups(const std::string& name) {
    return {"python3", "-c",
            "import socket, sys\n"
            "n = sys.argv[1]\n"
            "try:\n  print('getaddrinfo', socket.getaddrinfo(n, 80, socket.AF_INET)[0][4][0])\n"
            "except socket.gaierror as e:\n  print('getaddrinfo error', e.errno)\n"
            // Python's own gethostbyname goes through getaddrinfo: call libc's directly.
            "import ctypes\n"
            "libc = ctypes.CDLL(None)\n"
            "libc.gethostbyname.restype = ctypes.c_void_p\n"
            "libc.__h_errno_location.restype = ctypes.POINTER(ctypes.c_int)\n"
            "h = libc.gethostbyname(n.encode())\n"
            "print('gethostbyname', 'found' if h else 'h_errno %d' % libc.__h_errno_location()[0])\n"
            "try:\n  print('getnameinfo', socket.getnameinfo(('" "203.0.113.9" "', 80), "
            "socket.NI_NAMEREQD)[0])\n"
            "except socket.gaierror as e:\n  print('getnameinfo error', e.errno)\n"
            "print('numeric', socket.getaddrinfo('203.0.113.9', 80, socket.AF_INET)[0][4][0])\n",
            name};
  }

  std::unique_ptr<Lab> lab_;
  TempDir dir_{"strict"};
  std::string lonely_;
};

TEST_F(StrictEveryPath, EngineMissingWithoutStrictFallsBackToTheSystemResolver) {
  auto r = withLonelyStub(false, lookups("www.example.com"));
  ASSERT_EQ(r.status, 0) << r.describe();
  const std::string www = lab_->hostAddr4("www");
  EXPECT_NE(r.out.find("getaddrinfo " + www), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("gethostbyname found\n"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("mif: cannot load libmif-engine.so"), std::string::npos) << r.describe();
  EXPECT_EQ(r.err.find("mif: strict"), std::string::npos) << r.describe();
  EXPECT_TRUE(lab_->dnsSaw("wifi", "www.example.com"));

  lab_->clearLogs();
  auto res = withLonelyStub(false, {mifdns::e2e::resQueryProgram(), "query", "www.example.com"});
  EXPECT_EQ(res.status, 0) << res.describe();
  EXPECT_NE(res.out.find(www), std::string::npos) << res.describe();
  EXPECT_TRUE(lab_->dnsSaw("wifi", "www.example.com"));
}

TEST_F(StrictEveryPath, EngineMissingUnderStrictRefusesEveryLookupAndNoServerIsAsked) {
  auto r = withLonelyStub(true, lookups("www.example.com"));
  ASSERT_EQ(r.status, 0) << r.describe();
  // EAI_AGAIN (-3), TRY_AGAIN (2): what each API says when no server can be reached.
  EXPECT_NE(r.out.find("getaddrinfo error -3\n"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("gethostbyname h_errno 2\n"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("getnameinfo error -3\n"), std::string::npos) << r.describe();
  // What needs no server is still answered, by glibc itself.
  EXPECT_NE(r.out.find("numeric 203.0.113.9\n"), std::string::npos) << r.describe();
  // One line says why, once per process.
  const std::string why = "mif: strict: ";
  const size_t at = r.err.find(why);
  ASSERT_NE(at, std::string::npos) << r.describe();
  EXPECT_EQ(r.err.find(why, at + 1), std::string::npos) << r.describe();

  auto res = withLonelyStub(true, {mifdns::e2e::resQueryProgram(), "query", "www.example.com"});
  EXPECT_EQ(res.status, 1) << res.describe();
  EXPECT_EQ(res.out, "h_errno=2\n") << res.describe();
  auto search = withLonelyStub(true, {mifdns::e2e::resQueryProgram(), "search", "wiki"});
  EXPECT_EQ(search.out, "h_errno=2\n") << search.describe();

  // Nothing reached either PvD's server (dnsmasq logs asynchronously: give it time).
  EXPECT_FALSE(lab_->dnsSaw("wifi", "www.example.com", std::chrono::milliseconds(500)));
  EXPECT_TRUE(lab_->dnsQueries("wifi").empty());
  EXPECT_TRUE(lab_->dnsQueries("vpn").empty());
}

TEST_F(StrictEveryPath, ErrnoAndHErrnoAreWhatTheProgramWouldSeeWithoutMif) {
  TempDir dir("errno");
  ASSERT_TRUE(dir.ok());
  const std::string policy = dir.write("policy.toml",
                                       "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") +
                                           "\"\n[default]\npvd = \"wifi\"\n");
  const std::string probe = std::string(MIF_BIN_DIR) + "/errno_probe";
  for (const std::string name : {"www.example.com", "nosuch.example.com"}) {
    const std::vector<std::string> argv = {probe, name, lab_->hostAddr4("www"), "80", "81"};
    auto without = run(*lab_, lab_->dns4("wifi"), "", {}, argv);
    ASSERT_EQ(without.status, 0) << without.describe();
    auto with = run(*lab_, lab_->dns4("wifi"), policy, {"--trace=" + dir.path() + "/trace"}, argv);
    ASSERT_EQ(with.status, 0) << with.describe();
    EXPECT_EQ(with.out, without.out) << name;
    // The calls were really mif's: the trace shows a managed lookup of the name.
    std::ifstream trace(dir.path() + "/trace");
    std::string text((std::istreambuf_iterator<char>(trace)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(name), std::string::npos) << text;
    unlink((dir.path() + "/trace").c_str());
  }
}

}  // namespace
