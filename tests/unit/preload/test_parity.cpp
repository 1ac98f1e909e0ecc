// Runs preload_tester in a private network namespace (unshare -n), without and with
// libmif.so preloaded, and compares what the program saw; checks the exported symbols.
// Needs root for the namespace; skips with the reason otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string runShell(const std::string& script) {
  std::string out;
  FILE* p = popen(script.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A private namespace with one veth pair: mifpre-t0 holds 192.0.2.1/24 (the PvD the
// library pins to); 192.0.2.99 is a neighbour that never answers, so nothing leaves. The
// commands start once mifpre-t0's operational state is UP (the kernel's linkwatch sets it
// up to a second after the link is set up, later on a loaded host): before that the PvD
// is not usable and a strict pin refuses what the comparison expects the kernel to judge.
std::string inNamespace(const std::string& commands) {
  return "unshare -n sh -c '"
         "ip link set lo up && "
         "ip link add mifpre-t0 type veth peer name mifpre-t1 && "
         "ip addr add 192.0.2.1/24 dev mifpre-t0 && "
         "ip link set mifpre-t0 up && ip link set mifpre-t1 up && "
         "for i in $(seq 250); do ip link show mifpre-t0 | grep -q \"state UP\" && break; "
         "sleep 0.02; done && " +
         commands + "' 2>&1";
}

const std::string kTester = std::string(MIF_PRELOAD_TESTER) + " 192.0.2.1 192.0.2.99";
const std::string kPreload = std::string("LD_PRELOAD=" MIF_TEST_PRELOAD_PREFIX) + MIF_PRELOAD_LIBRARY;

void requireRoot() {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
}

TEST(PreloadParity, SameResultsAndErrnoWithAndWithoutTheLibrary) {
  requireRoot();
  const std::string plain = runShell(inNamespace(kTester));
  const std::string trace = "/tmp/mifpre-parity-trace." + std::to_string(getpid());
  unlink(trace.c_str());
  const std::string preloaded = runShell(
      inNamespace(kPreload + " MIF_PVD=mifpre-t0 MIF_TRACE=" + trace + " " + kTester));
  auto a = lines(plain), b = lines(preloaded);
  ASSERT_GT(a.size(), 40u) << plain;
  ASSERT_EQ(a.size(), b.size()) << "plain:\n" << plain << "\npreloaded:\n" << preloaded;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "case " << i;
  // Spot checks of what the table must contain.
  EXPECT_NE(plain.find("connect_nonblocking rc=-1 errno=EINPROGRESS"), std::string::npos);
  EXPECT_NE(plain.find("connect_nonblocking_again rc=-1 errno=EALREADY"), std::string::npos);
  EXPECT_NE(plain.find("connect_again_isconn rc=-1 errno=EISCONN"), std::string::npos);
  EXPECT_NE(plain.find("connect_established rc=0 errno_kept=1"), std::string::npos);
  EXPECT_NE(plain.find("sendmsg_msghdr_untouched 1"), std::string::npos);
  // fcntl and ioctl pass through (known_fds.h): pointers, errno, and flags a connect obeys.
  EXPECT_NE(plain.find("fcntl_getlk_type 2\n"), std::string::npos);  // F_UNLCK
  EXPECT_NE(plain.find("ioctl_fionbio_efault rc=-1 errno=EFAULT"), std::string::npos);
  EXPECT_NE(plain.find("connect_made_blocking rc=0"), std::string::npos);
  EXPECT_NE(plain.find("connect_made_nonblocking rc=-1 errno=EINPROGRESS"), std::string::npos);
  EXPECT_NE(plain.find("connect_made_nonblocking_fcntl rc=-1 errno=EINPROGRESS"), std::string::npos);

  // And the library did act: the decisions went through the pinned interface.
  std::ifstream in(trace);
  std::stringstream t;
  t << in.rdbuf();
  unlink(trace.c_str());
  const std::string text = t.str();
  EXPECT_NE(text.find("\"call\":\"connect\",\"destination\":\"192.0.2.99\",\"port\":9"),
            std::string::npos) << text;
  EXPECT_NE(text.find("\"interface\":\"mifpre-t0\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"per_datagram\":true"), std::string::npos) << text;
  EXPECT_NE(text.find("\"error\":\"EINPROGRESS\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"call\":\"sendmmsg\""), std::string::npos) << text;

  // Invalid caller memory: the same answers (compared above, among them EFAULT and EINVAL
  // for every hooked call, both families), no crash, and nothing decided or pinned for a
  // call the kernel refuses; valid addresses off the stack are still decided.
  EXPECT_NE(plain.find("connect_efault_unmapped_v4 rc=-1 errno=EFAULT"), std::string::npos);
  EXPECT_NE(plain.find("connect_einval_oversized_len_v6 rc=-1 errno=EINVAL"), std::string::npos);
  EXPECT_NE(plain.find("sendmsg_efault_control_null_v4 rc=-1 errno=EFAULT"), std::string::npos);
  EXPECT_NE(plain.find("accept_no_room_bad_address_v6 rc=0"), std::string::npos);
  EXPECT_NE(plain.find("connect_fault_socket_unpinned_v4 dev=\n"), std::string::npos);
  EXPECT_EQ(text.find("\"call\":\"connect\",\"destination\":\"192.0.2.99\",\"port\":22"),
            std::string::npos) << text;
  EXPECT_NE(text.find("\"call\":\"connect\",\"destination\":\"192.0.2.99\",\"port\":23"),
            std::string::npos) << text;
  EXPECT_NE(text.find("\"call\":\"sendto\",\"destination\":\"192.0.2.99\",\"port\":23"),
            std::string::npos) << text;
}

// The same under a strict pin, where accept() looks at every connection: the table of
// invalid caller memory (from its marker line on) reads the same.
TEST(PreloadParity, InvalidCallerMemoryUnderAStrictPinAsWithoutTheLibrary) {
  requireRoot();
  auto faultsOf = [](const std::string& out) {
    const auto at = out.find("-- caller memory the kernel rejects\n");
    return at == std::string::npos ? std::vector<std::string>{} : lines(out.substr(at));
  };
  const std::string plain = runShell(inNamespace(kTester));
  const std::string strict =
      runShell(inNamespace(kPreload + " MIF_PVD=mifpre-t0 MIF_STRICT=1 " + kTester));
  auto a = faultsOf(plain), b = faultsOf(strict);
  ASSERT_GT(a.size(), 100u) << plain;
  ASSERT_EQ(a.size(), b.size()) << "plain:\n" << plain << "\nstrict:\n" << strict;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "case " << i;
}

TEST(PreloadParity, StrictWithNothingUsableFailsWithEnetunreach) {
  requireRoot();
  // mifpre-t1 has no address: the pinned PvD is present but not usable.
  const std::string out = runShell(
      inNamespace(kPreload + " MIF_PVD=mifpre-t1 MIF_STRICT=1 " + kTester));
  EXPECT_NE(out.find("connect_nonblocking rc=-1 errno=ENETUNREACH"), std::string::npos) << out;
  EXPECT_NE(out.find("sendto_udp rc=-1 errno=ENETUNREACH"), std::string::npos) << out;
  EXPECT_NE(out.find("sendmmsg_udp_three rc=-1 errno=ENETUNREACH"), std::string::npos) << out;
  EXPECT_NE(out.find("sendto_tcp_fastopen rc=-1 errno=ENETUNREACH"), std::string::npos) << out;
  // The address belongs to another PvD than the strict pin's.
  EXPECT_NE(out.find("bind_local rc=-1 errno=EADDRNOTAVAIL"), std::string::npos) << out;
  // Errors that are not about the network stay as glibc reports them.
  EXPECT_NE(out.find("connect_bad_fd rc=-1 errno=EBADF"), std::string::npos) << out;
  EXPECT_NE(out.find("connect_unix_missing rc=-1 errno=ENOENT"), std::string::npos) << out;
}

TEST(PreloadParity, DisabledLibraryChangesNothing) {
  requireRoot();
  const std::string plain = runShell(inNamespace(kTester));
  const std::string disabled = runShell(
      inNamespace(kPreload + " MIF_PVD=mifpre-t1 MIF_STRICT=1 MIF_DISABLE=1 " + kTester));
  EXPECT_EQ(plain, disabled);
}

// libmif.so (the stub) and libmif-engine.so (dlopened by it) export nothing but the
// interposed libc functions (and, for the engine, its init entry point).
void checkExports(const std::string& library) {
  const std::string nm = runShell("nm -D --defined-only " + library);
  std::set<std::string> exported;
  for (const auto& l : lines(nm)) {
    std::istringstream f(l);
    std::string addr, type, name;
    if (f >> addr >> type >> name) exported.insert(name);
  }
  ASSERT_FALSE(exported.empty()) << nm;
  std::ifstream map(MIF_PRELOAD_MAP);
  std::stringstream m;
  m << map.rdbuf();
  const std::string allowed = m.str();
  for (const auto& name : exported) {
    EXPECT_NE(allowed.find(" " + name + ";"), std::string::npos) << library << " exports " << name;
  }
  for (const char* hook : {"connect", "sendto", "sendmsg", "sendmmsg", "bind", "accept",
                           "accept4", "close", "close_range", "fcntl", "fcntl64", "__fcntl",
                           "ioctl"}) {
    EXPECT_TRUE(exported.count(hook)) << hook << " is not exported by " << library;
  }
  // Nothing of the runtime, libnl, c-ares, toml++ or libstdc++.
  for (const char* prefix : {"_Z", "nl_", "rtnl_", "ares_", "toml"}) {
    for (const auto& name : exported) EXPECT_NE(name.rfind(prefix, 0), 0u) << name;
  }
  const std::string needed = runShell("readelf -d " + library);
  EXPECT_EQ(needed.find("libnl"), std::string::npos) << needed;
  EXPECT_EQ(needed.find("libcares"), std::string::npos) << needed;
  EXPECT_EQ(needed.find("libstdc++"), std::string::npos) << needed;
}

TEST(PreloadSymbols, ExportsOnlyTheHookedLibcFunctions) {
  const std::string stub = MIF_PRELOAD_LIBRARY;
  checkExports(stub);
  checkExports(stub.substr(0, stub.rfind('/')) + "/libmif-engine.so");
}

}  // namespace
