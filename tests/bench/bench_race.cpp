// Time to connected with the first PvD blackholed (issue 30's figure, docs/performance.md
// "Time to connected past a blackhole"): on the `oneway` lab, Wi-Fi's router drops every
// packet to svc.cell.example; a client under `mif run --pvd wifi --pvd cell` connects once
// (a blocking connect, raced in the connect hook; or O_NONBLOCK and poll, raced in the
// wait) and says how long connect took. The bound is the attempt delay plus 1.5x
// cellular's round trip, measured in the same rounds as the connect time of the same
// client under `--pvd cell` alone (one handshake: SYN, SYN-ACK). One connect per client
// process: a loss degrades Wi-Fi for the rest of the process, and its second loss would
// fail it (its third connect would go to cellular first, unraced).
//
// The figure is taken at several cellular round trips, each on its own lab instance: the
// lab's veths as they are (`benchrace`, a round trip of about 0.15 ms, against which the
// race's own fixed cost is most of the bound's margin) and with `delay = "Nms"` on
// cellular (`benchrace-dN`: the lab's userspace relay, docs/lab.md "Poor links"; a real
// cellular network or VPN has a round trip of 20-100 ms).
//
//   bench_race [ROUNDS] [PER_ROUND] [DELAY_MS...]
//       default 3 rounds of 5 clients per way, at 0 (the veths), 20 and 60 ms; root
//
// Internal mode: --client HOST block|nonblock (prints the connect time in microseconds).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kDelayMs = 250;  // the race's attempt delay

int clientMode(const char* host, bool nonblock) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(80);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return 64;
  // mif loads its engine and builds its view of the network at the first network call:
  // a UDP connect to the same destination (decided, never raced, nothing sent) does that
  // before the clock starts, so the figure is the connect's own.
  const int warm = socket(AF_INET, SOCK_DGRAM, 0);
  if (warm < 0 || connect(warm, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return 1;
  close(warm);
  const int s = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (s < 0) return 1;
  const auto t0 = Clock::now();
  int err = connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 ? 0 : errno;
  if (nonblock && err == EINPROGRESS) {
    pollfd p{s, POLLOUT, 0};
    socklen_t sl = sizeof err;
    err = poll(&p, 1, 10000) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 ? err : ETIMEDOUT;
  }
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  if (err != 0) {
    std::printf("error %s\n", std::strerror(err));
    return 1;
  }
  std::printf("%.0f\n", us);
  return 0;
}

std::string capture(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    pclose(p);
  }
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::map<std::string, std::string> labFacts(const std::string& mif, const std::string& lab) {
  std::map<std::string, std::string> facts;
  const std::string text = capture(mif + " lab facts " + lab);
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    const size_t eq = line.find('=');
    if (eq != std::string::npos) facts[line.substr(0, eq)] = line.substr(eq + 1);
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return facts;
}

struct Way {
  const char* name;
  const char* pvds;
  const char* mode;
  std::vector<double> ms;
  int errors = 0;
};

// One lab instance: cellular with DELAY_MS added to its round trip (0: the veths as they
// are). Returns false when the lab or the blackhole could not be set up.
bool measure(const std::string& mif, const std::string& self, int delayMs, int rounds,
             int perRound, std::vector<Way>& ways) {
  std::string topology = MIF_BENCH_ONEWAY;
  std::string lab = "benchrace";
  if (delayMs > 0) {
    // oneway.toml with the delay on cellular, written beside the bench's policy.
    std::ifstream in(MIF_BENCH_ONEWAY);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string section = "\n[pvd.cell]\n";
    const size_t at = text.find(section);
    if (at == std::string::npos) {
      std::fprintf(stderr, "bench_race: no [pvd.cell] in %s\n", MIF_BENCH_ONEWAY);
      return false;
    }
    text.insert(at + section.size(), "delay = \"" + std::to_string(delayMs) + "ms\"\n");
    lab += "-d" + std::to_string(delayMs);
    topology = "/tmp/mif-bench-race." + std::to_string(getpid()) + "." + lab + ".toml";
    std::ofstream(topology) << text;
  }
  bool ok = std::system((mif + " lab up " + topology + " --as " + lab + " >/dev/null").c_str()) == 0;
  auto facts = labFacts(mif, lab);
  const std::string node = facts["ns.node"], router = facts["ns.router.wifi"],
                    svc = facts["host.cellsvc.addr4"];
  const std::string policy = "/tmp/mif-bench-race." + std::to_string(getpid()) + ".toml";
  std::ofstream(policy) << "[pvd.wifi]\ninterface = \"" << facts["pvd.wifi.link"]
                        << "\"\n[pvd.cell]\ninterface = \"" << facts["pvd.cell.link"]
                        << "\"\n[failover]\nattempt_delay_ms = " << kDelayMs << "\n";
  const std::string blackhole = "ip -n " + router + " route %s blackhole " + svc + "/32";
  char cmd[512];
  std::snprintf(cmd, sizeof cmd, blackhole.c_str(), "add");
  ok = ok && !node.empty() && !svc.empty() && std::system(cmd) == 0;
  for (int r = 0; ok && r < rounds; ++r)
    for (int i = 0; i < perRound; ++i)
      for (Way& w : ways) {
        const std::string out =
            capture("ip netns exec " + node + " " + mif + " run --policy " + policy + " " + w.pvds +
                    " -- " + self + " --client " + svc + " " + w.mode + " 2>&1");
        if (out.empty() || out[0] < '0' || out[0] > '9')
          ++w.errors;
        else
          w.ms.push_back(std::atof(out.c_str()) / 1000.0);
      }
  std::system((mif + " lab down " + lab + " >/dev/null").c_str());
  unlink(policy.c_str());
  if (delayMs > 0) unlink(topology.c_str());
  if (!ok) std::fprintf(stderr, "bench_race: could not bring up %s with its blackhole\n", lab.c_str());
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--client") == 0)
    return clientMode(argv[2], std::strcmp(argv[3], "nonblock") == 0);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.empty() || a.find_first_not_of("0123456789") != std::string::npos) {
      std::fprintf(stderr, "usage: bench_race [ROUNDS] [PER_ROUND] [DELAY_MS...] (numbers; see the file's head)\n");
      return 2;
    }
  }
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 3;
  const int perRound = argc > 2 ? std::atoi(argv[2]) : 5;
  std::vector<int> delays;
  for (int i = 3; i < argc; ++i) delays.push_back(std::atoi(argv[i]));
  if (delays.empty()) delays = {0, 20, 60};
  if (geteuid() != 0) {
    std::printf("bench_race: needs root (network namespaces); skipped\n");
    return 0;
  }
  const std::string mif = MIF_BENCH_MIF;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  int status = 0;
  for (int delayMs : delays) {
    const auto started = Clock::now();
    std::vector<Way> ways = {{"cell alone (1 RTT)", "--pvd cell", "block", {}},
                             {"race, blocking", "--pvd wifi --pvd cell", "block", {}},
                             {"race, O_NONBLOCK+poll", "--pvd wifi --pvd cell", "nonblock", {}}};
    if (!measure(mif, self, delayMs, rounds, perRound, ways)) {
      status = 1;
      continue;
    }
    double loadavg[1] = {0};
    getloadavg(loadavg, 1);
    std::printf("Cellular %s: time to connected, Wi-Fi blackholed, attempt delay %d ms, %d rounds x %d "
                "(load %.1f, %.0f s):\n",
                delayMs > 0 ? ("with delay = \"" + std::to_string(delayMs) + "ms\"").c_str() : "on the veths",
                kDelayMs, rounds, perRound, loadavg[0],
                std::chrono::duration<double>(Clock::now() - started).count());
    for (const Way& w : ways) {
      const auto [lo, hi] = std::minmax_element(w.ms.begin(), w.ms.end());
      std::printf("  %-22s median %8.3f ms  min %8.3f  max %8.3f  (%zu ok, %d failed)\n", w.name,
                  median(w.ms), w.ms.empty() ? 0 : *lo, w.ms.empty() ? 0 : *hi, w.ms.size(), w.errors);
    }
    const double rtt = median(ways[0].ms);
    for (size_t i = 1; i < ways.size(); ++i) {
      const double t = median(ways[i].ms);
      // Beyond the delay and one round trip: what the race itself costs (the next
      // attempt's start, the handover), the margin the bound leaves it being 0.5 RTT.
      std::printf("  %s: over the delay %.3f ms = %.2f x cellular's RTT (%.3f ms beyond delay + RTT); "
                  "bound delay + 1.5 RTT = %.3f ms: %s\n",
                  ways[i].name, t - kDelayMs, (t - kDelayMs) / rtt, t - kDelayMs - rtt,
                  kDelayMs + 1.5 * rtt, t <= kDelayMs + 1.5 * rtt ? "met" : "not met");
    }
    std::fflush(stdout);
  }
  return status;
}
