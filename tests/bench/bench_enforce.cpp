// The cost of `mif run --enforce`, as ratios measured in one run (docs/performance.md
// "`mif run --enforce`"). Needs root: it builds two namespaces of its own
// (mifenf-bench-c, the client, interface mifenfb0 198.51.100.2/24; mifenf-bench-s, a
// server at 198.51.100.1 across a veth) and removes them at the end.
//
//   bench_enforce [ROUNDS [FIGURES]]   (default 5 rounds; FIGURES a comma list of tcp,
//                                        held, stub, compute, udp: default all but stub)
//
// Every figure runs its ways once per round, the order rotated from round to round, and
// reports for each way the median time and the median of its per-round ratios against
// the figure's first way. Loop workloads report their loop's wall time and the CPU time
// the process spent in it (CLOCK_PROCESS_CPUTIME_ID): on a shared machine the CPU figure
// is the one to judge by, the wall figure mostly measures waiting for a CPU. "all cpu" is
// the CPU time of the whole run, mif's supervisor included (warm-up and start too): the
// figure for work moved from the program into the supervisor, as a held connect does.
//
// 1. TCP connect+accept+close loop (20,000 after 500 warm-up iterations, as bench_socket):
//    `mif run --enforce --pvd mifenfb0` against `mif run --pvd mifenfb0` (the preload
//    library alone), and no mif.
// 1b. The same loop in a static program (bench_enforce_tcp_static: no preload library can
//    reach it, the supervisor decides every connect): `mif run --enforce --pvd mifenfb0`
//    (one PvD: the connect is pinned and continued in the program) against `--pvd
//    mifenfb0 --pvd mifenfb1` (a list whose first PvD works: the supervisor holds the
//    connect and makes it itself, issue 29) and no mif. A second veth, mifenfb1
//    100.64.99.2/24, makes the second PvD usable; nothing is sent through it.
// 1c. (`stub`, not by default) 1b's held connects with both PvDs given a DNS server, so
//    that the run's DNS stub is served from the supervisor's poll loop, against the same
//    PvDs without servers.
// 2. A program without network calls (syscalls and arithmetic): the whole run, spawn to
//    exit (wall time, and CPU time of mif and all it waited for), under
//    `mif run --enforce --pvd mifenfb0` against `mif run --pvd`.
// 3. 100,000 UDP datagrams sendto'd on one unconnected socket (after 1,000 warm-up
//    datagrams, which also initialise the library) under a strict pin: --enforce (sockets
//    pinned at creation, the default for a strict pin) and --enforce with
//    MIF_ENFORCE_MODE=per-call (every datagram supervised) against `mif run --strict
//    --pvd` without --enforce; plus a non-strict pin under --enforce.
//
// The floor: ways marked "+ any filter" run with a seccomp filter that allows every call
// (installed by the driver before exec, with SECCOMP_FILTER_FLAG_SPEC_ALLOW as mif's):
// what any seccomp filter at all costs the program, whatever mif's does.
//
// Internal modes (the driver runs them): --tcp N, --udp N, --compute N.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kClientNs = "mifenf-bench-c";
constexpr const char* kServerNs = "mifenf-bench-s";
constexpr const char* kLink = "mifenfb0";
constexpr const char* kLink2 = "mifenfb1";  // the second PvD of the held figure
constexpr const char* kServer = "198.51.100.1";
constexpr uint16_t kTcpPort = 8080, kUdpPort = 9999;

sockaddr_in serverAddr(uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  inet_pton(AF_INET, kServer, &s.sin_addr);
  return s;
}

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double processCpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// What a loop workload prints: its wall time and the CPU time the process spent in it.
struct LoopTimer {
  Clock::time_point t0 = Clock::now();
  double cpu0 = processCpu();
  void print() const { std::printf("%.6f %.6f\n", since(t0), processCpu() - cpu0); }
};

// ---- workloads (run inside the client namespace, possibly under mif) ----

// connect, wait for the server's reset-close, close: one full round trip per iteration.
bool tcpOnce(const sockaddr_in& to) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    bool done = errno == ECONNRESET;
    close(fd);
    return done;
  }
  char c;
  (void)!read(fd, &c, 1);
  close(fd);
  return true;
}

int tcpWorkload(long n) {
  const sockaddr_in to = serverAddr(kTcpPort);
  for (int i = 0; i < 500; ++i) {
    if (!tcpOnce(to)) {
      std::perror("bench_enforce --tcp: connect");
      return 1;
    }
  }
  LoopTimer t;
  for (long i = 0; i < n; ++i) {
    if (!tcpOnce(to)) {
      std::perror("bench_enforce --tcp: connect");
      return 1;
    }
  }
  t.print();
  return 0;
}

int udpWorkload(long n) {
  const sockaddr_in to = serverAddr(kUdpPort);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  char payload[64] = "mif enforce benchmark datagram";
  auto send = [&] {
    if (sendto(fd, payload, sizeof payload, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
        static_cast<ssize_t>(sizeof payload))
      return true;
    if (errno == ENOBUFS || errno == EAGAIN) return true;
    std::perror("bench_enforce --udp: sendto");
    return false;
  };
  // The first datagram initialises the library (policy, view): not part of the loop, as
  // the TCP loop's warm-up keeps it out too.
  for (int i = 0; i < 1000; ++i) {
    if (!send()) return 1;
  }
  LoopTimer t;
  for (long i = 0; i < n; ++i) {
    if (!send()) return 1;
  }
  t.print();
  return 0;
}

// Ordinary system calls and arithmetic, no network: what every syscall pays for the
// filter, plus mif's start-up.
int computeWorkload(long n) {
  auto t0 = Clock::now();
  unsigned long acc = 0;
  char buf[256];
  for (long i = 0; i < n; ++i) {
    acc += static_cast<unsigned long>(getppid());
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      acc += static_cast<unsigned long>(read(fd, buf, sizeof buf));
      close(fd);
    }
    for (int k = 0; k < 2000; ++k) acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
  }
  std::printf("%.6f %lu\n", since(t0), acc & 1);
  return 0;
}

// ---- driver ----

std::string selfDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

std::string selfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool sh(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

void teardown() {
  sh(std::string("ip netns del ") + kClientNs + " 2>/dev/null");
  sh(std::string("ip netns del ") + kServerNs + " 2>/dev/null");
}

bool setup() {
  teardown();
  std::string c = kClientNs, s = kServerNs;
  return sh("ip netns add " + c) && sh("ip netns add " + s) &&
         sh("ip link add " + std::string(kLink) + " netns " + c +
            " type veth peer name srv0 netns " + s) &&
         sh("ip -n " + c + " link set lo up") && sh("ip -n " + s + " link set lo up") &&
         sh("ip -n " + c + " addr add 198.51.100.2/24 dev " + kLink) &&
         sh("ip -n " + c + " link set " + kLink + " up") &&
         sh("ip -n " + s + " addr add " + kServer + "/24 dev srv0") &&
         sh("ip -n " + s + " link set srv0 up") &&
         sh("ip link add " + std::string(kLink2) + " netns " + c +
            " type veth peer name srv1 netns " + s) &&
         sh("ip -n " + c + " addr add 100.64.99.2/24 dev " + kLink2) &&
         sh("ip -n " + c + " link set " + kLink2 + " up") &&
         sh("ip -n " + s + " addr add 100.64.99.1/24 dev srv1") &&
         sh("ip -n " + s + " link set srv1 up") &&
         // As bench_socket: 20,000 connections per run never wait for a free port.
         sh("ip netns exec " + c + " sysctl -qw net.ipv4.ip_local_port_range='1024 65000'");
}

// A filter that allows every call: what any seccomp filter costs a program (the kernel
// takes its syscall entry slow path and consults the filter's action cache). Same flags as
// mif's (no_new_privs, SPEC_ALLOW).
bool installAllowAllFilter() {
  sock_filter insn = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  sock_fprog prog{1, &insn};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) == 0;
}

bool enterNs(const char* name) {
  int fd = open((std::string("/run/netns/") + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = setns(fd, CLONE_NEWNET) == 0;
  close(fd);
  return ok;
}

// TCP: accept and close with a reset (no TIME_WAIT pile-up); UDP: a bound socket that
// reads what it can (overflow is dropped, which the sender never notices).
pid_t startServer() {
  pid_t pid = fork();
  if (pid != 0) return pid;
  setpgid(0, 0);  // the UDP reader below too: both go with one kill of the group
  if (!enterNs(kServerNs)) _exit(1);
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = serverAddr(kTcpPort);
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1024) != 0) _exit(1);
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in ua = serverAddr(kUdpPort);
  if (bind(u, reinterpret_cast<sockaddr*>(&ua), sizeof ua) != 0) _exit(1);
  if (fork() == 0) {
    char buf[2048];
    for (;;) (void)!recv(u, buf, sizeof buf, 0);
  }
  linger lg{1, 0};
  for (;;) {
    int c = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c);
  }
}

struct Run {
  double loop = -1;     // what the workload printed: its loop's wall time
  double loopCpu = -1;  // and the CPU time of its process during the loop
  double wall = -1;     // spawn to exit, seen by the driver
  double cpu = -1;      // user+system time of mif and everything it waited for
};

// Runs argv in the client namespace with extra environment; stdout parsed as seconds.
Run spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
          bool anyFilter = false) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return {};
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (!enterNs(kClientNs)) _exit(125);
    if (anyFilter && !installAllowAllFilter()) _exit(125);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int st = 0;
  rusage ru{};
  wait4(pid, &st, 0, &ru);
  Run r;
  r.wall = since(t0);
  r.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::fprintf(stderr, "bench_enforce: %s ... failed (status %d)\n", argv[0].c_str(), st);
    return {};
  }
  if (std::sscanf(text.c_str(), "%lf %lf", &r.loop, &r.loopCpu) < 1) return {};
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? -1 : v[v.size() / 2];
}

struct Way {
  const char* name;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  bool wall = false;       // whole run (wall and CPU) rather than the workload's own loop
  bool anyFilter = false;  // under the allow-all seccomp filter (the floor)
  std::vector<double> times, cpu;
  std::vector<double> all;  // CPU of the whole run: mif (its supervisor) and the program
};

// The median of the per-round ratios of `w` against `base` (same round, back to back).
double medianRatio(const std::vector<double>& w, const std::vector<double>& base) {
  std::vector<double> r;
  for (size_t i = 0; i < w.size() && i < base.size(); ++i)
    if (w[i] > 0 && base[i] > 0) r.push_back(w[i] / base[i]);
  return median(r);
}

void measure(const char* title, std::vector<Way>& ways, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < ways.size(); ++k) {
      Way& w = ways[(k + static_cast<size_t>(r)) % ways.size()];  // rotate the order
      Run run = spawn(w.argv, w.env, w.anyFilter);
      w.times.push_back(w.wall ? run.wall : run.loop);
      w.cpu.push_back(w.wall ? run.cpu : run.loopCpu);
      w.all.push_back(run.cpu);
    }
  }
  std::printf("%s\n", title);
  std::printf("  %-52s %9s %7s   %9s %7s   %9s %7s\n", "", "wall", "ratio", "cpu", "ratio",
              "all cpu", "ratio");
  const Way& base = ways[0];
  for (const auto& w : ways) {
    std::printf("  %-52s %8.3fs %7.3f   %8.3fs %7.3f   %8.3fs %7.3f\n", w.name, median(w.times),
                medianRatio(w.times, base.times), median(w.cpu), medianRatio(w.cpu, base.cpu),
                median(w.all), medianRatio(w.all, base.all));
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--tcp") == 0) return tcpWorkload(std::atol(argv[2]));
  if (argc == 3 && std::strcmp(argv[1], "--udp") == 0) return udpWorkload(std::atol(argv[2]));
  if (argc == 3 && std::strcmp(argv[1], "--compute") == 0)
    return computeWorkload(std::atol(argv[2]));
  int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::string figures =
      argc > 2 ? std::string(",") + argv[2] + "," : ",tcp,held,compute,udp,";
  auto wanted = [&](const char* f) { return figures.find(std::string(",") + f + ",") != std::string::npos; };
  if (geteuid() != 0) {
    std::fprintf(stderr, "bench_enforce: needs root (network namespaces)\n");
    return 1;
  }
  const std::string mif = selfDir() + "/mif", self = selfExe(),
                    staticTcp = selfDir() + "/bench_enforce_tcp_static";
  if (access(mif.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "bench_enforce: %s not found (build the mif target)\n", mif.c_str());
    return 1;
  }
  if (!setup()) {
    std::fprintf(stderr, "bench_enforce: could not build the namespaces\n");
    teardown();
    return 1;
  }
  pid_t server = startServer();
  usleep(200000);
  auto under = [&](std::vector<std::string> opts, std::vector<std::string> prog) {
    std::vector<std::string> a{mif, "run"};
    a.insert(a.end(), opts.begin(), opts.end());
    a.push_back("--");
    a.insert(a.end(), prog.begin(), prog.end());
    return a;
  };
  std::printf("bench_enforce: %d rounds, order rotated; medians, and the median of per-round\n"
              "ratios against each figure's first line. cpu: the loop's process CPU time (loop\n"
              "figures) or all CPU of the run (whole-run figures): the one to judge by.\n",
              rounds);

  std::vector<std::string> tcp{self, "--tcp", "20000"};
  std::vector<Way> tcpWays = {
      {"mif run --pvd (preload alone)", under({"--pvd", kLink}, tcp), {}, false, false, {}, {}},
      {"mif run --enforce --pvd", under({"--enforce", "--pvd", kLink}, tcp), {}, false, false, {}, {}},
      {"no mif", tcp, {}, false, false, {}, {}},
  };
  if (wanted("tcp")) measure("TCP connect+accept+close x20000 (client's loop)", tcpWays, rounds);

  std::vector<std::string> staticLoop{staticTcp, kServer, std::to_string(kTcpPort), "20000"};
  std::vector<Way> heldWays = {
      {"static, mif run --enforce --pvd (continued)", under({"--enforce", "--pvd", kLink}, staticLoop),
       {}, false, false, {}, {}},
      {"static, --enforce --pvd --pvd (held, first works)",
       under({"--enforce", "--pvd", kLink, "--pvd", kLink2}, staticLoop), {}, false, false, {}, {}},
      {"static, no mif", staticLoop, {}, false, false, {}, {}},
  };
  if (wanted("held")) {
    if (access(staticTcp.c_str(), X_OK) != 0)
      std::fprintf(stderr, "bench_enforce: %s not found (build the bench_enforce target)\n",
                   staticTcp.c_str());
    else
      measure("TCP connect+accept+close x20000, static client (client's loop)", heldWays, rounds);
  }

  // 1c. The held connects of 1b with the run's DNS stub served (both PvDs with a DNS
  // server: the supervisor polls the stub's sockets beside its listener instead of
  // blocking in the receive) against the same two PvDs without servers (no stub). Nothing
  // asks the stub; the servers need not exist.
  auto policyFile = [](const std::string& text) {
    char path[] = "/tmp/mif-bench-policy.XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return std::string();
    const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    return ok ? std::string(path) : std::string();
  };
  const std::string noDns = policyFile(std::string("[pvd.b0]\ninterface = \"") + kLink +
                                       "\"\n[pvd.b1]\ninterface = \"" + kLink2 + "\"\n");
  const std::string withDns =
      policyFile(std::string("[pvd.b0]\ninterface = \"") + kLink + "\"\ndns = \"198.51.100.1\"\n" +
                 "[pvd.b1]\ninterface = \"" + kLink2 + "\"\ndns = \"100.64.99.1\"\n");
  std::vector<Way> stubWays = {
      {"static, --enforce --pvd --pvd, no DNS servers (held)",
       under({"--policy", noDns, "--enforce", "--pvd", "b0", "--pvd", "b1"}, staticLoop), {}, false,
       false, {}, {}},
      {"static, the same with DNS servers (held, DNS stub served)",
       under({"--policy", withDns, "--enforce", "--pvd", "b0", "--pvd", "b1"}, staticLoop), {}, false,
       false, {}, {}},
  };
  if (wanted("stub") && !noDns.empty() && !withDns.empty())
    measure("TCP connect+accept+close x20000, static client, DNS stub (client's loop)", stubWays, rounds);
  if (!noDns.empty()) unlink(noDns.c_str());
  if (!withDns.empty()) unlink(withDns.c_str());

  std::vector<std::string> compute{self, "--compute", "20000"};
  std::vector<Way> computeWays = {
      {"mif run --pvd", under({"--pvd", kLink}, compute), {}, true, false, {}, {}},
      {"mif run --enforce --pvd", under({"--enforce", "--pvd", kLink}, compute), {}, true, false, {}, {}},
      {"mif run --pvd + any filter (floor)", under({"--pvd", kLink}, compute), {}, true, true, {}, {}},
      {"no mif", compute, {}, true, false, {}, {}},
      {"no mif + any filter", compute, {}, true, true, {}, {}},
  };
  if (wanted("compute")) measure("No network calls, whole run spawn to exit", computeWays, rounds);

  std::vector<std::string> udp{self, "--udp", "100000"};
  const std::vector<std::string> strictPin{"--strict", "--pvd", kLink};
  std::vector<std::string> enforceStrict{"--enforce"};
  enforceStrict.insert(enforceStrict.end(), strictPin.begin(), strictPin.end());
  std::vector<Way> udpWays = {
      {"mif run --strict --pvd", under(strictPin, udp), {}, false, false, {}, {}},
      {"mif run --enforce --strict --pvd (pin at creation)", under(enforceStrict, udp), {}, false, false, {}, {}},
      {"mif run --strict --pvd + any filter (floor)", under(strictPin, udp), {}, false, true, {}, {}},
      {"  --enforce, MIF_ENFORCE_MODE=per-call", under(enforceStrict, udp),
       {"MIF_ENFORCE_MODE=per-call"}, false, false, {}, {}},
      {"mif run --enforce --pvd (not strict: per call)", under({"--enforce", "--pvd", kLink}, udp),
       {}, false, false, {}, {}},
      {"no mif", udp, {}, false, false, {}, {}},
      {"no mif + any filter", udp, {}, false, true, {}, {}},
  };
  if (wanted("udp")) measure("UDP sendto x100000 on one socket (client's loop)", udpWays, rounds);

  kill(-server, SIGKILL);
  waitpid(server, nullptr, 0);
  teardown();
  return 0;
}
