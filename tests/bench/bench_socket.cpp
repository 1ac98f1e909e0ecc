// The socket path's cost, as ratios measured in one run (docs/performance.md "Socket
// path"). Needs root: it builds two namespaces of its own (mifpre-bench-c, the client with
// interface mpbc 192.0.2.2/24; mifpre-bench-s, a server on 192.0.2.1:8080 across a veth)
// and removes them at the end.
//
//   bench_socket [ROUNDS] [ITERATIONS]       (default 7 rounds of 20000)
//
// 1. TCP connect+accept+close loop, client in mifpre-bench-c, three ways, interleaved
//    round by round, median per way: no interposer; the minimal pinning shim
//    (bench_socket_shim.c: SO_BINDTODEVICE + IP_BIND_ADDRESS_NO_PORT + bind); `mif run
//    --pvd mpbc`. Each client times only its own loop, after a warm-up that includes the
//    library's initialisation.
// 2. 1000 spawns of /bin/true with libmif.so preloaded (MIF_PVD set) against without
//    (and, for scale, with the shim and with an empty library: the floor of preloading
//    anything), alternating spawn by spawn.
// 3. Resident memory of a client after one pinned connection, under mif and without.
//
// Internal modes (run by the driver): --client ADDR PORT N, --rss ADDR PORT.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kClientNs = "mifpre-bench-c";
constexpr const char* kServerNs = "mifpre-bench-s";
constexpr const char* kServerAddr = "192.0.2.1";
constexpr int kPort = 8080;

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
bool once(const sockaddr_in& to) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
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
  for (long i = 0; i < n; ++i) {
    if (!once(to)) {
      std::perror("bench_socket client: connect");
      return 1;
    }
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  std::printf("%lld\n", static_cast<long long>(ns));
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
            " && ip netns exec " + c + " sysctl -qw net.ipv4.ip_local_port_range='1024 65000'") == 0;
}

pid_t startServer() {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int ns = open((std::string("/run/netns/") + kServerNs).c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(1);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = server(kServerAddr, kPort);
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1024) != 0) _exit(1);
  const linger reset{1, 0};
  for (;;) {
    int c = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(c);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
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
  if (argc >= 5 && std::strcmp(argv[1], "--client") == 0) {
    return clientMode(argv[2], std::atoi(argv[3]), std::atol(argv[4]));
  }
  if (argc >= 4 && std::strcmp(argv[1], "--rss") == 0) return rssMode(argv[2], std::atoi(argv[3]));
  if (geteuid() != 0) {
    std::fprintf(stderr, "bench_socket: needs root (network namespaces)\n");
    return 77;
  }
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
  const long iterations = argc > 2 ? std::atol(argv[2]) : 20000;
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
  usleep(200 * 1000);
  const std::string inClient = std::string("ip netns exec ") + kClientNs + " ";
  const std::string args = std::string(" --client ") + kServerAddr + " " + std::to_string(kPort) +
                           " " + std::to_string(iterations);
  struct Way {
    const char* name;
    std::string cmd;
    std::vector<double> seconds;
  };
  std::vector<Way> ways = {
      {"none", inClient + me + args, {}},
      {"shim", inClient + "env LD_PRELOAD=" + shim + " MIF_SHIM_DEV=mpbc MIF_SHIM_SRC=192.0.2.2 " + me + args, {}},
      {"mif", inClient + mif + " run --pvd mpbc -- " + me + args, {}},
  };
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < ways.size(); ++k) {
      Way& w = ways[(k + static_cast<size_t>(r)) % ways.size()];  // rotate the order
      const std::string out = capture(w.cmd);
      const double s = std::atof(out.c_str()) / 1e9;
      if (s <= 0) {
        std::fprintf(stderr, "bench_socket: %s client failed: %s\n", w.name, out.c_str());
        kill(srv, SIGKILL);
        waitpid(srv, nullptr, 0);
        teardown();
        return 1;
      }
      w.seconds.push_back(s);
    }
  }
  std::printf("TCP connect+accept+close, %ld iterations, median of %d rounds (client in %s, pinned to mpbc):\n",
              iterations, rounds, kClientNs);
  for (const auto& w : ways) {
    const double m = median(w.seconds);
    std::printf("  %-5s %8.1f ms  %6.2f us/iteration\n", w.name, m * 1e3, m * 1e6 / static_cast<double>(iterations));
  }
  const double none = median(ways[0].seconds), shimT = median(ways[1].seconds), mifT = median(ways[2].seconds);
  std::printf("  ratio mif/shim = %.3f (target <= 1.03)\n", mifT / shimT);
  std::printf("  ratio mif/none = %.3f (target <= 1.08)\n", mifT / none);
  std::printf("  ratio shim/none = %.3f\n", shimT / none);

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

  const std::string rssArgs = std::string(" --rss ") + kServerAddr + " " + std::to_string(kPort);
  const long rssPlain = std::atol(capture(inClient + me + rssArgs).c_str());
  const long rssMif = std::atol(capture(inClient + mif + " run --pvd mpbc -- " + me + rssArgs).c_str());
  std::printf("RSS after one connection: without %ld KiB, under mif %ld KiB, +%ld KiB (target <= 2048)\n",
              rssPlain, rssMif, rssMif - rssPlain);

  kill(srv, SIGKILL);
  waitpid(srv, nullptr, 0);
  teardown();
  return 0;
}
