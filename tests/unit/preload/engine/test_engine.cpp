// The runtime driven in-process through its seams (issue 27), without LD_PRELOAD and
// without a network: this executable links the hooks themselves (so its getaddrinfo,
// gethostbyname, res_query, getnameinfo and connect are mif's), a runtime built with a view
// the test feeds (LiveView::fed) and a resolver the test scripts (dns::Lookups), and the
// system-call seam's fault side (sys_faults.h). main() (tests/unit/dns/fixture.cpp) moves
// the process into a network namespace of its own, lo up with a default route through it,
// so nothing here can reach the host's network whatever the code under test does.
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine_fixture.h"

namespace {

using mif::dns::Answer;
using mif::dns::RawAnswer;
using mif::dns::Status;
using mif::enginetest::EngineTest;
using mif::enginetest::v4;
using mif::enginetest::ip;
using mif::enginetest::loopback;
using mif::policy::IpAddress;
using mif::policy::PvdId;
using mif::preload::Runtime;
namespace faults = mif::sys::faults;

// The policy: vpn (id 0) owns corp.example, wifi (id 1). Both sit on `lo` in the snapshots
// below: the only interface of this namespace, so a socket bound to it really connects.
const char* kPolicy = R"(
[pvd.vpn]
interface = "tun0"
dns = ["10.8.0.53"]
domains = ["corp.example"]

[pvd.wifi]
interface = "wlan0"
dns = ["192.0.2.53"]
)";

// `domain`: one more search domain for vpn, which changes its configuration (the resolver
// then replaces its channels and their sockets).
std::unique_ptr<mif::view::Snapshot> snapshot(uint64_t generation, bool vpnUp, bool wifiUp,
                                              const std::string& domain = "") {
  auto s = std::make_unique<mif::view::Snapshot>();
  s->generation = generation;
  const mif::view::Interface lo = loopback();
  s->interfaces.push_back(lo);
  const bool up[2] = {vpnUp, wifiUp};
  const char* source[2] = {"10.8.0.10", "192.0.2.10"};
  for (PvdId id = 0; id < 2; ++id) {
    mif::view::BoundPvd b;
    b.id = id;
    if (up[id]) {
      b.ifindex = lo.index;
      b.ifname = "lo";
      b.state.present = b.state.v4 = true;
      b.addresses = {ip(source[id])};
      // Only the fault tests below ask a real resolver, and only vpn's server exists there.
      b.dns.push_back({ip(id == 0 ? "127.0.0.53" : "127.0.0.54"), 53, mif::view::DnsOrigin::Policy});
      if (id == 0) b.domains = {"corp.example"};
      if (id == 0 && !domain.empty()) b.domains.push_back(domain);
    }
    s->states.push_back(b.state);
    s->pvds.push_back(b);
  }
  return s;
}

// A resolver that answers what the test says, and remembers what it was asked.
struct ScriptedResolver : mif::dns::Lookups {
  Status status = Status::Ok;
  bool exhausted = false;
  std::vector<IpAddress> addresses = {ip("10.8.0.80")};
  std::function<void()> during;  // runs while the query is "in flight"
  std::vector<std::vector<PvdId>> orders;

  Answer answer(std::span<const PvdId> order, std::string_view name) {
    orders.emplace_back(order.begin(), order.end());
    if (during) during();
    Answer a;
    a.status = exhausted ? Status::TryAgain : status;
    a.exhausted = exhausted;
    a.pvd = exhausted || order.empty() ? -1 : int(order[0]);
    a.qname = a.owner = std::string(name);
    if (a.status == Status::Ok) {
      a.addresses = addresses;
      a.names = {"wiki.corp.example"};
    }
    a.ttl = 60;
    return a;
  }
  Answer lookup(const mif::view::Snapshot&, std::span<const PvdId> order, std::string_view name,
                bool, bool, std::string_view) override {
    return answer(order, name);
  }
  Answer reverse(const mif::view::Snapshot&, std::span<const PvdId> order, const IpAddress&,
                 std::string_view) override {
    return answer(order, "80.0.8.10.in-addr.arpa");
  }
  RawAnswer raw(const mif::view::Snapshot&, std::span<const PvdId> order, std::string_view name,
                int, int, bool, std::string_view) override {
    const Answer a = answer(order, name);
    RawAnswer r;
    r.status = a.status;
    r.exhausted = a.exhausted;
    r.pvd = a.pvd;
    if (!a.exhausted) r.response.assign(12, 0x42);  // a header's worth: copied out as is
    return r;
  }
};

class Engine : public EngineTest {
 protected:
  Engine() : EngineTest("engine_tests", kPolicy) {}

  // Builds and installs the process's runtime: `pins` in order, strict or not, traced,
  // asking `resolver` (the scripted one by default).
  Runtime* install(std::vector<std::string> pins, bool strict,
                   mif::dns::Lookups* resolver = nullptr) {
    return EngineTest::install(std::move(pins), strict, [] { return snapshot(1, true, true); },
                               resolver != nullptr ? resolver : &resolver_, true);
  }

  // The trace's lines that mention `what`.
  std::vector<std::string> traced(const std::string& what) const {
    std::vector<std::string> out;
    std::ifstream in(traceFile_);
    for (std::string line; std::getline(in, line);)
      if (line.find(what) != std::string::npos) out.push_back(line);
    return out;
  }

  static addrinfo streamV4() {
    addrinfo h{};
    h.ai_family = AF_INET;
    h.ai_socktype = SOCK_STREAM;
    return h;
  }

  ScriptedResolver resolver_;
};

std::string addressText(const addrinfo* ai) {
  char text[INET6_ADDRSTRLEN] = {};
  const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
  inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(sin->sin_port));
}


std::string device(int fd) {
  char dev[IFNAMSIZ] = {};
  socklen_t len = sizeof dev;
  getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len);
  return dev;
}

TEST_F(Engine, GetaddrinfoAnswersFromItsSnapshotWhileTheViewChangesAndTheNextCallSeesTheChange) {
  Runtime* rt = install({"vpn"}, true);
  // While the query is in flight the VPN goes down: the view publishes a new snapshot and
  // the one the call planned with is retired, not freed, until the call lets it go.
  resolver_.during = [rt] { rt->liveView()->feed(snapshot(2, false, true)); };
  const addrinfo hints = streamV4();
  addrinfo* res = nullptr;
  ASSERT_EQ(getaddrinfo("wiki.corp.example", "443", &hints, &res), 0);
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(addressText(res), "10.8.0.80:443");
  EXPECT_EQ(res->ai_next, nullptr);
  freeaddrinfo(res);
  resolver_.during = nullptr;
  // The next call plans on the new view: the strict pin's only PvD is down, so it is refused
  // without asking anything (no answer remembered from before the change is given).
  res = nullptr;
  EXPECT_EQ(getaddrinfo("wiki.corp.example", "443", &hints, &res), EAI_AGAIN);
  EXPECT_EQ(res, nullptr);
  EXPECT_EQ(resolver_.orders.size(), 1u);
  EXPECT_EQ(traced("strict: no usable PvD").size(), 1u);
}

TEST_F(Engine, StrictWithEveryPvdFailingRefusesEveryApiAndNeverHandsTheNameToGlibc) {
  install({"vpn", "wifi"}, true);
  resolver_.exhausted = true;
  const addrinfo hints = streamV4();
  addrinfo* res = nullptr;

  errno = EDOM;
  EXPECT_EQ(getaddrinfo("wiki.corp.example", "443", &hints, &res), EAI_AGAIN);
  EXPECT_EQ(errno, EDOM);  // getaddrinfo keeps the program's errno on failure
  EXPECT_EQ(h_errno, TRY_AGAIN);

  errno = EDOM;
  EXPECT_EQ(gethostbyname("wiki.corp.example"), nullptr);
  EXPECT_EQ(h_errno, TRY_AGAIN);
  EXPECT_EQ(errno, EAGAIN);  // the _r form's result

  hostent he{}, *result = &he;
  char buf[1024];
  int herr = 0;
  EXPECT_EQ(gethostbyname_r("wiki.corp.example", &he, buf, sizeof buf, &result, &herr), EAGAIN);
  EXPECT_EQ(result, nullptr);
  EXPECT_EQ(herr, TRY_AGAIN);

  const in_addr addr = v4("10.8.0.80", 0).sin_addr;
  EXPECT_EQ(gethostbyaddr(&addr, sizeof addr, AF_INET), nullptr);
  EXPECT_EQ(h_errno, TRY_AGAIN);

  unsigned char answer[512];
  errno = EDOM;
  EXPECT_EQ(res_query("wiki.corp.example", ns_c_in, ns_t_a, answer, sizeof answer), -1);
  EXPECT_EQ(h_errno, TRY_AGAIN);
  EXPECT_EQ(errno, 0);

  const sockaddr_in sa = v4("10.8.0.80", 443);
  char host[256];
  EXPECT_EQ(getnameinfo(reinterpret_cast<const sockaddr*>(&sa), sizeof sa, host, sizeof host,
                        nullptr, 0, NI_NAMEREQD),
            EAI_AGAIN);

  // Every API asked both PvDs of the strict list, in order, and nothing else.
  ASSERT_EQ(resolver_.orders.size(), 6u);
  for (const auto& order : resolver_.orders) EXPECT_EQ(order, (std::vector<PvdId>{0, 1}));
  // What `mif run --trace` shows: each call refused as strict, none given to glibc.
  EXPECT_EQ(traced("\"note\":\"strict: every PvD failed\"").size(), 6u);
  EXPECT_EQ(traced("system resolver").size(), 0u);
}

struct Mapping {
  Status status;
  int eai;         // getaddrinfo
  int herr;        // gethostbyname, res_query
  int hostentRc;   // gethostbyname_r's return value (and errno after gethostbyname)
  int nameinfo;    // getnameinfo with NI_NAMEREQD
};

TEST_F(Engine, EachApiReportsEachOutcomeAsGlibcDoes) {
  install({"vpn"}, true);
  const Mapping table[] = {
      {Status::NotFound, EAI_NONAME, HOST_NOT_FOUND, 0, EAI_NONAME},
      {Status::NoData, EAI_NODATA, NO_DATA, 0, EAI_NONAME},
      {Status::NoRecovery, EAI_NONAME, NO_RECOVERY, 0, EAI_NONAME},
      {Status::TryAgain, EAI_AGAIN, TRY_AGAIN, EAGAIN, EAI_AGAIN},
  };
  const addrinfo hints = streamV4();
  const sockaddr_in sa = v4("10.8.0.80", 443);
  for (const Mapping& m : table) {
    SCOPED_TRACE(mif::dns::statusName(m.status));
    resolver_.status = m.status;
    addrinfo* res = nullptr;
    errno = EDOM;
    EXPECT_EQ(getaddrinfo("wiki.corp.example", "443", &hints, &res), m.eai);
    EXPECT_EQ(errno, EDOM);
    EXPECT_EQ(h_errno, m.herr == NO_RECOVERY ? HOST_NOT_FOUND : m.herr);

    errno = EDOM;
    EXPECT_EQ(gethostbyname("wiki.corp.example"), nullptr);
    EXPECT_EQ(h_errno, m.herr);
    EXPECT_EQ(errno, m.hostentRc);
    hostent he{}, *result = &he;
    char buf[1024];
    int herr = 0;
    EXPECT_EQ(gethostbyname_r("wiki.corp.example", &he, buf, sizeof buf, &result, &herr),
              m.hostentRc);
    EXPECT_EQ(result, nullptr);
    EXPECT_EQ(herr, m.herr);

    unsigned char answer[512];
    EXPECT_EQ(res_query("wiki.corp.example", ns_c_in, ns_t_a, answer, sizeof answer), -1);
    EXPECT_EQ(h_errno, m.herr);
    res_state state = &_res;
    EXPECT_EQ(res_nquery(state, "wiki.corp.example", ns_c_in, ns_t_a, answer, sizeof answer), -1);
    EXPECT_EQ(state->res_h_errno, m.herr);

    char host[256];
    errno = EDOM;
    EXPECT_EQ(getnameinfo(reinterpret_cast<const sockaddr*>(&sa), sizeof sa, host, sizeof host,
                          nullptr, 0, NI_NAMEREQD),
              m.nameinfo);
    EXPECT_EQ(errno, 0);
    // Without NI_NAMEREQD a name that cannot be found is given in numeric form.
    if (m.status != Status::TryAgain) {
      EXPECT_EQ(getnameinfo(reinterpret_cast<const sockaddr*>(&sa), sizeof sa, host, sizeof host,
                            nullptr, 0, 0),
                0);
      EXPECT_STREQ(host, "10.8.0.80");
    }
  }

  // And an answer: every API's success, with glibc's side effects on errno and h_errno.
  resolver_.status = Status::Ok;
  addrinfo* res = nullptr;
  errno = EDOM;
  ASSERT_EQ(getaddrinfo("wiki.corp.example", "443", &hints, &res), 0);
  EXPECT_EQ(errno, 0);
  EXPECT_EQ(addressText(res), "10.8.0.80:443");
  freeaddrinfo(res);
  const hostent* h = gethostbyname("wiki.corp.example");
  ASSERT_NE(h, nullptr);
  EXPECT_STREQ(h->h_name, "wiki.corp.example");
  EXPECT_EQ(h_errno, HOST_NOT_FOUND);  // glibc's res_search presets it, even on success
  unsigned char answer[512];
  EXPECT_EQ(res_query("wiki.corp.example", ns_c_in, ns_t_a, answer, sizeof answer), 12);
  char host[256], serv[32];
  EXPECT_EQ(getnameinfo(reinterpret_cast<const sockaddr*>(&sa), sizeof sa, host, sizeof host,
                        serv, sizeof serv, NI_NAMEREQD | NI_NUMERICSERV),
            0);
  EXPECT_STREQ(host, "wiki.corp.example");
  EXPECT_STREQ(serv, "443");
}

// Connects a UDP socket to 203.0.113.7 (routed through this namespace's lo): returns 0 or
// the errno, and the device the socket ended up bound to.
int udpConnect(std::string* dev) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const sockaddr_in sa = v4("203.0.113.7", 9);
  errno = 0;
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0 ? 0 : errno;
  *dev = device(fd);
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  if (rc != 0) {
    EXPECT_NE(getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len), 0);  // not connected
  }
  close(fd);
  return rc;
}

TEST_F(Engine, ConnectUnderAStrictPinIsRefusedWhenTheDeviceCannotBeBound) {
  install({"vpn"}, true);
  std::string dev;
  EXPECT_EQ(udpConnect(&dev), 0);  // the PvD's interface binds: connected through it
  EXPECT_EQ(dev, "lo");
  faults::arm(faults::Call::Setsockopt, EPERM, -1, SO_BINDTODEVICE);
  EXPECT_EQ(udpConnect(&dev), ENETUNREACH);  // never connected unpinned
  EXPECT_EQ(dev, "");
  EXPECT_GE(faults::fired(faults::Call::Setsockopt), 1);

  // Not strict: the same failure leaves the socket to the kernel, as without mif.
  install({"vpn"}, false);
  EXPECT_EQ(udpConnect(&dev), 0);
  EXPECT_EQ(dev, "");
}

// Issue 29 item 1 / issue 31 item 2: Wi-Fi's router announced a captive portal that mif
// probe has not found open. Under the order [wifi, vpn] a connect goes through vpn; one to
// the portal itself (here an address literal in the URI) through wifi; once the portal is
// found open, through wifi again. A strict pin to wifi alone still uses wifi (never
// dropped).
TEST_F(Engine, ACaptivePvdIsTriedLastForEveryDestinationButItsPortal) {
  Runtime* rt = install({"wifi", "vpn"}, false);
  auto withPortal = [](uint64_t generation, bool open) {
    auto s = snapshot(generation, true, true);
    mif::view::CaptivePortal c;
    c.uri = "http://203.0.113.9:8080/portal";
    c.open = open;
    s->pvds[1].captive.push_back(c);
    return s;
  };
  auto connectTo = [](const char* addr) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const sockaddr_in sa = v4(addr, 9);
    EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0) << addr;
    close(fd);
  };
  auto through = [&](const char* addr) {
    std::string pvd;
    for (const std::string& line : traced(std::string("\"destination\":\"") + addr + "\"")) {
      const size_t at = line.find("\"pvd\":\"");
      if (at != std::string::npos) pvd = line.substr(at + 7, line.find('"', at + 7) - at - 7);
    }
    return pvd;  // the last connect's
  };
  connectTo("203.0.113.8");
  EXPECT_EQ(through("203.0.113.8"), "wifi");  // no portal: the order stands

  rt->liveView()->feed(withPortal(2, false));
  connectTo("203.0.113.8");
  EXPECT_EQ(through("203.0.113.8"), "vpn");   // captive: every other destination via vpn
  connectTo("203.0.113.9");
  EXPECT_EQ(through("203.0.113.9"), "wifi");  // the portal itself through its own PvD

  rt->liveView()->feed(withPortal(3, true));  // mif probe found it open
  connectTo("203.0.113.8");
  EXPECT_EQ(through("203.0.113.8"), "wifi");

  install({"wifi"}, true);  // a strict pin to the captive PvD alone keeps it
  rt = Runtime::get();
  rt->liveView()->feed(withPortal(4, false));
  connectTo("203.0.113.10");
  EXPECT_EQ(through("203.0.113.10"), "wifi");
}

// The descriptors this process has open, as a sorted list of numbers.
std::vector<int> openDescriptors() {
  std::vector<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    out.push_back(std::atoi(e.path().filename().c_str()));
  std::sort(out.begin(), out.end());
  return out;
}

// Issue 28 item 4 through the seams: each system call of the resolver's DNS sockets fails
// with each plausible error while a strictly pinned program resolves. The program gets
// EAI_AGAIN with its errno untouched (or, when the failing call is not needed for the
// answer, the PvD's answer), nothing is handed to glibc, and no descriptor is left behind.
TEST_F(Engine, StrictStaysStrictAndNothingLeaksWhenEachCallOfTheDnsSocketsFails) {
  mifdns::FakeDns server("127.0.0.53");
  mifdns::FakeDns::Rule rule;
  rule.addrs = {ip("10.8.0.80")};
  constexpr int kNames = 40;
  auto nameOf = [](int i) { return "host" + std::to_string(i) + ".corp.example"; };
  for (int i = 0; i < kNames; ++i) server.set(nameOf(i), rule);
  // A resolver of its own with short timeouts: a fault that makes a query wait costs 0.2 s.
  mif::dns::ResolverOptions o;
  o.timeoutMs = 200;
  o.tries = 1;
  static mif::dns::Resolver resolver(o);
  Runtime* rt = install({"vpn"}, true, &resolver);
  const addrinfo hints = streamV4();
  int next = 0;
  auto resolve = [&](int* err) {
    addrinfo* res = nullptr;
    errno = EDOM;
    const int rc = getaddrinfo(nameOf(next++).c_str(), "80", &hints, &res);
    *err = errno;
    if (rc == 0) {
      EXPECT_EQ(addressText(res), "10.8.0.80:80");
      freeaddrinfo(res);
    }
    return rc;
  };
  int err = 0;
  ASSERT_EQ(resolve(&err), 0);  // warm: the PvD's channel and its socket exist
  const size_t warm = openDescriptors().size();
  uint64_t generation = 1;

  using faults::Call;
  struct Case {
    Call call;
    int err;
    int match;
    bool answerable;  // the answer needs no successful call of this kind
  };
  const Case cases[] = {
      {Call::RawSocket, EMFILE, -1, false},       {Call::RawSocket, ENFILE, -1, false},
      {Call::RawSocket, ENOMEM, -1, false},       {Call::RawSocket, EACCES, -1, false},
      {Call::RawSetsockopt, EPERM, SO_BINDTODEVICE, false},
      {Call::RawSetsockopt, ENODEV, SO_BINDTODEVICE, false},
      {Call::RawConnect, ENETDOWN, -1, false},    {Call::RawConnect, ENETUNREACH, -1, false},
      {Call::RawConnect, EINTR, -1, false},       {Call::RawSendmsg, ENETDOWN, -1, false},
      {Call::RawSendmsg, EAGAIN, -1, false},      {Call::RawSendmsg, ENOMEM, -1, false},
      {Call::RawSendmsg, EINTR, -1, false},       {Call::RawRecvfrom, ENOMEM, -1, false},
      {Call::RawRecvfrom, EINTR, -1, false},      {Call::RawRecvfrom, ECONNREFUSED, -1, false},
      {Call::RawClose, EINTR, -1, true},          {Call::RawClose, EIO, -1, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(faults::name(c.call)) + " " + std::strerror(c.err));
    // A new configuration of the PvD: its channels (and their sockets) are replaced, so
    // the faulted lookup makes its sockets afresh.
    ++generation;
    rt->liveView()->feed(snapshot(generation, true, true, "c" + std::to_string(generation) + ".example"));
    faults::arm(c.call, c.err, -1, c.match);
    const int rc = resolve(&err);
    const int fired = faults::fired(c.call);
    faults::disarm();
    if (c.answerable) {
      EXPECT_EQ(rc, 0);
      EXPECT_EQ(err, 0);
    } else if (fired > 0) {
      EXPECT_EQ(rc, EAI_AGAIN);
      EXPECT_EQ(err, EDOM);  // getaddrinfo keeps the program's errno when it fails
    }
    if (!c.answerable) {
      EXPECT_GT(fired, 0);
    }
    // Afterwards the PvD answers again, and what the failure made was given back.
    EXPECT_EQ(resolve(&err), 0);
    EXPECT_EQ(openDescriptors().size(), warm);
  }
  EXPECT_EQ(traced("system resolver").size(), 0u);  // strict: never glibc's resolver
}

}  // namespace

// Issue 26: a connect on a socket the program made through the hooked socket() asks the
// kernel nothing about the socket's device binding (known_fds.h); one the program may have
// bound since (a device set through a dup of it) is asked, as every socket was before; and
// a number closed behind the library's back and reused by a pipe gets libc's ENOTSOCK even
// under a strict pin, never the pin's ENETUNREACH.
TEST_F(Engine, AConnectAsksTheKernelOnlyWhatTheHooksCouldNotSee) {
  install({"vpn"}, true);
  const sockaddr_in sa = v4("203.0.113.7", 9);
  const auto* to = reinterpret_cast<const sockaddr*>(&sa);
  const int older = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int fresh = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(older, 0);
  ASSERT_GE(fresh, 0);

  int asked = faults::made(faults::Call::Getsockopt);
  EXPECT_EQ(connect(fresh, to, sizeof sa), 0);
  EXPECT_EQ(device(fresh), "lo");  // pinned to the PvD's interface all the same
  EXPECT_EQ(faults::made(faults::Call::Getsockopt) - asked, 0);
  asked = faults::made(faults::Call::Getsockopt);
  EXPECT_EQ(connect(fresh, to, sizeof sa), 0);  // a repeated connect asks: mif bound it
  EXPECT_GE(faults::made(faults::Call::Getsockopt) - asked, 1);

  const int alias = dup(older);
  ASSERT_EQ(setsockopt(alias, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2), 0);
  asked = faults::made(faults::Call::Getsockopt);
  EXPECT_EQ(connect(older, to, sizeof sa), 0);
  EXPECT_GE(faults::made(faults::Call::Getsockopt) - asked, 1);
  close(alias);
  close(older);
  close(fresh);

  // Bound where no hook could see (the --enforce supervisor pins sockets at creation), and
  // mif's own binding refused as it is without CAP_NET_RAW: judged as a bound socket, not
  // refused as a pin that failed.
  const int pinnedElsewhere = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(syscall(SYS_setsockopt, pinnedElsewhere, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2), 0);
  faults::arm(faults::Call::Setsockopt, EPERM, -1, SO_BINDTODEVICE);
  EXPECT_EQ(connect(pinnedElsewhere, to, sizeof sa), 0) << std::strerror(errno);
  faults::disarm();
  close(pinnedElsewhere);

  const int reused = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(reused, 0);
  ASSERT_EQ(syscall(SYS_close, reused), 0);  // not through the close hook
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  ASSERT_EQ(p[0], reused);
  errno = 0;
  EXPECT_EQ(connect(reused, to, sizeof sa), -1);
  EXPECT_EQ(errno, ENOTSOCK);
  close(p[0]);
  close(p[1]);
}
