// A strict pin and a DNS query to a resolver on loopback (issue 21): in a private network
// namespace (unshare -n) a small python3 client connects and sends to port 53 on
// 127.0.0.53, ::1 and ::ffff:127.0.0.53 under libmif.so, and prints where each socket
// really went (getpeername, SO_BINDTODEVICE, errno). Nothing answers: the namespace's only
// link is a veth pair whose far end holds no address. Needs root and python3; skips with
// the reason otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

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

// One line per case: "NAME peer=ADDRESS:PORT dev=DEVICE" or "NAME errno=NAME dev=DEVICE".
const char* kClient = R"PY(
import errno, socket
def dev(s):
    return s.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16).rstrip(b'\0').decode()
def case(name, family, kind, addr, v6only=None, blocking=True):
    s = socket.socket(family, kind)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.setblocking(blocking)
    try:
        s.connect(addr)
        p = s.getpeername()
        print(name, 'peer=%s:%d' % (p[0], p[1]), 'dev=' + dev(s))
    except OSError as e:
        print(name, 'errno=' + errno.errorcode[e.errno], 'dev=' + dev(s))
    s.close()
case('udp4', socket.AF_INET, socket.SOCK_DGRAM, ('127.0.0.53', 53))
case('udp4_other_port', socket.AF_INET, socket.SOCK_DGRAM, ('127.0.0.53', 5353))
case('udp6', socket.AF_INET6, socket.SOCK_DGRAM, ('::1', 53))
case('udp6_v6only', socket.AF_INET6, socket.SOCK_DGRAM, ('::1', 53), v6only=1)
case('udp6_mapped', socket.AF_INET6, socket.SOCK_DGRAM, ('::ffff:127.0.0.53', 53))
case('tcp4', socket.AF_INET, socket.SOCK_STREAM, ('127.0.0.53', 53), blocking=False)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01',
             ('127.0.0.53', 53))
    print('sendto4 sent', 'dev=' + dev(s))
except OSError as e:
    print('sendto4', 'errno=' + errno.errorcode[e.errno], 'dev=' + dev(s))
)PY";

// The private namespace: mifpre-t0 holds 192.0.2.1/24 and 2001:db8::1/64 (the PvD), up.
std::string inNamespace(const std::string& env, const std::string& script) {
  return "unshare -n sh -c '"
         "ip link set lo up && "
         "ip link add mifpre-t0 type veth peer name mifpre-t1 && "
         "ip addr add 192.0.2.1/24 dev mifpre-t0 && "
         "ip addr add 2001:db8::1/64 dev mifpre-t0 nodad && "
         "ip link set mifpre-t0 up && ip link set mifpre-t1 up && "
         // A veth's operstate turns UP through linkwatch, up to a second later under load:
         // until then the PvD is not usable and a strict pin refuses everything.
         "for i in $(seq 200); do ip -o link show mifpre-t0 | grep -q \"state UP\" && break; "
         "sleep 0.01; done && "
         "env LD_PRELOAD=" MIF_TEST_PRELOAD_PREFIX MIF_PRELOAD_LIBRARY " " + env + " python3 " + script + "' 2>&1";
}

class LoopbackDns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
    if (system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "needs python3";
    script_ = "/tmp/mifpre-loopback-dns." + std::to_string(getpid()) + ".py";
    std::ofstream(script_) << kClient;
    trace_ = "/tmp/mifpre-loopback-dns-trace." + std::to_string(getpid());
  }
  void TearDown() override {
    unlink(script_.c_str());
    unlink(trace_.c_str());
  }
  std::string run(const std::string& env) const {
    unlink(trace_.c_str());
    return runShell(inNamespace(env + " MIF_TRACE=" + trace_, script_));
  }
  std::string trace() const {
    std::ifstream in(trace_);
    std::stringstream t;
    t << in.rdbuf();
    return t.str();
  }
  std::string script_, trace_;
};

TEST_F(LoopbackDns, StrictPinSendsItToThePvdsServerOverItsInterface) {
  const std::string out = run("MIF_PVD=mifpre-t0 MIF_DNS=192.0.2.53,2001:db8::53 MIF_STRICT=1");
  EXPECT_NE(out.find("udp4 peer=192.0.2.53:53 dev=mifpre-t0\n"), std::string::npos) << out;
  // Only port 53 is DNS.
  EXPECT_NE(out.find("udp4_other_port peer=127.0.0.53:5353 dev=\n"), std::string::npos) << out;
  // An AF_INET6 socket takes the first server of a family it can reach: the IPv4 one at
  // its v4-mapped address, or, with IPV6_V6ONLY, the IPv6 one.
  EXPECT_NE(out.find("udp6 peer=::ffff:192.0.2.53:53 dev=mifpre-t0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("udp6_v6only peer=2001:db8::53:53 dev=mifpre-t0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("udp6_mapped peer=::ffff:192.0.2.53:53 dev=mifpre-t0\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("tcp4 errno=EINPROGRESS dev=mifpre-t0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("sendto4 sent dev=\n"), std::string::npos) << out;  // per datagram
  const std::string t = trace();
  EXPECT_NE(t.find("\"call\":\"sendto\",\"destination\":\"192.0.2.53\",\"port\":53"),
            std::string::npos) << t;
  EXPECT_NE(t.find("\"per_datagram\":true"), std::string::npos) << t;
  EXPECT_NE(t.find("loopback resolver"), std::string::npos) << t;
}

TEST_F(LoopbackDns, WithoutStrictLoopbackIsLeftAlone) {
  const std::string out = run("MIF_PVD=mifpre-t0 MIF_DNS=192.0.2.53");
  EXPECT_NE(out.find("udp4 peer=127.0.0.53:53 dev=\n"), std::string::npos) << out;
  EXPECT_NE(out.find("udp6 peer=::1:53 dev=\n"), std::string::npos) << out;
  EXPECT_NE(out.find("sendto4 sent dev=\n"), std::string::npos) << out;
  EXPECT_EQ(trace().find("loopback resolver"), std::string::npos) << trace();
}

TEST_F(LoopbackDns, NoServerOfAUsableFamilyIsRefusedAtOnce) {
  // An IPv6 server only: an AF_INET socket (or an IPV6_V6ONLY one for IPv4) has none.
  const std::string out = run("MIF_PVD=mifpre-t0 MIF_DNS=2001:db8::53 MIF_STRICT=1");
  EXPECT_NE(out.find("udp4 errno=ECONNREFUSED dev=\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tcp4 errno=ECONNREFUSED dev=\n"), std::string::npos) << out;
  EXPECT_NE(out.find("sendto4 errno=ECONNREFUSED dev=\n"), std::string::npos) << out;
  EXPECT_NE(out.find("udp6 peer=2001:db8::53:53 dev=mifpre-t0\n"), std::string::npos) << out;
  // The pinned interface has no usable address at all: strict, nothing usable.
  const std::string none = run("MIF_PVD=mifpre-t1 MIF_DNS=192.0.2.53 MIF_STRICT=1");
  EXPECT_NE(none.find("udp4 errno=ENETUNREACH dev=\n"), std::string::npos) << none;
}

}  // namespace
