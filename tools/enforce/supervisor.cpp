#include "enforce/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace mif::enforce {

namespace {

constexpr size_t kMaxControl = 1024;  // enough for any PKTINFO the program would pass
constexpr unsigned kMaxMmsg = 1024;   // UIO_MAXIOV: the kernel's own limit for sendmmsg

struct NotifSizes {
  size_t notif = sizeof(seccomp_notif), resp = sizeof(seccomp_notif_resp);
};

// The kernel's structure sizes may be larger than this build's headers say.
NotifSizes notifSizes() {
  seccomp_notif_sizes s{};
  NotifSizes out;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s) == 0) {
    out.notif = std::max<size_t>(out.notif, s.seccomp_notif);
    out.resp = std::max<size_t>(out.resp, s.seccomp_notif_resp);
  }
  return out;
}

}  // namespace

Supervisor::Supervisor(const policy::Policy& policy, FilterMode mode, int listener,
                       const Trace& trace)
    : policy_(policy),
      mode_(mode),
      listener_(listener),
      decider_(policy, trace),
      held_(policy, trace, listener,
            [this](uint64_t id, int error, int64_t value) { respond(id, error, false, value); },
            decider_.health()) {
  NotifSizes s = notifSizes();
  notifBuf_.resize(s.notif);
  respBuf_.resize(s.resp);
}

bool Supervisor::stillValid(uint64_t id) const {
  return ioctl(listener_, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

bool Supervisor::readEndpoint(const seccomp_notif& n, uint64_t addr, uint64_t len, Endpoint* out,
                              sockaddr_storage* raw, socklen_t* rawLen) {
  if (addr == 0 || len < sizeof(sa_family_t)) return false;
  sockaddr_storage ss{};
  size_t want = std::min<uint64_t>(len, sizeof ss);
  if (!readMemory(static_cast<pid_t>(n.pid), addr, &ss, want)) return false;
  auto e = endpointOf(ss, want);
  if (!e) return false;
  *out = *e;
  if (raw) *raw = ss;
  if (rawLen) *rawLen = static_cast<socklen_t>(want);
  return true;
}

// The program's descriptor could not be taken. EBADF: it has no such descriptor, and the
// kernel will say so. Anything else (a program that made itself non-dumpable, a ptrace
// restriction): the call cannot be decided, so under a strict policy it fails rather
// than leave undecided.
Supervisor::Answer Supervisor::untaken(const seccomp_notif& n) {
  Answer a;
  if (errno == EBADF || decider_.trustsDeviceBinding() || !stillValid(n.id)) return a;
  a.error = ENETUNREACH;
  return a;
}

Supervisor::Answer Supervisor::fromVerdict(const Verdict& v, int fd, const SocketInfo& info,
                                           bool isConnect) {
  Answer a;
  if (v.kind == Verdict::Kind::Refuse) {
    a.error = v.error;
    return a;
  }
  if (v.kind == Verdict::Kind::Redirect && isConnect) {
    sockaddr_storage ss;
    socklen_t len = toSockaddr(v.redirect.address, v.redirect.port, info.family, &ss);
    if (len == 0) return a;
    // Connected UDP: completes at once, never blocks this thread.
    a.cont = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) a.error = errno;
  }
  return a;
}

Supervisor::Answer Supervisor::onConnect(const seccomp_notif& n) {
  pid_t tid = static_cast<pid_t>(n.pid);
  RemoteFd s = pidfds_.take(tid, static_cast<int>(n.data.args[0]));
  SocketInfo info;
  // Not a socket, not IP, or (nothing strict) already bound to a device by the library or
  // the program: nothing to decide, the kernel answers.
  if (!s.valid()) return untaken(n);
  // The hot case of a dynamic program: the library bound the socket already. One option
  // read answers it, whatever the family.
  if (decider_.trustsDeviceBinding() && mode_ == FilterMode::PerCall) {
    int boundIf = 0;
    socklen_t len = sizeof boundIf;
    if (getsockopt(s.get(), SOL_SOCKET, SO_BINDTOIFINDEX, &boundIf, &len) == 0 && boundIf != 0)
      return {};
  }
  if (!socketInfo(s.get(), &info)) return {};
  if (info.family != AF_INET && info.family != AF_INET6) return {};
  Endpoint to;
  sockaddr_storage raw;
  socklen_t rawLen = 0;
  if (!readEndpoint(n, n.data.args[1], n.data.args[2], &to, &raw, &rawLen)) return {};
  if (!stillValid(n.id)) return {true};
  std::vector<view::BoundPvd> order;
  const bool mayHold = holdConnects_ && info.type == SOCK_STREAM;
  Verdict v = decider_.destination("connect", tid, s.get(), info, to, true, mayHold ? &order : nullptr);
  if (order.size() < 2) return fromVerdict(v, s.get(), info, true);
  // Several PvDs to try: the supervisor runs the attempts itself (held_connect.h).
  int error = 0;
  switch (held_.begin(n, std::move(s), info, raw, rawLen, to, std::move(order), v.localPort, &error)) {
    case HeldConnects::Start::Continue:
      return {};
    case HeldConnects::Start::Answered: {
      Answer a;
      a.cont = false;
      a.error = error;
      return a;
    }
    case HeldConnects::Start::Held:
      break;
  }
  return {true};
}

Supervisor::Answer Supervisor::decideSend(const seccomp_notif& n, const char* call, int fd,
                                          const Endpoint& to) {
  pid_t tid = static_cast<pid_t>(n.pid);
  RemoteFd s = pidfds_.take(tid, fd);
  SocketInfo info;
  if (!s.valid()) return untaken(n);
  if (!socketInfo(s.get(), &info)) return {};
  if (info.family != AF_INET && info.family != AF_INET6) return {};
  if (!stillValid(n.id)) return {true};
  return fromVerdict(decider_.destination(call, tid, s.get(), info, to, true), s.get(), info,
                     false);
}

Supervisor::Answer Supervisor::onSendto(const seccomp_notif& n) {
  Endpoint to;
  if (!readEndpoint(n, n.data.args[4], n.data.args[5], &to)) return {};
  return decideSend(n, "sendto", static_cast<int>(n.data.args[0]), to);
}

bool Supervisor::controlChoosesInterface(pid_t tid, uint64_t control, uint64_t len) {
  if (control == 0 || len < sizeof(cmsghdr)) return false;
  unsigned char buf[kMaxControl];
  size_t want = std::min<uint64_t>(len, sizeof buf);
  if (!readMemory(tid, control, buf, want)) return false;
  msghdr m{};
  m.msg_control = buf;
  m.msg_controllen = want;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
      in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      if (pi.ipi_ifindex != 0) return true;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      if (pi.ipi6_ifindex != 0) return true;
    }
  }
  return false;
}

Supervisor::Answer Supervisor::onSendmsg(const seccomp_notif& n) {
  pid_t tid = static_cast<pid_t>(n.pid);
  msghdr m{};
  if (!readMemory(tid, n.data.args[1], &m, sizeof m)) return {};
  // No name: a connected socket, decided at connect.
  if (!m.msg_name || m.msg_namelen == 0) return {};
  if (decider_.trustsDeviceBinding() &&
      controlChoosesInterface(tid, reinterpret_cast<uintptr_t>(m.msg_control), m.msg_controllen))
    return {};
  Endpoint to;
  if (!readEndpoint(n, reinterpret_cast<uintptr_t>(m.msg_name), m.msg_namelen, &to)) return {};
  return decideSend(n, "sendmsg", static_cast<int>(n.data.args[0]), to);
}

Supervisor::Answer Supervisor::onSendmmsg(const seccomp_notif& n) {
  pid_t tid = static_cast<pid_t>(n.pid);
  unsigned vlen = static_cast<unsigned>(std::min<uint64_t>(n.data.args[2], kMaxMmsg));
  if (vlen == 0) return {};
  std::vector<mmsghdr> v(vlen);
  if (!readMemory(tid, n.data.args[1], v.data(), vlen * sizeof(mmsghdr))) return {};
  RemoteFd s;
  SocketInfo info;
  bool first = true;
  for (const auto& mm : v) {
    const msghdr& m = mm.msg_hdr;
    if (!m.msg_name || m.msg_namelen == 0) continue;
    Endpoint to;
    if (!readEndpoint(n, reinterpret_cast<uintptr_t>(m.msg_name), m.msg_namelen, &to)) continue;
    if (first) {
      s = pidfds_.take(tid, static_cast<int>(n.data.args[0]));
      if (!s.valid()) return untaken(n);
      if (!socketInfo(s.get(), &info)) return {};
      if (info.family != AF_INET && info.family != AF_INET6) return {};
      if (!stillValid(n.id)) return {true};
    }
    // The socket follows the first named datagram's PvD; the others are only checked for
    // refusal (one call cannot go out through two interfaces).
    Verdict verdict = decider_.destination("sendmmsg", tid, s.get(), info, to, first);
    first = false;
    if (verdict.kind == Verdict::Kind::Refuse) return fromVerdict(verdict, s.get(), info, false);
  }
  return {};
}

Supervisor::Answer Supervisor::onBind(const seccomp_notif& n) {
  pid_t tid = static_cast<pid_t>(n.pid);
  RemoteFd s = pidfds_.take(tid, static_cast<int>(n.data.args[0]));
  SocketInfo info;
  if (!s.valid()) return untaken(n);
  if (!socketInfo(s.get(), &info)) return {};
  if (info.family != AF_INET && info.family != AF_INET6) return {};
  Endpoint local;
  if (!readEndpoint(n, n.data.args[1], n.data.args[2], &local)) return {};
  if (!stillValid(n.id)) return {true};
  return fromVerdict(decider_.bind(tid, s.get(), info, local), s.get(), info, false);
}

Supervisor::Answer Supervisor::onSocket(const seccomp_notif& n) {
  int domain = static_cast<int>(n.data.args[0]);
  int type = static_cast<int>(n.data.args[1]);
  int protocol = static_cast<int>(n.data.args[2]);
  int s = decider_.createPinned(static_cast<pid_t>(n.pid), domain, type, protocol);
  Answer a;
  if (s < 0) {
    a.error = -s;
    return a;
  }
  // The program's socket() returns the descriptor we place, atomically (ADDFD + SEND):
  // it is bound to the PvD from its first instant, so its datagrams need no supervision.
  seccomp_notif_addfd add{};
  add.id = n.id;
  add.flags = SECCOMP_ADDFD_FLAG_SEND;
  add.srcfd = static_cast<uint32_t>(s);
  add.newfd_flags = (type & SOCK_CLOEXEC) ? O_CLOEXEC : 0;
  int rc = ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
  int err = errno;
  ::close(s);
  a.handled = true;
  // EMFILE and the like: the program's socket() fails as the kernel's would have.
  if (rc < 0 && err != ENOENT) {
    a.handled = false;
    a.error = err;
  }
  return a;
}

bool Supervisor::handleOne() {
  auto* req = reinterpret_cast<seccomp_notif*>(notifBuf_.data());
  std::fill(notifBuf_.begin(), notifBuf_.end(), 0);
  if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
    if (errno == EINTR) return true;  // a signal (stop(), or the thread's own)
    if (errno != ENOENT) return false;
    // ENOENT: the call vanished (its thread was killed) before we got it, or no process
    // uses the filter any more: then every receive fails at once, and looping on it would
    // spin a CPU until the main thread noticed the exit (measured: most of --enforce's
    // shutdown CPU). The listener reports that state as POLLHUP.
    pollfd pf{listener_, POLLIN, 0};
    return !(poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP) && !(pf.revents & POLLIN));
  }
  Answer a;
  switch (req->data.nr) {
    case SYS_connect:
      a = onConnect(*req);
      break;
    case SYS_sendto:
      a = onSendto(*req);
      break;
    case SYS_sendmsg:
      a = onSendmsg(*req);
      break;
    case SYS_sendmmsg:
      a = onSendmmsg(*req);
      break;
    case SYS_bind:
      a = onBind(*req);
      break;
    case SYS_socket:
      a = onSocket(*req);
      break;
    default:
      break;
  }
  if (a.handled) return true;
  return respond(req->id, a.error, a.cont, a.value);
}

bool Supervisor::respond(uint64_t id, int error, bool cont, int64_t value) {
  auto* resp = reinterpret_cast<seccomp_notif_resp*>(respBuf_.data());
  std::fill(respBuf_.begin(), respBuf_.end(), 0);
  resp->id = id;
  if (error != 0) {
    resp->error = -error;
  } else if (cont) {
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  } else {
    resp->val = value;
  }
  // ENOENT: the thread was killed while we decided; nothing to answer.
  if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, resp) != 0 && errno != ENOENT && errno != EINTR)
    return false;
  return true;
}

namespace {

constexpr int kWakeSignal = SIGUSR2;

void noop(int) {}

void* runSupervisor(void* s) {
  static_cast<Supervisor*>(s)->run();
  return nullptr;
}

}  // namespace

SupervisorThread::SupervisorThread(Supervisor& supervisor) : supervisor_(supervisor) {
  struct sigaction sa {};
  sa.sa_handler = noop;  // no SA_RESTART: the blocked receive returns EINTR
  sigaction(kWakeSignal, &sa, nullptr);
  started_ = pthread_create(&thread_, nullptr, runSupervisor, &supervisor_) == 0;
}

SupervisorThread::~SupervisorThread() {
  if (!started_) return;
  supervisor_.stop();
  // The signal may land just before the thread enters its blocking receive: repeat it
  // until the thread is gone.
  for (;;) {
    pthread_kill(thread_, kWakeSignal);
    timespec until{};
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 10'000'000;
    if (until.tv_nsec >= 1'000'000'000) {
      until.tv_sec += 1;
      until.tv_nsec -= 1'000'000'000;
    }
    if (pthread_timedjoin_np(thread_, nullptr, &until) == 0) break;
  }
}

void Supervisor::serveDns(std::unique_ptr<DnsStub> stub) {
  dns_ = std::move(stub);
  if (dns_) dns_->attach(decider_);
  decider_.useDns(dns_.get());
  held_.resolveWith(dns_.get());
}

void Supervisor::run() {
  std::vector<pollfd> fds;
  while (!stop_.load()) {
    if (held_.empty() && !dns_) {
      // Nothing held, no DNS to serve: block in the receive, as ever.
      if (!handleOne()) break;
      continue;
    }
    // Wait for a new notification, a DNS message, an attempt's outcome or a timer.
    fds.clear();
    fds.push_back({listener_, POLLIN, 0});
    if (dns_) dns_->pollSet(&fds);
    const size_t heldAt = fds.size();
    held_.pollSet(&fds);
    int timeout = held_.timeoutMs();
    const int dnsTimeout = dns_ ? dns_->timeoutMs() : -1;
    if (dnsTimeout >= 0 && (timeout < 0 || dnsTimeout < timeout)) timeout = dnsTimeout;
    int rc = poll(fds.data(), fds.size(), timeout);
    if (rc < 0 && errno != EINTR) break;
    if (rc < 0) continue;
    // The stub first: an answer it got may be what a held connect waits for.
    if (dns_) dns_->step(fds.data() + 1, heldAt - 1);
    held_.step(fds.data() + heldAt, fds.size() - heldAt);
    // POLLHUP: no process uses the filter any more; handleOne() sees it and says so.
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !handleOne()) break;
  }
  held_.abandonAll();
}

}  // namespace mif::enforce
