#include "probe/prober.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "mif/view/live_view.h"
#include "mif/view/probe_results.h"
#include "probe/portal.h"
#include "probe/probe.h"

namespace mif::probe {
namespace {

using Clock = std::chrono::steady_clock;

// Attempts per round: as `mif run --probe`; each with a timeout of at most 1 s.
constexpr int kCount = 3;
constexpr uint32_t kMaxTimeoutMs = 1000;

uint32_t timeoutMs(const policy::ProbeDef& d) { return std::min(kMaxTimeoutMs, d.intervalMs / 2); }

void writeAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Closes every descriptor but 0-2, `a` and `b`.
void closeAllBut(int a, int b) {
  const int lo = std::min(a, b), hi = std::max(a, b);
  if (lo > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(lo - 1), 0u);
  if (hi > lo + 1) ::syscall(SYS_close_range, static_cast<unsigned>(lo + 1), static_cast<unsigned>(hi - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(hi + 1), ~0u, 0u);
}

view::ProbeVerdict verdictOf(const Result& r) {
  if (r.attempts == 0) return view::ProbeVerdict::None;  // link down, no address: the view knows
  switch (r.verdict) {
    case Verdict::Ok: return view::ProbeVerdict::Ok;
    case Verdict::Poor: return view::ProbeVerdict::Poor;
    case Verdict::Down: return view::ProbeVerdict::Down;
    case Verdict::Unknown: break;
  }
  return view::ProbeVerdict::None;
}

// The prober's life: rounds until `watched` (a pidfd of mif run's process) says it ended.
// `ready`: written with the first round's end, then closed.
// `token`: the run's token for the file's header (view::probeRunToken).
[[noreturn]] void proberMain(const policy::Policy& policy, const std::vector<policy::PvdId>& ids,
                             const std::string& path, const std::string& token, int watched,
                             int ready) {
  const size_t n = ids.size();
  std::vector<Clock::time_point> due(n, Clock::now());
  std::vector<view::ProbeLine> lines(n);
  for (size_t k = 0; k < n; ++k) lines[k].name = policy.pvds()[ids[k]].name;
  for (;;) {
    const Clock::time_point now = Clock::now();
    std::vector<policy::PvdId> round;
    std::vector<size_t> which;
    Options o;
    o.count = kCount;
    o.dnsQueries = false;
    o.timeout = std::chrono::milliseconds(kMaxTimeoutMs);
    for (size_t k = 0; k < n; ++k) {
      if (due[k] > now) continue;
      const policy::ProbeDef& d = *policy.pvds()[ids[k]].probe;
      round.push_back(ids[k]);
      which.push_back(k);
      o.targetsFor.push_back(d.targets);
      o.timeout = std::min(o.timeout, std::chrono::milliseconds(timeoutMs(d)));
      due[k] = now + std::chrono::milliseconds(d.intervalMs);
    }
    if (!round.empty()) {
      std::unique_ptr<view::Snapshot> snap = view::LiveView::readOnce(policy);
      std::vector<Result> results;
      if (snap && snap->error.empty()) results = run(policy, *snap, round, o);
      for (size_t j = 0; j < results.size(); ++j) {
        view::ProbeLine& l = lines[which[j]];
        l.verdict = verdictOf(results[j]);
        l.portal = view::PortalVerdict::None;
        const view::BoundPvd& b = snap->pvds[round[j]];
        if (l.verdict == view::ProbeVerdict::None) continue;
        // A portal the router announced: open or not, as `mif probe` asks it.
        for (const view::CaptivePortal& c : b.captive) {
          const PortalCheck pc = checkPortal(b, c, results[j].verdict == Verdict::Ok, o.timeout);
          if (!pc.open) l.portal = view::PortalVerdict::Captive;
          else if (l.portal == view::PortalVerdict::None) l.portal = view::PortalVerdict::Open;
        }
      }
      std::string why;
      view::writeProbeResults(path, view::formatProbeResults(lines, token), &why);
      if (ready >= 0) {
        writeAll(ready, "r");
        ::close(ready);
        ready = -1;
      }
    }
    const Clock::time_point next = *std::min_element(due.begin(), due.end());
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now());
    pollfd p{watched, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, wait.count())));
    if (r > 0 || (r < 0 && errno != EINTR)) break;  // mif run's process ended
  }
  ::unlink(path.c_str());
  ::_exit(0);
}

// Where to publish: RUN_DIR/probe/run-PID when it can be written, else a directory of our
// own under $TMPDIR (an unprivileged user without /run/mif).
std::string choosePath(pid_t pid, const std::string& token, std::string* error) {
  std::string why;
  const std::string header = view::formatProbeResults({}, token);
  std::string path = view::probeResultsPath(pid);
  if (view::writeProbeResults(path, header, &why)) return path;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/mif-probe-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    *error = why + "; " + dir + ": " + std::strerror(errno);
    return {};
  }
  path = dir + "/run-" + std::to_string(pid);
  if (view::writeProbeResults(path, header, &why)) return path;
  *error = why;
  return {};
}

}  // namespace

ProberStart startProber(const policy::Policy& policy) {
  ProberStart out;
  std::vector<policy::PvdId> ids;
  uint32_t longest = 0;
  for (size_t k = 0; k < policy.pvds().size(); ++k) {
    if (!policy.pvds()[k].probe) continue;
    ids.push_back(static_cast<policy::PvdId>(k));
    longest = std::max(longest, timeoutMs(*policy.pvds()[k].probe));
  }
  if (ids.empty()) return out;
  const pid_t self = ::getpid();
  // Read in the run's own process (the program after exec), before the prober is forked.
  const std::string token = view::probeRunToken(self);
  const std::string path = choosePath(self, token, &out.error);
  if (path.empty()) return out;
  // mif run's own process (the program after exec; the supervisor under --enforce).
  const int watched = static_cast<int>(::syscall(SYS_pidfd_open, self, 0));
  int ready[2];
  if (watched < 0 || ::pipe2(ready, O_CLOEXEC) != 0) {
    out.error = std::string("cannot watch this process: ") + std::strerror(errno);
    if (watched >= 0) ::close(watched);
    ::unlink(path.c_str());
    return out;
  }
  const pid_t child = ::fork();
  if (child == 0) {
    // In between: a session of its own, then the prober, then gone (so the prober is
    // nobody's child here, and never the program's).
    ::setsid();
    const pid_t prober = ::fork();
    if (prober != 0) ::_exit(prober < 0 ? 1 : 0);
    ::close(ready[0]);
    ::prctl(PR_SET_NAME, "mif-prober", 0, 0, 0);
    // Above the standard streams (one of which a program started with it closed may hold).
    const int w = ::fcntl(watched, F_DUPFD_CLOEXEC, 3), r = ::fcntl(ready[1], F_DUPFD_CLOEXEC, 3);
    if (w < 0 || r < 0) ::_exit(1);
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3 && null >= 0; ++fd) ::dup2(null, fd);
    closeAllBut(w, r);
    ::signal(SIGPIPE, SIG_IGN);
    proberMain(policy, ids, path, token, w, r);
  }
  ::close(ready[1]);
  ::close(watched);
  if (child < 0) {
    out.error = std::string("fork: ") + std::strerror(errno);
    ::close(ready[0]);
    ::unlink(path.c_str());
    return out;
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  // The first round: a byte, or EOF if the prober died; at most the longest timeout, the
  // attempts' spacing and a second.
  pollfd p{ready[0], POLLIN, 0};
  const auto deadline = Clock::now() + std::chrono::milliseconds(longest + 1200);
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    break;
  }
  ::close(ready[0]);
  out.path = path;
  return out;
}

}  // namespace mif::probe
