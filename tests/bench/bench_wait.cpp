// What the waits cost under mif when no non-blocking race is pending (issues 29/30,
// docs/performance.md "Waits"): poll, epoll_wait, select (each with timeout 0 on one ready
// descriptor) and getsockopt(SO_ERROR), in a client with libmif.so preloaded and its engine
// loaded (an AF_INET bind to loopback, no traffic) against the same client bare, rounds
// interleaved, the median of the per-round ratios. No root, no namespace: nothing is sent.
//
//   bench_wait [ROUNDS] [ITERATIONS]     (default 9 rounds of 200000)
//
// Internal mode: --loop N (prints ns per call of each, one line; exits 2 when preloaded but
// the engine did not load).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kCalls = 4;
const char* const kNames[kCalls] = {"poll", "epoll_wait", "select", "getsockopt(SO_ERROR)"};

template <typename F>
double nsPer(long n, F f) {
  const auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) f();
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(n);
}

int loopMode(long n) {
  // Loads mif's engine when preloaded (an inet bind is a network call), sends nothing.
  const int inet = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in lo{};
  lo.sin_family = AF_INET;
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (inet < 0 || bind(inet, reinterpret_cast<sockaddr*>(&lo), sizeof lo) != 0) return 1;
  // Under mif the engine must be loaded, or its hooks would not be what is measured.
  bool engine = false;
  if (FILE* maps = std::fopen("/proc/self/maps", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, maps) != nullptr) engine = engine || std::strstr(line, "libmif-engine") != nullptr;
    std::fclose(maps);
  }
  if (getenv("LD_PRELOAD") != nullptr && !engine) return 2;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.fd = sv[0];
  if (epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) != 0) return 1;
  volatile int sink = 0;
  auto doPoll = [&] {
    pollfd p{sv[0], POLLOUT, 0};
    sink = sink + poll(&p, 1, 0);
  };
  auto doEpoll = [&] {
    epoll_event out[4];
    sink = sink + epoll_wait(ep, out, 4, 0);
  };
  auto doSelect = [&] {
    fd_set w;
    FD_ZERO(&w);
    FD_SET(sv[0], &w);
    timeval tv{0, 0};
    sink = sink + select(sv[0] + 1, nullptr, &w, nullptr, &tv);
  };
  auto doSoError = [&] {
    int err = 0;
    socklen_t len = sizeof err;
    sink = sink + getsockopt(inet, SOL_SOCKET, SO_ERROR, &err, &len);
  };
  nsPer(n / 10, doPoll);  // warm-up
  std::printf("%.2f %.2f %.2f %.2f\n", nsPer(n, doPoll), nsPer(n, doEpoll), nsPer(n, doSelect),
              nsPer(n, doSoError));
  return 0;
}

bool runLoop(const char* self, long n, bool preload, double out[kCalls]) {
  std::vector<std::string> envStore;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0 && std::strncmp(*e, "MIF_", 4) != 0) envStore.emplace_back(*e);
  if (preload) {
    envStore.push_back(std::string("LD_PRELOAD=") + MIF_BENCH_PRELOAD);
    envStore.emplace_back("MIF_PVD=lo");
  }
  std::vector<char*> envp;
  for (auto& e : envStore) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string nArg = std::to_string(n);
  char loop[] = "--loop";
  char* args[] = {const_cast<char*>(self), loop, nArg.data(), nullptr};
  int pipefd[2];
  if (pipe(pipefd) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  pid_t pid;
  const int rc = posix_spawn(&pid, self, &fa, nullptr, args, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    return false;
  }
  char buf[256] = {};
  size_t got = 0;
  ssize_t r;
  while (got < sizeof buf - 1 && (r = read(pipefd[0], buf + got, sizeof buf - 1 - got)) > 0) got += static_cast<size_t>(r);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
         std::sscanf(buf, "%lf %lf %lf %lf", &out[0], &out[1], &out[2], &out[3]) == kCalls;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "--loop") == 0) return loopMode(std::atol(argv[2]));
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 9;
  const long n = argc > 2 ? std::atol(argv[2]) : 200000;
  std::vector<double> ratio[kCalls], bare[kCalls], mif[kCalls];
  for (int r = 0; r < rounds; ++r) {
    double b[kCalls], m[kCalls];
    // Alternate which goes first, so that a drift of the host's load favours neither.
    const bool mifFirst = r % 2 == 1;
    if (!runLoop(argv[0], n, mifFirst, mifFirst ? m : b) || !runLoop(argv[0], n, !mifFirst, mifFirst ? b : m)) {
      std::fprintf(stderr, "bench_wait: a client failed\n");
      return 1;
    }
    for (int c = 0; c < kCalls; ++c) {
      ratio[c].push_back(m[c] / b[c]);
      bare[c].push_back(b[c]);
      mif[c].push_back(m[c]);
    }
  }
  std::printf("%d rounds of %ld calls each, no race pending; mif/bare is the median of per-round ratios\n",
              rounds, n);
  for (int c = 0; c < kCalls; ++c)
    std::printf("%-22s bare %7.1f ns  mif %7.1f ns  mif/bare %.3f\n", kNames[c], median(bare[c]),
                median(mif[c]), median(ratio[c]));
  return 0;
}
