// Per-PvD DNS benchmark (issue 6; docs/performance.md "Per-PvD DNS"). Ratios are measured
// in one run, against glibc's own getaddrinfo in the same process and the same server:
//   1. cached: mif's getaddrinfo of a name it has cached vs glibc's of the same name
//   2. uncached: a fresh name every call (dnsmasq answers every *.bench.test) for both
//   3. 32 threads vs 1 thread: throughput of mif's getaddrinfo (cached path: no global
//      lock), and of the uncached path.
// The program makes its own network and mount namespaces (a dnsmasq one veth hop away in
// a namespace of its own, TTL 300 for A and AAAA, a resolv.conf pointing at it for glibc), then re-executes itself with libmif.so preloaded
// (MIF_POLICY naming the same server), so the measured mif path is the real hook.
// Needs root. Usage: bench_dns [--seconds N]
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <net/if.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mif/dns/addrinfo.h"
#include "mif/dns/resolver.h"

namespace {

using Clock = std::chrono::steady_clock;
using GaiFn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);

GaiFn glibcGai = nullptr;
GaiFn mifGai = nullptr;
double gSeconds = 1.0;

const char* kDir = "/tmp/mifdns-bench";

bool setUp(const char* self) {
  if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) return false;
  if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  mkdir(kDir, 0700);
  std::string d = kDir;
  // The server is one veth hop away, in a network namespace of its own (the next router's
  // DNS server, as on a real link), with TTL 300 for both families and no cache of its
  // own, so every glibc call is one round trip over the veth.
  std::ofstream(d + "/dnsmasq.conf")
      << "no-resolv\nno-hosts\nbind-interfaces\nlisten-address=198.51.100.53\n"
         "local=/bench.test/\naddress=/bench.test/192.0.2.80\n"
         "address=/bench.test/2001:db8:2::80\nlocal-ttl=300\ncache-size=0\n";
  std::ofstream(d + "/resolv.conf") << "nameserver 198.51.100.53\n";
  std::ofstream(d + "/policy.toml")
      << "[pvd.lan]\ninterface = \"mbn\"\ndns = [\"198.51.100.53\"]\n[default]\npvd = \"lan\"\n";
  if (mount((d + "/resolv.conf").c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0)
    return false;
  int ready[2], go[2];
  if (pipe(ready) != 0 || pipe(go) != 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    char c = 0;
    if (unshare(CLONE_NEWNET) != 0 || write(ready[1], "x", 1) != 1 || read(go[0], &c, 1) != 1 ||
        system("ip link set lo up && ip link set mbs up && ip addr add 198.51.100.53/24 dev mbs && "
               "ip -6 addr add 2001:db8:1::53/64 dev mbs nodad") != 0)
      _exit(126);
    // "--pid-file=" (empty): no pid file. Never name /dev/null here: dnsmasq replaces an
    // existing pid file (unlink, then a new file it chowns to its user), and the mount
    // namespace shares /dev with the host, so the host's /dev/null became a regular file.
    execlp("dnsmasq", "dnsmasq", "--keep-in-foreground",
           ("--conf-file=" + d + "/dnsmasq.conf").c_str(), "--pid-file=", nullptr);
    _exit(127);
  }
  std::ofstream(d + "/dnsmasq.pid") << pid;
  char c = 0;
  if (read(ready[0], &c, 1) != 1) return false;
  const std::string peer = "ip link add mbn type veth peer name mbs netns " + std::to_string(pid);
  if (system((peer + " && ip link set lo up && ip link set mbn up && "
              "ip addr add 198.51.100.10/24 dev mbn && "
              "ip -6 addr add 2001:db8:1::10/64 dev mbn nodad && "
              "ip route add default via 198.51.100.53 dev mbn && "
              "ip -6 route add default via 2001:db8:1::53 dev mbn")
                 .c_str()) != 0 ||
      write(go[1], "x", 1) != 1)
    return false;
  usleep(300000);
  // Re-execute under the preload library; the namespaces and dnsmasq stay.
  // The build tree mirrors the installed layout: bin/bench_dns, lib/mif/libmif.so.
  char exe[4096] = {};
  if (readlink("/proc/self/exe", exe, sizeof exe - 1) <= 0) return false;
  std::string preload = exe;
  preload = preload.substr(0, preload.rfind('/')) + "/../lib/mif/libmif.so";
  if (access(preload.c_str(), R_OK) != 0) {
    std::fprintf(stderr, "bench_dns: %s not built\n", preload.c_str());
    return false;
  }
  setenv("LD_PRELOAD", preload.c_str(), 1);
  setenv("MIF_POLICY", (d + "/policy.toml").c_str(), 1);
  setenv("MIFDNS_BENCH_INNER", "1", 1);
  execl(self, self, ("--seconds=" + std::to_string(gSeconds)).c_str(), nullptr);
  return false;
}

std::string loadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  f >> one;
  return one;
}

int resolve(GaiFn fn, const char* name) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = fn(name, "443", &hints, &res);
  if (rc == 0) {
    benchmark::DoNotOptimize(res->ai_addr);
    freeaddrinfo(res);
  }
  return rc;
}

// Operations per second of `op` over gSeconds, from `threads` threads.
template <typename Op>
double rate(int threads, Op op) {
  std::atomic<bool> stop{false};
  std::atomic<long> total{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (op(t, n) != 0) errors++;
        ++n;
      }
      total += n;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(gSeconds));
  stop = true;
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  if (errors) std::fprintf(stderr, "warning: %d failed lookups\n", errors.load());
  return double(total) / secs;
}

// The machine is shared: load changes within seconds. Each ratio is therefore the median
// of per-round ratios, the two sides measured back to back in short slices, alternating.
struct Pair {
  double a = 0, b = 0, ratio = 0;  // medians of rates (calls/s) and of b/a per round
};
template <typename A, typename B>
Pair interleaved(int threadsA, A opA, int threadsB, B opB, int rounds = 9) {
  const double saved = gSeconds;
  gSeconds = saved / rounds;
  std::vector<double> ra, rb, q;
  for (int i = 0; i < rounds; ++i) {
    double x = rate(threadsA, opA);
    double y = rate(threadsB, opB);
    ra.push_back(x);
    rb.push_back(y);
    q.push_back(y / x);
  }
  gSeconds = saved;
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return {median(ra), median(rb), median(q)};
}

std::atomic<long> gUnique{0};

int inner() {
  glibcGai =
      reinterpret_cast<GaiFn>(dlsym(dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD), "getaddrinfo"));
  mifGai = reinterpret_cast<GaiFn>(dlsym(RTLD_DEFAULT, "getaddrinfo"));
  if (glibcGai == nullptr || mifGai == glibcGai) {
    std::fprintf(stderr, "bench_dns: libmif.so is not preloaded\n");
    return 1;
  }
  if (resolve(mifGai, "warm.bench.test") != 0 || resolve(glibcGai, "warm.bench.test") != 0) {
    std::fprintf(stderr, "bench_dns: the test server does not answer\n");
    return 1;
  }
  auto unique = [](char* buf, size_t n) { std::snprintf(buf, n, "u%ld.bench.test", gUnique++); };
  if (const char* only = getenv("MIFDNS_BENCH_ONLY"); only && std::strcmp(only, "cached1") == 0) {
    // For profiling the cached path alone, on one thread: N calls, microseconds per call.
    resolve(mifGai, "same.bench.test");
    const long n = 200000;
    auto t0 = Clock::now();
    for (long i = 0; i < n; ++i) resolve(mifGai, "same.bench.test");
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    std::printf("mif cached, 1 thread: %.3f us/call\n", us / double(n));
    return 0;
  }
  if (const char* only = getenv("MIFDNS_BENCH_ONLY"); only && std::strcmp(only, "cached32") == 0) {
    // For profiling the concurrent cached path alone.
    for (int t = 0; t < 32; ++t) resolve(mifGai, ("c" + std::to_string(t) + ".bench.test").c_str());
    double r = rate(32, [](int t, long) {
      return resolve(mifGai, ("c" + std::to_string(t) + ".bench.test").c_str());
    });
    std::printf("mif cached, 32 threads: %.0f calls/s\n", r);
    return 0;
  }
  auto glibcSame = [](int, long) { return resolve(glibcGai, "same.bench.test"); };
  auto mifSame = [](int, long) { return resolve(mifGai, "same.bench.test"); };
  auto glibcFresh = [&](int, long) {
    char b[64];
    unique(b, sizeof b);
    return resolve(glibcGai, b);
  };
  auto mifFresh = [&](int, long) {
    char b[64];
    unique(b, sizeof b);
    return resolve(mifGai, b);
  };
  // Concurrency: each thread its own cached name (the cache is sharded by name).
  std::vector<std::string> names;
  for (int t = 0; t < 32; ++t) names.push_back("c" + std::to_string(t) + ".bench.test");
  for (auto& n : names) resolve(mifGai, n.c_str());
  auto mifOwn = [&](int t, long) { return resolve(mifGai, names[size_t(t)].c_str()); };

  // The engine alone (Resolver + glibc-layout build), on a hand-made view: the same work
  // as the hook minus the policy decision and the live view's freshness check, which is a
  // getsockopt on the one netlink socket the whole process shares.
  mif::view::Snapshot snap;
  snap.generation = 1;
  mif::view::Interface link;
  link.index = int(if_nametoindex("mbn"));
  link.name = "mbn";
  snap.interfaces.push_back(link);
  mif::view::BoundPvd pvd;
  pvd.ifindex = link.index;
  pvd.ifname = "mbn";
  pvd.state.present = pvd.state.v4 = pvd.state.v6 = true;
  pvd.addresses = {*mif::policy::IpAddress::parse("198.51.100.10"),
                   *mif::policy::IpAddress::parse("2001:db8:1::10")};
  pvd.dns.push_back({*mif::policy::IpAddress::parse("198.51.100.53"), 53, mif::view::DnsOrigin::Policy});
  snap.pvds.push_back(pvd);
  snap.states.push_back(pvd.state);
  mif::dns::Resolver engine;
  const mif::policy::PvdId order[1] = {0};
  std::vector<mif::dns::ServTuple> services = {{SOCK_STREAM, IPPROTO_TCP, htons(443)}};
  addrinfo engineHints{};
  engineHints.ai_socktype = SOCK_STREAM;
  auto engineResolve = [&](int t, long) {
    mif::dns::Answer a = engine.lookup(snap, order, names[size_t(t)], true, true, "bench");
    addrinfo* res = nullptr;
    int rc = mif::dns::buildAddrinfo(names[size_t(t)].c_str(), engineHints, a, services, &snap,
                                     &snap.pvds[0], &res);
    if (rc == 0) freeaddrinfo(res);
    return rc;
  };
  for (int t = 0; t < 32; ++t) engineResolve(t, 0);
  auto spin = [](int, long) {
    volatile double x = 1;
    for (int k = 0; k < 2000; ++k) x = x * 1.0000001;
    return 0;
  };

  Pair cached = interleaved(1, glibcSame, 1, mifSame);
  Pair fresh = interleaved(1, glibcFresh, 1, mifFresh);
  Pair conc = interleaved(1, mifOwn, 32, mifOwn);
  Pair eng = interleaved(1, engineResolve, 32, engineResolve);
  Pair concU = interleaved(1, mifFresh, 32, mifFresh);
  Pair cpu = interleaved(1, spin, 32, spin);
  std::printf("per-PvD DNS, %u CPUs, load average %s, %.1f s per figure in 9 interleaved rounds\n",
              std::thread::hardware_concurrency(), loadAverage().c_str(), gSeconds);
  std::printf("getaddrinfo(name, \"443\", SOCK_STREAM, AF_UNSPEC); ratios are medians of per-round ratios\n");
  std::printf("  glibc, same name (no cache)      %9.1f us/call\n", 1e6 / cached.a);
  std::printf("  mif, cached                      %9.1f us/call   glibc/mif = %.1fx  (target >= 100x)\n",
              1e6 / cached.b, cached.ratio);
  std::printf("  glibc, fresh name                %9.1f us/call\n", 1e6 / fresh.a);
  std::printf("  mif, fresh name (uncached)       %9.1f us/call   mif/glibc = %.2f  (target <= 1.2)\n",
              1e6 / fresh.b, 1 / fresh.ratio);
  std::printf("  mif cached, 1 -> 32 threads      %9.0f -> %.0f calls/s   32/1 = %.2fx  (target >= 1.6x)\n",
              conc.a, conc.b, conc.ratio);
  std::printf("  engine only, 1 -> 32 threads     %9.0f -> %.0f calls/s   32/1 = %.2fx\n", eng.a, eng.b,
              eng.ratio);
  std::printf("  mif uncached, 1 -> 32 threads    %9.0f -> %.0f calls/s   32/1 = %.2fx\n", concU.a, concU.b,
              concU.ratio);
  std::printf("  control: a pure CPU loop, 1 -> 32 threads             32/1 = %.2fx\n", cpu.ratio);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--seconds=", 10) == 0) gSeconds = std::atof(argv[i] + 10);
  if (getenv("MIFDNS_BENCH_INNER") == nullptr) {
    if (geteuid() != 0) {
      std::fprintf(stderr, "bench_dns: needs root (network and mount namespaces)\n");
      return 1;
    }
    setUp("/proc/self/exe");
    std::fprintf(stderr, "bench_dns: setup failed: %s\n", strerror(errno));
    return 1;
  }
  int rc = inner();
  std::ifstream f(std::string(kDir) + "/dnsmasq.pid");
  pid_t pid = 0;
  if (f >> pid && pid > 0) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  return rc;
}
