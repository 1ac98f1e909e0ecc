// The socket path's cost, as ratios measured in one run (docs/performance.md "Socket
// path"). Needs root: it builds two namespaces of its own (mifpre-bench-c, the client with
// interface mpbc 192.0.2.2/24; mifpre-bench-s, a server on 192.0.2.1:8080 across a veth)
// and removes them at the end.
//
//   bench_socket [ROUNDS] [ITERATIONS] [FIGURES]   (default 7 rounds of 20000; FIGURES a
//                                                  comma list of connect, spawn, rss,
//                                                  closure: default all)
//
// 1. TCP connect+accept+close loop, client in mifpre-bench-c, three ways, interleaved
//    round by round, median per way: no interposer; the minimal pinning shim
//    (bench_socket_shim.c: SO_BINDTODEVICE + IP_BIND_ADDRESS_NO_PORT + bind); `mif run
//    --pvd mpbc`. Each client times only its own loop, after a warm-up that includes the
//    library's initialisation. The three ways run twice in every round: placed by the
//    scheduler, and with the client and the server on one CPU (--cpu N, and the server's
//    affinity), where no wake-up crosses CPUs and the host's idleness cannot move the
//    figure (docs/performance.md).
// 2. 1000 spawns of /bin/true with libmif.so preloaded (MIF_PVD set) against without
//    (and, for scale, with the shim and with an empty library: the floor of preloading
//    anything), alternating spawn by spawn.
// 3. Resident memory of a client after one pinned connection, under mif and without.
// 4. The io_uring closure that `mif run` installs whenever anything can be strict
//    (tools/enforce/filter.h installIoUringClosure: a seccomp filter, default allow,
//    io_uring_setup answered with ENOSYS): the TCP loop of 1 and ITERATIONS x 10 UDP
//    sendto on one unconnected socket, each run by a client with no interposer, with and
//    without the filter installed by the client itself before its warm-up; rounds
//    interleaved with the order rotated; the median of the per-round ratios of the
//    loop's wall time and of its CPU time (CLOCK_PROCESS_CPUTIME_ID). For scale, the same
//    for ITERATIONS x 50 getppid calls: what the filter adds to any system call.
//
// Internal modes (run by the driver): [--cpu N] [--closed] --client ADDR PORT N, [--closed] --udp
// ADDR PORT N (--closed: install the closure first; both print the loop's wall and CPU
// nanoseconds), [--closed] --getppid N, --rss ADDR PORT, --server ADDR PORT (the accept
// loop alone, for tests/bench/connect_placement.sh).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "enforce/filter.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kClientNs = "mifpre-bench-c";
constexpr const char* kServerNs = "mifpre-bench-s";
constexpr const char* kServerAddr = "192.0.2.1";
constexpr int kPort = 8080;
constexpr int kUdpPort = 9999;

long long processCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

sockaddr_in server(const char* addr, int port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, addr, &s.sin_addr);
  return s;
}

// One connect+accept+close: the server accepts and closes (with a reset, so neither side
// keeps TIME_WAIT state across hundreds of thousands of iterations); the client waits for
// that before closing, so every iteration is a full round trip.
// MIF_BENCH_NONBLOCK set: curl's order instead (nginx's and Python's alike): the socket
// made non-blocking with fcntl(F_GETFL) + fcntl(F_SETFL) after socket(), the connect's
// EINPROGRESS waited for with poll, the outcome read with SO_ERROR.
const bool kCurlLike = std::getenv("MIF_BENCH_NONBLOCK") != nullptr;

bool once(const sockaddr_in& to) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (kCurlLike) {
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) return false;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
      close(fd);
      return false;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    const bool ok = poll(&p, 1, 5000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
                    (err == 0 || err == ECONNRESET);
    p.events = POLLIN;
    if (ok && err == 0) (void)poll(&p, 1, 5000);  // the server's reset-close
    close(fd);
    return ok;
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    // The server's reset can overtake the wake-up of a blocking connect on a veth: the
    // round trip happened all the same.
    const bool done = errno == ECONNRESET;
    close(fd);
    return done;
  }
  char c;
  (void)!read(fd, &c, 1);
  close(fd);
  return true;
}

int clientMode(const char* addr, int port, long n) {
  const sockaddr_in to = server(addr, port);
  for (int i = 0; i < 500; ++i) {
    if (!once(to)) {
      std::perror("bench_socket client: connect");
      return 1;
    }
  }
  auto t0 = Clock::now();
  const long long cpu0 = processCpuNs();
  for (long i = 0; i < n; ++i) {
    if (!once(to)) {
      std::perror("bench_socket client: connect");
      return 1;
    }
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  std::printf("%lld %lld\n", static_cast<long long>(ns), processCpuNs() - cpu0);
  return 0;
}

// N datagrams sendto'd on one unconnected socket, after 1,000 warm-up ones.
int udpMode(const char* addr, int port, long n) {
  const sockaddr_in to = server(addr, port);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  char payload[64] = "mif bench_socket datagram";
  // MIF_BENCH_PKTINFO_IF / _SRC: the floor of per-datagram pinning, done by hand: each
  // datagram a sendmsg with an IP_PKTINFO control message naming the interface and source,
  // as the library builds it.
  const char* pinIf = std::getenv("MIF_BENCH_PKTINFO_IF");
  const char* pinSrc = std::getenv("MIF_BENCH_PKTINFO_SRC");
  in_pktinfo pin{};
  if (pinIf != nullptr) pin.ipi_ifindex = static_cast<int>(if_nametoindex(pinIf));
  if (pinSrc != nullptr) inet_pton(AF_INET, pinSrc, &pin.ipi_spec_dst);
  // MIF_BENCH_UNICAST_IF: the floor of pinning done once per socket instead: the
  // interface set with IP_UNICAST_IF before the first datagram, each datagram a plain
  // sendto (docs/performance.md says why the library does not do this).
  if (const char* uc = std::getenv("MIF_BENCH_UNICAST_IF")) {
    const uint32_t index = htonl(if_nametoindex(uc));
    if (setsockopt(fd, IPPROTO_IP, IP_UNICAST_IF, &index, sizeof index) != 0) {
      std::perror("bench_socket --udp: IP_UNICAST_IF");
      return 1;
    }
  }
  auto send = [&] {
    ssize_t sent;
    if (pinIf != nullptr) {
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
      iovec iov{payload, sizeof payload};
      msghdr m{};
      m.msg_name = const_cast<sockaddr_in*>(&to);
      m.msg_namelen = sizeof to;
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = control;
      m.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      std::memcpy(CMSG_DATA(c), &pin, sizeof pin);
      sent = sendmsg(fd, &m, 0);
    } else {
      sent = sendto(fd, payload, sizeof payload, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }
    if (sent == static_cast<ssize_t>(sizeof payload)) return true;
    if (errno == ENOBUFS || errno == EAGAIN) return true;
    std::perror("bench_socket --udp: sendto");
    return false;
  };
  for (int i = 0; i < 1000; ++i)
    if (!send()) return 1;
  auto t0 = Clock::now();
  const long long cpu0 = processCpuNs();
  for (long i = 0; i < n; ++i)
    if (!send()) return 1;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  std::printf("%lld %lld\n", static_cast<long long>(ns), processCpuNs() - cpu0);
  return 0;
}

// N getppid system calls: what the filter adds to any call, whatever it does.
int getppidMode(long n) {
  for (int i = 0; i < 1000; ++i) (void)syscall(SYS_getppid);
  auto t0 = Clock::now();
  const long long cpu0 = processCpuNs();
  for (long i = 0; i < n; ++i) (void)syscall(SYS_getppid);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  std::printf("%lld %lld\n", static_cast<long long>(ns), processCpuNs() - cpu0);
  return 0;
}

long rssKiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

int rssMode(const char* addr, int port) {
  if (!once(server(addr, port))) return 1;
  std::printf("%ld\n", rssKiB());
  return 0;
}

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 256> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

void teardown() {
  sh(std::string("ip netns del ") + kClientNs + " 2>/dev/null");
  sh(std::string("ip netns del ") + kServerNs + " 2>/dev/null");
}

bool setup() {
  teardown();
  const std::string c = kClientNs, s = kServerNs;
  return sh("ip netns add " + c + " && ip netns add " + s +
            " && ip -n " + c + " link set lo up && ip -n " + s + " link set lo up" +
            " && ip link add mpbc netns " + c + " type veth peer name mpbs netns " + s +
            " && ip -n " + c + " addr add 192.0.2.2/24 dev mpbc" +
            " && ip -n " + s + " addr add 192.0.2.1/24 dev mpbs" +
            " && ip -n " + c + " link set mpbc up && ip -n " + s + " link set mpbs up" +
            // A second PvD for the failover figure: a list of two PvDs, the first working.
            " && ip link add mpbc2 netns " + c + " type veth peer name mpbs2 netns " + s +
            " && ip -n " + c + " addr add 198.51.100.2/24 dev mpbc2" +
            " && ip -n " + s + " addr add 198.51.100.1/24 dev mpbs2" +
            " && ip -n " + c + " link set mpbc2 up && ip -n " + s + " link set mpbs2 up" +
            " && ip netns exec " + c + " sysctl -qw net.ipv4.ip_local_port_range='1024 65000'") == 0;
}

// The UDP sink: reads what it can (overflow is dropped, which the sender never notices).
pid_t startUdpSink() {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int ns = open((std::string("/run/netns/") + kServerNs).c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(1);
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = server(kServerAddr, kUdpPort);
  if (bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) _exit(1);
  char buf[2048];
  for (;;) (void)!recv(u, buf, sizeof buf, 0);
}

// The server: accepts and closes with a reset, forever (--server ADDR PORT, or forked).
[[noreturn]] void serverLoop(const char* addr, int port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = server(addr, port);
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1024) != 0) _exit(1);
  const linger reset{1, 0};
  for (;;) {
    int c = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(c);
  }
}

pid_t startServer() {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int ns = open((std::string("/run/netns/") + kServerNs).c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(1);
  serverLoop(kServerAddr, kPort);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The median of the per-round ratios of `w` against `base` (same round, back to back).
double medianRatio(const std::vector<double>& w, const std::vector<double>& base) {
  std::vector<double> r;
  for (size_t i = 0; i < w.size() && i < base.size(); ++i)
    if (w[i] > 0 && base[i] > 0) r.push_back(w[i] / base[i]);
  return median(r);
}

// Runs argv with extra environment entries, waits; returns wall seconds.
double spawnWait(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  std::vector<std::string> envStore;
  for (char** e = environ; *e != nullptr; ++e) envStore.emplace_back(*e);
  for (const auto& e : env) envStore.push_back(e);
  std::vector<char*> envp, args;
  for (auto& e : envStore) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argStore = argv;
  for (auto& a : argStore) args.push_back(a.data());
  args.push_back(nullptr);
  auto t0 = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), envp.data()) != 0) return -1;
  int status;
  waitpid(pid, &status, 0);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  // --cpu N: the client runs on CPU N only (the connect figure's one-CPU ways), set before
  // anything else, so under `mif run` too.
  if (argc >= 3 && std::strcmp(argv[1], "--cpu") == 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(std::atoi(argv[2]), &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) {
      std::perror("bench_socket: sched_setaffinity");
      return 1;
    }
    argc -= 2;
    argv += 2;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--closed") == 0) {
    if (int rc = mif::enforce::installIoUringClosure(); rc != 0) {
      std::fprintf(stderr, "bench_socket: cannot install the io_uring closure: %s\n", std::strerror(-rc));
      return 1;
    }
    --argc;
    ++argv;
  }
  if (argc >= 5 && std::strcmp(argv[1], "--client") == 0) {
    return clientMode(argv[2], std::atoi(argv[3]), std::atol(argv[4]));
  }
  if (argc >= 3 && std::strcmp(argv[1], "--getppid") == 0) return getppidMode(std::atol(argv[2]));
  if (argc >= 4 && std::strcmp(argv[1], "--server") == 0) serverLoop(argv[2], std::atoi(argv[3]));
  if (argc >= 5 && std::strcmp(argv[1], "--udp") == 0) {
    return udpMode(argv[2], std::atoi(argv[3]), std::atol(argv[4]));
  }
  if (argc >= 4 && std::strcmp(argv[1], "--rss") == 0) return rssMode(argv[2], std::atoi(argv[3]));
  if (geteuid() != 0) {
    std::fprintf(stderr, "bench_socket: needs root (network namespaces)\n");
    return 77;
  }
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
  const long iterations = argc > 2 ? std::atol(argv[2]) : 20000;
  const std::string figures = argc > 3 ? std::string(",") + argv[3] + "," : ",connect,spawn,rss,closure,";
  auto wanted = [&](const char* f) { return figures.find(std::string(",") + f + ",") != std::string::npos; };
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  const std::string me = self, mif = MIF_BENCH_MIF, lib = MIF_BENCH_PRELOAD, shim = MIF_BENCH_SHIM;

  if (!setup()) {
    std::fprintf(stderr, "bench_socket: could not build the namespaces\n");
    teardown();
    return 1;
  }
  pid_t srv = startServer();
  pid_t sink = startUdpSink();
  auto stopServers = [&] {
    kill(srv, SIGKILL);
    kill(sink, SIGKILL);
    waitpid(srv, nullptr, 0);
    waitpid(sink, nullptr, 0);
  };
  usleep(200 * 1000);
  const std::string inClient = std::string("ip netns exec ") + kClientNs + " ";
  const std::string args = std::string(" --client ") + kServerAddr + " " + std::to_string(kPort) +
                           " " + std::to_string(iterations);
  struct Way {
    const char* name;
    std::string cmd;
    std::vector<double> seconds;
    std::vector<double> cpu;
    int onCpu = -1;  // >= 0: the server runs on that CPU while this way's client runs
  };
  // The server's CPUs, as the driver found them (restored after a one-CPU way).
  cpu_set_t serverCpus;
  CPU_ZERO(&serverCpus);
  sched_getaffinity(0, sizeof serverCpus, &serverCpus);
  // Runs every way once per round, the order rotated; false when a client failed.
  auto measure = [&](std::vector<Way>& ways) {
    for (int r = 0; r < rounds; ++r) {
      for (size_t k = 0; k < ways.size(); ++k) {
        Way& w = ways[(k + static_cast<size_t>(r)) % ways.size()];  // rotate the order
        cpu_set_t one;
        CPU_ZERO(&one);
        if (w.onCpu >= 0) CPU_SET(w.onCpu, &one);
        if (sched_setaffinity(srv, sizeof one, w.onCpu >= 0 ? &one : &serverCpus) != 0) {
          std::perror("bench_socket: sched_setaffinity (server)");
          return false;
        }
        const std::string out = capture(w.cmd);
        double wallNs = 0, cpuNs = 0;
        if (std::sscanf(out.c_str(), "%lf %lf", &wallNs, &cpuNs) < 1 || wallNs <= 0) {
          std::fprintf(stderr, "bench_socket: %s client failed: %s\n", w.name, out.c_str());
          return false;
        }
        w.seconds.push_back(wallNs / 1e9);
        w.cpu.push_back(cpuNs / 1e9);
      }
    }
    return true;
  };
  auto fail = [&] {
    stopServers();
    teardown();
    return 1;
  };

  // Unconnected UDP under a strict pin (issue 26): bare, the per-datagram pinning floor by
  // hand (IP_PKTINFO on every sendmsg), and mif, in the same rounds.
  if (wanted("udp")) {
    const std::string udpArgs = std::string(" --udp ") + kServerAddr + " " + std::to_string(kUdpPort) + " " + std::to_string(iterations);
    std::vector<Way> ways = {
        {"bare", inClient + me + udpArgs, {}, {}},
        {"floor", inClient + "env MIF_BENCH_PKTINFO_IF=mpbc MIF_BENCH_PKTINFO_SRC=192.0.2.2 " + me + udpArgs, {}, {}},
        {"mif", inClient + mif + " run --pvd mpbc --strict -- " + me + udpArgs, {}, {}},
        {"socket", inClient + "env MIF_BENCH_UNICAST_IF=mpbc " + me + udpArgs, {}, {}},
    };
    if (!measure(ways)) return fail();
    std::printf("unconnected UDP sendto, %ld datagrams, median of %d rounds:\n", iterations, rounds);
    for (const auto& w : ways) {
      const double m = median(w.seconds);
      std::printf("  %-5s %8.1f ms  %6.3f us/datagram\n", w.name, m * 1e3,
                  m * 1e6 / static_cast<double>(iterations));
    }
    const double bare = median(ways[0].seconds), floorT = median(ways[1].seconds),
                 mifT = median(ways[2].seconds);
    std::printf("  ratio mif/bare = %.3f (target <= 1.10)\n", mifT / bare);
    std::printf("  ratio mif/floor = %.3f\n", mifT / floorT);
    std::printf("  ratio floor/bare = %.3f\n", floorT / bare);
    std::printf("  ratio socket/bare = %.3f (IP_UNICAST_IF once per socket)\n",
                median(ways[3].seconds) / bare);
    // On a shared host the load drifts between rounds more than the effect measured: the
    // median of the per-round ratios (each round runs every way back to back) and the
    // client's own CPU time (CLOCK_PROCESS_CPUTIME_ID, what another process's load does
    // not add to) say it better than the ratio of medians above.
    std::printf("  per-round ratio medians: mif/bare wall %.3f cpu %.3f; mif/socket wall %.3f cpu %.3f;"
                " socket/bare wall %.3f cpu %.3f\n",
                medianRatio(ways[2].seconds, ways[0].seconds), medianRatio(ways[2].cpu, ways[0].cpu),
                medianRatio(ways[2].seconds, ways[3].seconds), medianRatio(ways[2].cpu, ways[3].cpu),
                medianRatio(ways[3].seconds, ways[0].seconds), medianRatio(ways[3].cpu, ways[0].cpu));
  }

  // The trace's cost (issue 24): the same mif-pinned connect loop with and without
  // --trace to a file, one JSON line per connect, in the same rounds.
  if (wanted("trace")) {
    const std::string file = std::string("/tmp/mif-bench-trace.") + std::to_string(getpid());
    std::vector<Way> ways = {
        {"mif", inClient + mif + " run --pvd mpbc -- " + me + args, {}, {}},
        {"traced", inClient + mif + " run --trace=" + file + " --pvd mpbc -- " + me + args, {}, {}},
    };
    const bool ok = measure(ways);
    unlink(file.c_str());
    if (!ok) return fail();
    std::printf("TCP connect+accept+close under mif, %ld iterations, median of %d rounds:\n",
                iterations, rounds);
    for (const auto& w : ways) {
      const double m = median(w.seconds);
      std::printf("  %-6s %8.1f ms  %6.2f us/iteration\n", w.name, m * 1e3,
                  m * 1e6 / static_cast<double>(iterations));
    }
    std::printf("  ratio traced/mif = %.3f (one JSON line per connect, written to a file)\n",
                median(ways[1].seconds) / median(ways[0].seconds));
  }

  // Failover (issue 29) and the race (issue 30): a list of two PvDs whose first works
  // against a single PvD (health is read with one relaxed load, no second socket; the race
  // adds its arming around a blocking connect).
  if (wanted("failover")) {
    std::vector<Way> ways = {
        {"one", inClient + mif + " run --pvd mpbc -- " + me + args, {}, {}},
        {"two", inClient + mif + " run --pvd mpbc --pvd mpbc2 -- " + me + args, {}, {}},
    };
    // MIF_BENCH_BASE_MIF=path/to/another/build/bin/mif: the same two ways with that build
    // (e.g. one from before a change), in the same rounds.
    if (const char* base = std::getenv("MIF_BENCH_BASE_MIF")) {
      ways.push_back({"one-base", inClient + base + " run --pvd mpbc -- " + me + args, {}, {}});
      ways.push_back({"two-base", inClient + base + " run --pvd mpbc --pvd mpbc2 -- " + me + args, {}, {}});
    }
    if (!measure(ways)) return fail();
    std::printf("TCP connect+accept+close under mif, %ld iterations, median of %d rounds:\n",
                iterations, rounds);
    for (const auto& w : ways) {
      const double m = median(w.seconds);
      std::printf("  %-8s %8.1f ms  %6.2f us/iteration\n", w.name, m * 1e3,
                  m * 1e6 / static_cast<double>(iterations));
    }
    std::printf("  ratio two/one = %.3f (--pvd mpbc --pvd mpbc2 against --pvd mpbc)\n",
                median(ways[1].seconds) / median(ways[0].seconds));
    // Since issue 30 a list of two arms the race around a blocking connect (SO_SNDTIMEO set
    // and restored; F_GETFL and the SO_SNDTIMEO read before the ninth session's
    // known_fds.h): the client's own CPU time shows it best.
    std::printf("  client CPU, us/iteration:");
    for (const auto& w : ways) std::printf(" %s %.2f", w.name, median(w.cpu) * 1e6 / static_cast<double>(iterations));
    std::printf("; two/one = %.3f\n", median(ways[1].cpu) / median(ways[0].cpu));
    if (ways.size() == 4) {
      std::printf("  ratio two-base/one-base = %.3f, one/one-base = %.3f, two/two-base = %.3f\n",
                  median(ways[3].seconds) / median(ways[2].seconds),
                  median(ways[0].seconds) / median(ways[2].seconds),
                  median(ways[1].seconds) / median(ways[3].seconds));
      // Each round runs every way back to back: the median of the per-round ratios is less
      // at the mercy of the host's load drifting between rounds than a ratio of medians.
      std::printf("  per-round ratio medians: two/two-base wall %.3f cpu %.3f; one/one-base wall %.3f"
                  " cpu %.3f; two/one wall %.3f cpu %.3f; two-base/one-base wall %.3f cpu %.3f\n",
                  medianRatio(ways[1].seconds, ways[3].seconds), medianRatio(ways[1].cpu, ways[3].cpu),
                  medianRatio(ways[0].seconds, ways[2].seconds), medianRatio(ways[0].cpu, ways[2].cpu),
                  medianRatio(ways[1].seconds, ways[0].seconds), medianRatio(ways[1].cpu, ways[0].cpu),
                  medianRatio(ways[3].seconds, ways[2].seconds), medianRatio(ways[3].cpu, ways[2].cpu));
    }
  }

  if (wanted("connect")) {
    // The same three ways twice in every round: as the scheduler places the client and the
    // server (the figure of issue 26), and both on one CPU (the host's last), where no
    // wake-up crosses CPUs. On this 2-vCPU KVM guest a wake-up sent to the other, idle vCPU
    // costs ~80 us and adds CPU time to the sender; how many of a run's iterations cross
    // depends on the host's idleness, not on the code: the first figure moves by 5-10 %
    // between runs of the same code (docs/performance.md, "Connect against the pinning
    // floor, placement"), the one-CPU figure by about 1 %.
    const int lastCpu = [&] {
      int c = -1;
      for (int i = 0; i < CPU_SETSIZE; ++i)
        if (CPU_ISSET(i, &serverCpus)) c = i;
      return c;
    }();
    const std::string pin = " --cpu " + std::to_string(lastCpu);
    const std::string shimEnv = "env LD_PRELOAD=" + shim + " MIF_SHIM_DEV=mpbc MIF_SHIM_SRC=192.0.2.2 ";
    const std::string mifRun = mif + " run --pvd mpbc -- ";
    std::vector<Way> ways = {
        {"none", inClient + me + args, {}, {}, -1},
        {"shim", inClient + shimEnv + me + args, {}, {}, -1},
        {"mif", inClient + mifRun + me + args, {}, {}, -1},
        {"none", inClient + me + pin + args, {}, {}, lastCpu},
        {"shim", inClient + shimEnv + me + pin + args, {}, {}, lastCpu},
        {"mif", inClient + mifRun + me + pin + args, {}, {}, lastCpu},
    };
    if (!measure(ways)) return fail();
    const double per = 1e6 / static_cast<double>(iterations);
    // Each round runs every way back to back: the median of the per-round ratios, with
    // their range, says how much the host moved the ratio within the run.
    auto perRound = [&](const char* what, const Way& a, const Way& b) {
      auto spread = [](const std::vector<double>& x, const std::vector<double>& y) {
        std::vector<double> r;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) r.push_back(x[i] / y[i]);
        std::sort(r.begin(), r.end());
        return std::make_pair(r.front(), r.back());
      };
      const auto w = spread(a.seconds, b.seconds), c = spread(a.cpu, b.cpu);
      std::printf("  per round, %s: wall median %.3f (%.3f-%.3f), client CPU median %.3f (%.3f-%.3f)\n", what,
                  medianRatio(a.seconds, b.seconds), w.first, w.second, medianRatio(a.cpu, b.cpu), c.first,
                  c.second);
    };
    for (int pass = 0; pass < 2; ++pass) {
      const Way* w = &ways[static_cast<size_t>(pass) * 3];
      if (pass == 0) {
        std::printf("TCP connect+accept+close, %ld iterations, median of %d rounds (client in %s, pinned to mpbc):\n",
                    iterations, rounds, kClientNs);
      } else {
        std::printf("The same, client and server on CPU %d (no wake-up crosses CPUs), in the same rounds:\n",
                    lastCpu);
      }
      for (int k = 0; k < 3; ++k) {
        const double m = median(w[k].seconds);
        std::printf("  %-5s %8.1f ms  %6.2f us/iteration\n", w[k].name, m * 1e3, m * per);
      }
      const double none = median(w[0].seconds), shimT = median(w[1].seconds), mifT = median(w[2].seconds);
      std::printf("  ratio mif/shim = %.3f (the pinning floor; target <= 1.00, issue 26)\n", mifT / shimT);
      std::printf("  ratio mif/none = %.3f (target <= 1.08)\n", mifT / none);
      std::printf("  ratio shim/none = %.3f\n", shimT / none);
      // The client's own CPU time in its loop (user + system, CLOCK_PROCESS_CPUTIME_ID): less
      // at the mercy of other work on the host than the wall time, which waits for a CPU.
      const double noneC = median(w[0].cpu), shimC = median(w[1].cpu), mifC = median(w[2].cpu);
      std::printf("  client CPU, us/iteration: none %.2f, shim %.2f, mif %.2f; mif/shim = %.3f\n", noneC * per,
                  shimC * per, mifC * per, mifC / shimC);
      perRound("mif/shim", w[2], w[1]);
      perRound("shim/none", w[1], w[0]);
    }
    std::fflush(stdout);
  }

  if (wanted("spawn")) {
    // /bin/true: the library mapped, never initialised. Spawns alternate one by one (so a
    // burst of load elsewhere hits both alike); 20 rounds of 50 pairs, the median of the
    // per-round ratios.
    double plainTrue = 0, mifTrue = 0, shimTrue = 0, emptyTrue = 0;
    std::vector<double> trueRatios, shimRatios, emptyRatios;
    const std::vector<std::string> preloadEnv = {"LD_PRELOAD=" + lib, "MIF_PVD=mpbc"};
    const std::vector<std::string> shimEnv = {"LD_PRELOAD=" + shim};
    const std::vector<std::string> emptyEnv = {"LD_PRELOAD=" + std::string(MIF_BENCH_EMPTY)};
    for (int r = 0; r < 20; ++r) {
      double p = 0, m = 0, s = 0, e = 0;
      for (int i = 0; i < 50; ++i) {
        p += spawnWait({"/bin/true"}, {});
        m += spawnWait({"/bin/true"}, preloadEnv);
        s += spawnWait({"/bin/true"}, shimEnv);
        e += spawnWait({"/bin/true"}, emptyEnv);
      }
      plainTrue += p;
      mifTrue += m;
      shimTrue += s;
      emptyTrue += e;
      trueRatios.push_back(m / p);
      shimRatios.push_back(s / p);
      emptyRatios.push_back(e / p);
    }
    std::printf("/bin/true x1000: without %.1f ms, with libmif.so preloaded %.1f ms; median per-round ratio %.3f (target <= 1.05)\n",
                plainTrue * 1e3, mifTrue * 1e3, median(trueRatios));
    std::printf("  for comparison, the shim preloaded: %.1f ms, median ratio %.3f\n", shimTrue * 1e3,
                median(shimRatios));
    std::printf("  the floor, an empty library preloaded: %.1f ms, median ratio %.3f\n", emptyTrue * 1e3,
                median(emptyRatios));
    double mifRunTrue = 0;
    for (int i = 0; i < 200; ++i) mifRunTrue += spawnWait({mif, "run", "--", "/bin/true"}, {});
    std::printf("  for reference, `mif run -- /bin/true` (mif's own checks, then exec): %.2f ms each\n",
                mifRunTrue * 1e3 / 200);
    std::fflush(stdout);
  }

  if (wanted("rss")) {
    const std::string rssArgs = std::string(" --rss ") + kServerAddr + " " + std::to_string(kPort);
    const long rssPlain = std::atol(capture(inClient + me + rssArgs).c_str());
    const long rssMif = std::atol(capture(inClient + mif + " run --pvd mpbc -- " + me + rssArgs).c_str());
    std::printf("RSS after one connection: without %ld KiB, under mif %ld KiB, +%ld KiB (target <= 2048)\n",
                rssPlain, rssMif, rssMif - rssPlain);
    std::fflush(stdout);
  }

  if (wanted("closure")) {
    // The same client programs with no interposer (the smallest baseline, so the largest
    // ratio), with and without the io_uring closure.
    const long datagrams = iterations * 10;
    const std::string udpArgs = std::string(" --udp ") + kServerAddr + " " + std::to_string(kUdpPort) +
                                " " + std::to_string(datagrams);
    std::vector<Way> tcp = {
        {"no filter", inClient + me + args, {}, {}},
        {"io_uring closure", inClient + me + " --closed" + args, {}, {}},
    };
    std::vector<Way> udp = {
        {"no filter", inClient + me + udpArgs, {}, {}},
        {"io_uring closure", inClient + me + " --closed" + udpArgs, {}, {}},
    };
    auto report = [&](const char* title, const std::vector<Way>& ways, long count, const char* unit) {
      std::printf("%s, median of %d rounds:\n", title, rounds);
      for (const auto& w : ways) {
        const double m = median(w.seconds), c = median(w.cpu);
        std::printf("  %-17s wall %8.1f ms %8.3f us/%s ratio %.3f   cpu %8.1f ms %8.3f us/%s ratio %.3f\n", w.name,
                    m * 1e3, m * 1e6 / static_cast<double>(count), unit, medianRatio(w.seconds, ways[0].seconds),
                    c * 1e3, c * 1e6 / static_cast<double>(count), unit, medianRatio(w.cpu, ways[0].cpu));
      }
      std::fflush(stdout);
    };
    const long calls = iterations * 50;
    std::vector<Way> plain = {
        {"no filter", inClient + me + " --getppid " + std::to_string(calls), {}, {}},
        {"io_uring closure", inClient + me + " --closed --getppid " + std::to_string(calls), {}, {}},
    };
    if (!measure(plain)) return fail();
    report(("io_uring closure: getppid x" + std::to_string(calls) + " (any system call)").c_str(), plain, calls,
           "call");
    if (!measure(tcp)) return fail();
    report(("io_uring closure: TCP connect+accept+close x" + std::to_string(iterations)).c_str(), tcp,
           iterations, "iteration");
    if (!measure(udp)) return fail();
    report(("io_uring closure: UDP sendto x" + std::to_string(datagrams) + " on one unconnected socket").c_str(),
           udp, datagrams, "datagram");
  }

  stopServers();
  teardown();
  return 0;
}
