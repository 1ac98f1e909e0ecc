#include "enforce/held_connect.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mif/view/carry_options.h"
#include "mif/view/path_error.h"

namespace mif::enforce {

namespace {

uint64_t nowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

// The value after `key` on a line of /proc/TID/fdinfo/NUMBER, as text ("" when absent).
std::string fdinfoField(pid_t tid, int number, const char* key) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", tid, number);
  FILE* f = std::fopen(path, "re");
  if (!f) return "";
  char line[256];
  std::string out;
  const size_t kl = std::strlen(key);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, kl) == 0) {
      out = line + kl;
      break;
    }
  }
  std::fclose(f);
  return out;
}

}  // namespace

bool registeredWithEpoll(pid_t tid, int number) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/fd", tid);
  DIR* d = opendir(path);
  // Unreadable: assume the worst (no failover, today's behaviour).
  if (!d) return true;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[64];
    ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    if (std::strcmp(target, "anon_inode:[eventpoll]") != 0) continue;
    char info[sizeof e->d_name + 32];
    std::snprintf(info, sizeof info, "/proc/%d/fdinfo/%s", tid, e->d_name);
    FILE* f = std::fopen(info, "re");
    if (!f) {
      found = true;
      break;
    }
    char line[256];
    while (!found && std::fgets(line, sizeof line, f)) {
      if (std::strncmp(line, "tfd:", 4) == 0 && std::atoi(line + 4) == number) found = true;
    }
    std::fclose(f);
    if (found) break;
  }
  closedir(d);
  return found;
}

bool closeOnExec(pid_t tid, int number) {
  std::string flags = fdinfoField(tid, number, "flags:");
  return !flags.empty() && (std::strtoul(flags.c_str(), nullptr, 8) & O_CLOEXEC) != 0;
}

HeldConnects::HeldConnects(const policy::Policy& policy, const Trace& trace, int listener,
                           Answer answer, view::HealthTable& health)
    : policy_(policy),
      trace_(trace),
      health_(health),
      listener_(listener),
      answer_(std::move(answer)),
      delayMs_(policy.attemptDelayMs()) {}

HeldConnects::~HeldConnects() { abandonAll(); }

void HeldConnects::trace(const Held& h, const view::BoundPvd& pvd, const char* action,
                         int error, const Endpoint* dest) const {
  if (!trace_.enabled()) return;
  TraceRecord r;
  r.call = "connect";
  r.pid = h.tid;
  r.destination = dest ? dest : &h.dest;
  if (pvd.id < policy_.pvds().size()) r.pvd = policy_.pvds()[pvd.id].name;
  r.interface = pvd.ifname;
  r.action = action;
  r.error = error;
  trace_.write(r);
}

void HeldConnects::traceHealth(pid_t tid, const view::BoundPvd& pvd, const view::HealthChange& c,
                               const char* reason) const {
  if (!c.changed || !trace_.enabled()) return;
  std::string_view name;
  if (pvd.id < policy_.pvds().size()) name = policy_.pvds()[pvd.id].name;
  trace_.health(tid, name, c, reason);
}

void HeldConnects::tell(pid_t tid, const view::BoundPvd& pvd, int err, bool broken) {
  view::HealthEvent e;
  if (err == 0) {
    e = view::HealthEvent::Success;
  } else if (err == ETIMEDOUT) {
    e = view::HealthEvent::Timeout;
  } else if (err == ENETUNREACH || err == EHOSTUNREACH || broken) {
    e = view::HealthEvent::PathBroken;
  } else {
    return;
  }
  if (e == view::HealthEvent::Success && health_.allUsable()) return;
  const view::HealthChange c = health_.report(pvd.id, e, view::healthNowMs());
  char reason[48];
  const char* name = err != 0 ? strerrorname_np(err) : nullptr;
  std::snprintf(reason, sizeof reason, "connect %s%s", name != nullptr ? name : "succeeded",
                broken && !view::pathBroken(err) ? " (ICMP on the way)" : "");
  traceHealth(tid, pvd, c, reason);
}

void HeldConnects::lost(const Held& h, const Attempt& a) {
  const view::BoundPvd& pvd = h.pvds[a.pvd];
  traceHealth(h.tid, pvd, health_.report(pvd.id, view::HealthEvent::Timeout, view::healthNowMs()),
              "connect lost the race");
}

HeldConnects::Start HeldConnects::begin(const seccomp_notif& n, RemoteFd own,
                                        const SocketInfo& info, const sockaddr_storage& to,
                                        socklen_t len, const Endpoint& dest,
                                        std::vector<view::BoundPvd> order, int localPort,
                                        int* error) {
  const int flags = fcntl(own.get(), F_GETFL);
  if (flags < 0 || order.size() < 2) return Start::Continue;
  // A local port the program bound itself would be lost on a fresh socket: no failover.
  // The pin of a PvD with a source address read it already (its source bind, if any, takes
  // no port: IP_BIND_ADDRESS_NO_PORT).
  if (localPort < 0) {
    sockaddr_storage local{};
    socklen_t ll = sizeof local;
    if (getsockname(own.get(), reinterpret_cast<sockaddr*>(&local), &ll) != 0) return Start::Continue;
    auto bound = endpointOf(local, ll);
    if (!bound) return Start::Continue;
    localPort = bound->port;
  }
  if (localPort != 0) return Start::Continue;

  Held h;
  h.id = n.id;
  h.tid = static_cast<pid_t>(n.pid);
  h.number = static_cast<int>(n.data.args[0]);
  h.info = info;
  h.to = to;
  h.len = len;
  h.dest = dest;
  h.nonblocking = (flags & O_NONBLOCK) != 0;
  h.pvds = std::move(order);
  h.attempts.reserve(h.pvds.size());  // settle() holds a reference while startNext() adds
  // The first attempt is the program's own socket, already pinned to pvds[0]: run without
  // blocking this thread. A blocking socket is non-blocking only for the call itself (the
  // program's thread is held in its own connect meanwhile); the connect goes on.
  if (!h.nonblocking) fcntl(own.get(), F_SETFL, flags | O_NONBLOCK);
  const int rc = ::connect(own.get(), reinterpret_cast<const sockaddr*>(&to), len);
  int err = rc == 0 ? 0 : errno;
  if (!h.nonblocking) fcntl(own.get(), F_SETFL, flags);
  // A near path (a LAN, a veth) often completes the handshake during the call: answered
  // now, without a round through the poll loop.
  pollfd done{own.get(), POLLOUT, 0};
  if (err == EINPROGRESS && poll(&done, 1, 0) == 1) {
    socklen_t el = sizeof err;
    if (getsockopt(own.get(), SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = EINPROGRESS;
  }
  if (err == 0 || (err != EINPROGRESS && !view::pathBroken(err) && !view::icmpMayGive(err))) {
    // Connected at once, or refused for a reason another PvD would not change (EISCONN,
    // EALREADY, EADDRNOTAVAIL...): answered as the kernel would have. (An error an ICMP
    // message may have caused is judged by settle().)
    if (err == 0) tell(h.tid, h.pvds[0], 0, false);
    *error = err;
    return Start::Answered;
  }
  const uint64_t now = nowMs();
  h.own = std::move(own);
  h.attempts.push_back({h.own.get(), 0, now, true, 0, h.dest});
  h.lastStartMs = now;
  held_.push_back(std::move(h));
  Held& held = held_.back();
  if (err != EINPROGRESS) {
    settle(held, held.attempts[0], err, now);
    if (held.done) held_.pop_back();
  }
  return Start::Held;
}

bool HeldConnects::startNext(Held& h, uint64_t now) {
  while (!h.stopStarting && h.started < h.pvds.size()) {
    if (!h.epollChecked) {
      h.epollChecked = true;
      // A number the program registered with epoll before its connect cannot be given
      // another socket: the connect stays on the program's own socket, as without failover.
      if (registeredWithEpoll(h.tid, h.number)) {
        h.stopStarting = true;
        trace(h, h.pvds[0], "no-failover-epoll", 0);
        return false;
      }
    }
    if (h.protocol < 0) {
      // Read only when a fresh socket is made: a connect whose first PvD works never asks.
      int protocol = 0;
      socklen_t pl = sizeof protocol;
      if (getsockopt(h.own.get(), SOL_SOCKET, SO_PROTOCOL, &protocol, &pl) != 0) {
        h.stopStarting = true;
        return false;
      }
      h.protocol = protocol;
    }
    const view::BoundPvd& pvd = h.pvds[h.started];
    // The destination: the program's address, or, when it was one PvD's DNS answer for a
    // name, this PvD's own answer for that name (the library's rule, failover.cpp).
    sockaddr_storage to = h.to;
    socklen_t len = h.len;
    Endpoint dest = h.dest;
    if (dns_ && !h.sourceLooked) {
      h.sourceLooked = true;
      h.source = dns_->sourceOf(h.dest.address, h.pvds[0].id);
    }
    h.waitingDns = false;
    if (h.source && h.source->pvd != pvd.id) {
      policy::IpAddress answer;
      const auto known = dns_->resolve(pvd.id, h.source->name, h.dest.address.family, &answer);
      if (known == DnsMemory::Known::Unknown) {
        // Asked of this PvD now: step() comes back when the stub has its answer.
        h.waitingDns = true;
        return true;
      }
      if (known == DnsMemory::Known::NoAddress ||
          (len = toSockaddr(answer, h.dest.port, h.info.family, &to)) == 0) {
        ++h.started;
        trace(h, pvd, "skipped-no-answer", 0);
        continue;
      }
      dest.address = answer;
      dest.mapped = h.info.family == AF_INET6 && answer.family == policy::Family::V4;
    }
    const size_t index = h.started++;
    const int fresh = ::socket(h.info.family, h.info.type | SOCK_NONBLOCK | SOCK_CLOEXEC, h.protocol);
    if (fresh < 0) continue;
    view::carryOptions(h.own.get(), fresh, h.info.family);
    SocketInfo fi{h.info.family, h.info.type, 0};
    if (pinSocket(fresh, fi, pvd, h.dest.address.family, false) != 0) {
      ::close(fresh);
      continue;
    }
    trace(h, pvd, "failover", 0, &dest);
    h.lastStartMs = now;
    const int rc = ::connect(fresh, reinterpret_cast<const sockaddr*>(&to), len);
    h.attempts.push_back({fresh, index, now, true, 0, dest});
    if (rc != 0 && errno == EINPROGRESS) return true;
    settle(h, h.attempts.back(), rc == 0 ? 0 : errno, now);
    return true;
  }
  return false;
}

void HeldConnects::settle(Held& h, Attempt& a, int err, uint64_t now) {
  if (h.done) return;
  if (err == 0) {
    tell(h.tid, h.pvds[a.pvd], 0, false);
    finish(h, &a, 0, 0);
    return;
  }
  a.live = false;
  a.error = err;
  if (h.firstError == 0) h.firstError = err;
  // Before the close: the classification reads the socket (TCP_INFO, error queue).
  const bool broken = view::pathBrokenOn(a.fd, err);
  trace(h, h.pvds[a.pvd], broken ? "attempt-path-broken" : "attempt-failed", err, &a.dest);
  tell(h.tid, h.pvds[a.pvd], err, broken);
  if (a.pvd != 0) {
    ::close(a.fd);
    a.fd = -1;
  }
  // The server's own answer (its RST) is the same through every PvD.
  if (!broken) h.stopStarting = true;
  if (broken) startNext(h, now);
  finishIfOver(h);
}

void HeldConnects::finishIfOver(Held& h) {
  if (h.done) return;
  if (h.stopStarting) h.waitingDns = false;
  bool live = std::any_of(h.attempts.begin(), h.attempts.end(), [](const Attempt& x) { return x.live; });
  if (!live && !h.waitingDns && (h.stopStarting || h.started >= h.pvds.size()))
    finish(h, nullptr, h.attempts[0].error != 0 ? h.attempts[0].error : h.firstError, 0);
}

bool HeldConnects::install(Held& h, const Attempt& a) {
  if (!h.nonblocking) {
    const int fl = fcntl(a.fd, F_GETFL);
    if (fl < 0 || fcntl(a.fd, F_SETFL, fl & ~O_NONBLOCK) != 0) return false;
  }
  seccomp_notif_addfd add{};
  add.id = h.id;
  add.flags = SECCOMP_ADDFD_FLAG_SETFD;
  add.srcfd = static_cast<uint32_t>(a.fd);
  add.newfd = static_cast<uint32_t>(h.number);
  add.newfd_flags = closeOnExec(h.tid, h.number) ? O_CLOEXEC : 0;
  return ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &add) >= 0;
}

void HeldConnects::finish(Held& h, const Attempt* winner, int error, int64_t value) {
  if (h.done) return;
  h.done = true;
  if (winner && winner->pvd != 0 && error == 0) {
    // Those still trying when another PvD connected lost by timing out (degraded).
    for (const Attempt& a : h.attempts)
      if (a.live && &a != winner) lost(h, a);
  }
  if (winner && winner->pvd != 0) {
    if (install(h, *winner)) {
      trace(h, h.pvds[winner->pvd], error == 0 ? "failed-over" : "failed-over-pending", error,
            &winner->dest);
    } else {
      // The program's number keeps its own socket (failed, or still trying): its error.
      error = h.attempts[0].error != 0 ? h.attempts[0].error : (h.nonblocking ? EINPROGRESS : ETIMEDOUT);
    }
  }
  for (Attempt& a : h.attempts) {
    if (a.pvd != 0 && a.fd >= 0) ::close(a.fd);
    a.fd = -1;
    a.live = false;
  }
  answer_(h.id, error, value);
}

void HeldConnects::pollSet(std::vector<pollfd>* fds) const {
  polled_.clear();
  for (const Held& h : held_) {
    for (size_t i = 0; i < h.attempts.size(); ++i) {
      if (!h.attempts[i].live) continue;
      fds->push_back({h.attempts[i].fd, POLLOUT, 0});
      polled_.push_back({const_cast<Held*>(&h), i});
    }
  }
}

// When the next timer of a held connect falls due: the start of its next PvD's attempt,
// or (non-blocking) the end of its hold.
int HeldConnects::timeoutMs() const {
  const uint64_t now = nowMs();
  int64_t best = -1;
  for (const Held& h : held_) {
    // Waiting for a PvD's answer: the stub's reply (or its timeout) wakes the loop.
    if (h.waitingDns) continue;
    const bool more = !h.stopStarting && h.started < h.pvds.size();
    if (!more && !h.nonblocking) continue;
    const uint64_t due = h.lastStartMs + delayMs_;
    const int64_t left = due > now ? static_cast<int64_t>(due - now) : 0;
    if (best < 0 || left < best) best = left;
  }
  return static_cast<int>(best);
}

void HeldConnects::step(const pollfd* fds, size_t count) {
  const uint64_t now = nowMs();
  for (size_t i = 0; i < count && i < polled_.size(); ++i) {
    if (fds[i].revents == 0) continue;
    Held& h = *polled_[i].first;
    Attempt& a = h.attempts[polled_[i].second];
    if (h.done || !a.live) continue;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    settle(h, a, err, now);
  }
  polled_.clear();
  for (Held& h : held_) {
    if (h.done) continue;
    // The program's thread died (a fatal signal): nothing to answer, its attempts end.
    if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_ID_VALID, &h.id) != 0) {
      finish(h, nullptr, EINTR, 0);
      continue;
    }
    if (h.waitingDns && !h.stopStarting) {
      // The next PvD's answer was being asked: known now, or still under way.
      startNext(h, now);
      finishIfOver(h);
      continue;
    }
    if (now < h.lastStartMs + delayMs_) continue;
    if (!h.stopStarting && h.started < h.pvds.size()) {
      // No answer within the attempt delay: the next PvD races the attempts still running.
      startNext(h, now);
      continue;
    }
    if (!h.nonblocking) continue;  // a blocking connect waits for its attempts to end
    // The hold ends: the program's own socket stays when it still runs, else the latest
    // live attempt takes the number; the program waits for it as for any EINPROGRESS.
    const Attempt* keep = nullptr;
    for (const Attempt& a : h.attempts)
      if (a.live && (!keep || keep->pvd != 0)) keep = &a;
    if (keep && keep->pvd == 0) keep = nullptr;  // nothing to install
    const bool anyLive = std::any_of(h.attempts.begin(), h.attempts.end(),
                                     [](const Attempt& x) { return x.live; });
    finish(h, keep, anyLive ? EINPROGRESS : h.firstError, 0);
  }
  held_.remove_if([](const Held& h) { return h.done; });
}

void HeldConnects::abandonAll() {
  for (Held& h : held_) finish(h, nullptr, h.firstError != 0 ? h.firstError : EINTR, 0);
  held_.clear();
}

}  // namespace mif::enforce
