// `mif run --trace=FILE` (issue 24): every socket and resolver call is one line of valid
// JSON with its outcome, whatever bytes the program's names hold, whether mif answered,
// refused or left the call to glibc, and however many threads write at once. Every line
// is read back with python3's json module; names come back byte for byte (bytes that are
// not UTF-8 through the surrogateescape convention, docs/trace.md).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_dns_common.h"
#include "lab.h"

namespace {

using mif::e2e::CommandResult;
using mif::e2e::ExecOptions;
using mif::e2e::Lab;
using mif::e2e::TempDir;

std::string topology() {
  static const std::string path = mif::e2e::renamedTopology("wifi-vpn", "trace-wifi-vpn");
  return path;
}

// Reads TRACE with python3: every line must parse; prints one summary line per trace
// line, "call|name-as-hex|note|status|errno" (fields absent: "-").
const char* kSummarise = R"(
import json, sys
for raw in open(sys.argv[1], 'rb'):
    assert raw.endswith(b'\n'), raw
    d = json.loads(raw)
    if d.get('attempt'):
        continue
    name = d.get('name') or d.get('destination', '-')
    hexname = name.encode('utf-8', 'surrogateescape').hex()
    print('|'.join([d['call'], hexname, d.get('note', '-'), str(d.get('status', '-')),
                    str(d.get('error', '-'))]))
)";

class Trace : public ::testing::Test {
 protected:
  void SetUp() override {
    MIF_E2E_REQUIRE_LAB();
    ASSERT_TRUE(dir_.ok());
    lab_ = std::make_unique<Lab>(topology());
    ASSERT_TRUE(lab_->ok()) << lab_->error();
    trace_ = dir_.path() + "/trace.jsonl";
    // A PvD that never exists, to be strictly refused.
    policy_ = dir_.write("policy.toml", "[pvd.ghost]\ninterface = \"nosuch0\"\n"
                                        "[pvd.wifi]\ninterface = \"" + lab_->link("wifi") +
                                        "\"\n[default]\npvd = \"wifi\"\n");
  }
  // ARGV under mif run in the node, whose system resolver is the Wi-Fi PvD's server (the
  // calls left to glibc are answered there, at once).
  CommandResult run(std::vector<std::string> mifArgs, std::vector<std::string> argv) {
    mifArgs.insert(mifArgs.begin(), "--trace=" + trace_);
    return mifdns::e2e::run(*lab_, lab_->dns4("wifi"), policy_, mifArgs, argv,
                            std::chrono::milliseconds(60000));
  }
  // The trace's lines as summarised by kSummarise (all parsed).
  std::vector<std::string> lines() {
    CommandResult r = mif::e2e::runHere({"python3", "-c", kSummarise, trace_});
    EXPECT_TRUE(r.ok()) << "a trace line is not JSON: " << r.describe();
    std::vector<std::string> out;
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  static std::string hex(const std::string& bytes) {
    static const char* d = "0123456789abcdef";
    std::string h;
    for (unsigned char c : bytes) h += std::string{d[c >> 4], d[c & 15]};
    return h;
  }
  std::unique_ptr<Lab> lab_;
  TempDir dir_{"trace"};
  std::string trace_, policy_;
};

TEST_F(Trace, AWeirdNameRefusedAsInvalidIsTracedAsValidJsonWithItsOutcome) {
  const std::string name = "we\"ird\\name\tx.example";
  auto r = run({}, {"getent", "hosts", name});
  EXPECT_EQ(r.status, 2) << r.describe();  // not found, as without mif
  auto got = lines();
  ASSERT_FALSE(got.empty());
  bool seen = false;
  for (const auto& l : got)
    seen |= l.rfind("gethostbyname2|" + hex(name) + "|not a valid host name: glibc|HOST_NOT_FOUND|",
                    0) == 0;
  EXPECT_TRUE(seen) << testing::PrintToString(got);
}

// Names with every awkward kind of byte through every traced resolver call kind: each
// line parses and gives the name back exactly.
TEST_F(Trace, EveryCallKindWritesAwkwardNamesBackExactly) {
  const char* script = R"(
import ctypes, socket
ctypes.CDLL('libresolv.so.2', mode=ctypes.RTLD_GLOBAL)  # glibc's res_* behind mif's
libc = ctypes.CDLL(None)  # the program's view: mif's functions first
res_query = getattr(libc, '__res_query')
res_search = getattr(libc, '__res_search')
names = [b'quote".example', b'back\\slash.example', b'tab\tnew\nline.example',
         b'ctl\x01\x1f\x7f.example', b'latin\xe9\xff.example', b'ok-caf\xc3\xa9.example',
         b'trunc\xe2\x82.example']
buf = ctypes.create_string_buffer(512)
for n in names:
    try:
        socket.getaddrinfo(n, 80)
    except Exception:
        pass
    libc.gethostbyname(n)
    libc.gethostbyname2(n, socket.AF_INET6)
    res_query(n, 1, 1, buf, 512)
    res_search(n, 1, 1, buf, 512)
print('done')
)";
  auto r = run({}, {"python3", "-c", script});
  ASSERT_EQ(r.status, 0) << r.describe();
  const std::vector<std::string> names = {
      "quote\".example",       "back\\slash.example",     "tab\tnew\nline.example",
      "ctl\x01\x1f\x7f.example", "latin\xe9\xff.example", "ok-caf\xc3\xa9.example",
      "trunc\xe2\x82.example"};
  auto got = lines();
  for (const std::string call : {"getaddrinfo", "gethostbyname", "gethostbyname2", "res_query",
                                 "res_search"}) {
    for (const auto& n : names) {
      bool seen = false;
      for (const auto& l : got) seen |= l.rfind(call + "|" + hex(n) + "|", 0) == 0;
      EXPECT_TRUE(seen) << call << " of " << hex(n) << " not traced intact\n"
                        << testing::PrintToString(got);
    }
  }
}

TEST_F(Trace, StrictRefusalsOfALookupAndOfAConnectEachWriteALineWithTheirStatus) {
  const char* script = R"(
import socket
try:
    socket.getaddrinfo('www.example.com', 80)
except socket.gaierror as e:
    print('gai', e.errno)
s = socket.socket()
try:
    s.connect(('203.0.113.80', 80))
except OSError as e:
    print('connect', e.errno)
)";
  auto r = run({"--pvd", "ghost", "--strict"}, {"python3", "-c", script});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_NE(r.out.find("gai -3"), std::string::npos) << r.describe();        // EAI_AGAIN
  EXPECT_NE(r.out.find("connect 101"), std::string::npos) << r.describe();  // ENETUNREACH
  auto got = lines();
  bool lookup = false, connect = false;
  for (const auto& l : got) {
    lookup |= l == "getaddrinfo|" + hex("www.example.com") + "|strict: no usable PvD|EAI_AGAIN|-";
    connect |= l.rfind("connect|" + hex("203.0.113.80") + "|strict and no PvD usable|", 0) == 0 &&
               l.find("|ENETUNREACH") != std::string::npos;
  }
  EXPECT_TRUE(lookup) << testing::PrintToString(got);
  EXPECT_TRUE(connect) << testing::PrintToString(got);
}

TEST_F(Trace, SixteenThreadsOfAThousandCallsWriteSixteenThousandWholeLines) {
  const char* script = R"(
import socket, threading
def work():
    for i in range(1000):
        socket.getaddrinfo('192.0.2.77', 80, socket.AF_INET, socket.SOCK_STREAM)
ts = [threading.Thread(target=work) for _ in range(16)]
for t in ts: t.start()
for t in ts: t.join()
print('done')
)";
  auto r = run({}, {"python3", "-c", script});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto got = lines();  // every line parsed and ended in a newline
  size_t numeric = 0;
  for (const auto& l : got)
    numeric += l == "getaddrinfo|" + hex("192.0.2.77") + "|numeric host: glibc|OK|-";
  EXPECT_EQ(numeric, 16000u);
}

// The trace file stays open across a program that closes every descriptor it did not
// open (daemons do): lines before and after land in the same file, whole.
TEST_F(Trace, ClosingEveryDescriptorDoesNotLoseTheTrace) {
  const char* script = R"(
import os, socket
socket.getaddrinfo('192.0.2.1', 80, socket.AF_INET)
os.closerange(3, 65536)
socket.getaddrinfo('192.0.2.2', 80, socket.AF_INET)
print('done')
)";
  auto r = run({}, {"python3", "-c", script});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto got = lines();
  EXPECT_NE(std::find(got.begin(), got.end(),
                      "getaddrinfo|" + hex("192.0.2.1") + "|numeric host: glibc|OK|-"),
            got.end());
  EXPECT_NE(std::find(got.begin(), got.end(),
                      "getaddrinfo|" + hex("192.0.2.2") + "|numeric host: glibc|OK|-"),
            got.end())
      << testing::PrintToString(got);
}

}  // namespace
