// runEnforced: the child's set-up before exec, the hand-over of the seccomp listener, and
// the parent's life as supervisor (notification thread) and signal forwarder.
#include "enforce/enforce.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "cli.h"
#include "enforce/dns_stub.h"
#include "enforce/filter.h"
#include "enforce/resolv_conf.h"
#include "enforce/supervisor.h"
#include "enforce/trace.h"
#include "mif/view/live_view.h"

namespace mif::enforce {

namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};

// What the child tells the parent once its filter is loaded.
struct ChildReport {
  int listenerFd = -1;  // the listener's number in the child, for pidfd_getfd
  int filterError = 0;  // errno when the filter could not be installed
  int mountError = -1;  // -1 not tried, 0 done, else errno
  int mode = 0;         // FilterMode actually installed
  bool killableWait = false;  // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV accepted
};

void fail(const std::string& why) { cli::error("run", why); }

bool writeAll(int fd, const void* p, size_t n) {
  return write(fd, p, n) == static_cast<ssize_t>(n);
}

// The mode for this policy: a socket pinned at creation is only right when every socket
// of the program goes to the same PvD whatever its destination (a strict command-line pin,
// no locked system rule above it) and the kernel's own source choice on that interface
// is right (the PvD needs no particular source address).
FilterMode chooseMode(const policy::Policy& pol, const view::Snapshot* snap) {
  const char* env = getenv("MIF_ENFORCE_MODE");
  if (env && std::string(env) == filterModeName(FilterMode::PerCall)) return FilterMode::PerCall;
  const auto& pin = pol.pin();
  if (!pin.strict || pin.pvds.empty() || !snap) return FilterMode::PerCall;
  for (const auto& r : pol.rules())
    if (r.locked) return FilterMode::PerCall;
  for (const auto& name : pin.pvds) {
    auto id = pol.findPvd(name);
    if (!id || *id >= snap->pvds.size()) continue;
    const auto& b = snap->pvds[*id];
    if (b.hasSource4 || b.hasSource6) return FilterMode::PerCall;
  }
  return FilterMode::PinAtCreation;
}

[[noreturn]] void childMain(char** argv, const sigset_t& oldMask, FilterMode mode,
                            const std::string& resolvFile, int toParent, int fromParent) {
  sigprocmask(SIG_SETMASK, &oldMask, nullptr);
  ChildReport r;
  if (!resolvFile.empty()) {
    r.mountError = mountResolvConf(resolvFile);
    // Without its own resolv.conf the program's queries must be seen one by one (port-53
    // redirection and strict refusal need connect and sendto supervised).
    if (r.mountError != 0) mode = FilterMode::PerCall;
  }
  r.mode = static_cast<int>(mode);
  int fd = installFilter(mode, &r.killableWait);
  if (fd < 0) r.filterError = -fd;
  r.listenerFd = fd;
  // A pipe, not SCM_RIGHTS: sendmsg is itself supervised from here on, and the parent has
  // no listener yet to answer it. The parent takes the descriptor with pidfd_getfd.
  writeAll(toParent, &r, sizeof r);
  if (fd < 0) _exit(cli::kExitRunFailed);
  char ack = 0;
  if (read(fromParent, &ack, 1) != 1) _exit(cli::kExitRunFailed);
  close(fd);
  close(fromParent);
  execvp(argv[0], argv);
  int err = errno;
  writeAll(toParent, &err, sizeof err);
  _exit(err == ENOENT ? cli::kExitNotFound : cli::kExitCannotExecute);
}

int statusOf(const siginfo_t& si) {
  if (si.si_code == CLD_EXITED) return si.si_status;
  return 128 + si.si_status;
}

}  // namespace

int runEnforced(const EnforceOptions& options, char** argv) {
  if (!options.policy || !argv || !argv[0]) {
    fail("--enforce: no program or no policy");
    return cli::kExitRunFailed;
  }
  const policy::Policy& pol = *options.policy;
  Trace trace;
  if (!trace.open(options.trace)) {
    fail("--trace: " + options.trace + ": " + strerror(errno));
    return cli::kExitRunFailed;
  }

  // One dump of the view now, only when there is something to pin or a resolver to give;
  // the supervisor's own live view is built at the first network call.
  std::vector<policy::PvdId> resolver = resolverPvds(pol);
  std::unique_ptr<view::Snapshot> snap;
  if (!resolver.empty() || !pol.pin().pvds.empty()) snap = view::LiveView::readOnce(pol);
  FilterMode mode = chooseMode(pol, snap.get());
  // Two resolver PvDs or more: the program's resolv.conf names the supervisor's DNS stub,
  // so that a held connect can fail over to the next PvD's own answer for a name
  // (dns_stub.h). Binding port 53 needs CAP_NET_BIND_SERVICE; without it (and then without
  // CAP_SYS_ADMIN for the mount too) the resolv.conf names the PvDs' servers, as before.
  std::unique_ptr<DnsStub> stub;
  if (snap && pvdsWithServers(*snap, resolver) >= 2) {
    stub = DnsStub::open(resolver);
    if (!stub && errno != EACCES && errno != EPERM)
      fail(std::string("cannot serve DNS to the program (") + strerror(errno) +
           "): a name is not re-resolved through the next PvD on failover");
    // A socket pinned at its creation could not reach the stub on loopback with an
    // unconnected send (musl's resolver), which that filter does not see.
    if (stub) mode = FilterMode::PerCall;
  }
  std::string resolvFile;
  if (snap) {
    std::string text = renderResolvConf(*snap, resolver, stub ? &stub->address() : nullptr);
    if (!text.empty()) {
      resolvFile = writeTempFile(text);
      if (resolvFile.empty()) fail(std::string("cannot write a resolv.conf: ") + strerror(errno));
    }
  }

  sigset_t fwd, oldMask;
  sigemptyset(&fwd);
  for (int s : kForwarded) sigaddset(&fwd, s);
  sigprocmask(SIG_BLOCK, &fwd, &oldMask);
  int sfd = signalfd(-1, &fwd, SFD_CLOEXEC);

  int up[2], down[2];
  if (sfd < 0 || pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0) {
    fail(std::string("cannot set up the supervisor: ") + strerror(errno));
    return cli::kExitRunFailed;
  }
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    fail(std::string("fork: ") + strerror(errno));
    return cli::kExitRunFailed;
  }
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    childMain(argv, oldMask, mode, resolvFile, up[1], down[0]);
  }
  close(up[1]);
  close(down[0]);
  auto cleanup = [&] {
    if (!resolvFile.empty()) unlink(resolvFile.c_str());
  };
  auto reap = [&]() {
    int st = 0;
    waitpid(pid, &st, 0);
  };

  ChildReport r;
  if (read(up[0], &r, sizeof r) != static_cast<ssize_t>(sizeof r) || r.filterError != 0) {
    reap();
    cleanup();
    fail(std::string("cannot install the seccomp filter: ") +
         strerror(r.filterError ? r.filterError : EPIPE));
    return cli::kExitRunFailed;
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  int listener =
      pidfd < 0 ? -1 : static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, r.listenerFd, 0));
  if (listener < 0) {
    int err = errno;
    kill(pid, SIGKILL);
    reap();
    cleanup();
    fail(std::string("cannot take the seccomp listener from the child: ") + strerror(err));
    return cli::kExitRunFailed;
  }
  setSyncWakeUp(listener);
  if (r.mountError > 0)
    fail(std::string("cannot give the program its own /etc/resolv.conf (") +
         strerror(r.mountError) +
         "): its DNS connects are redirected to the PvD's servers instead");

  Supervisor sup(pol, static_cast<FilterMode>(r.mode), listener, trace);
  sup.holdConnects(r.killableWait);
  // Without its own resolv.conf the program never asks the stub.
  if (r.mountError == 0) sup.serveDns(std::move(stub));
  stub.reset();
  sup.decider().watchProbes(options.probes);
  std::optional<SupervisorThread> notifier;
  notifier.emplace(sup);
  if (!notifier->started()) {
    kill(pid, SIGKILL);
    reap();
    cleanup();
    fail("cannot start the supervisor thread");
    return cli::kExitRunFailed;
  }
  char ack = 1;
  writeAll(down[1], &ack, 1);
  close(down[1]);

  int execErr = 0;
  ssize_t n = read(up[0], &execErr, sizeof execErr);
  close(up[0]);
  // The bind mount holds the file now (or the exec failed): the name is not needed.
  cleanup();

  int status = cli::kExitRunFailed;
  if (n == static_cast<ssize_t>(sizeof execErr)) {
    fail(std::string(argv[0]) + ": " + strerror(execErr));
    reap();
    status = execErr == ENOENT ? cli::kExitNotFound : cli::kExitCannotExecute;
  } else {
    pollfd pf[2] = {{pidfd, POLLIN, 0}, {sfd, POLLIN, 0}};
    for (;;) {
      if (poll(pf, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (pf[1].revents & POLLIN) {
        signalfd_siginfo si{};
        if (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
          // A terminal's signal (SI_KERNEL) already reached the program, which shares our
          // process group; only signals sent to mif itself are passed on.
          if (si.ssi_code != SI_KERNEL) kill(pid, static_cast<int>(si.ssi_signo));
        }
      }
      if (pf[0].revents & POLLIN) {
        siginfo_t si{};
        if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si, WEXITED) == 0)
          status = statusOf(si);
        break;
      }
    }
  }
  notifier.reset();
  close(listener);
  close(pidfd);
  close(sfd);
  sigprocmask(SIG_SETMASK, &oldMask, nullptr);
  return status;
}

}  // namespace mif::enforce
