#include "probe/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>


namespace mif::probe {
namespace {

using Clock = std::chrono::steady_clock;
using policy::Family;
constexpr std::chrono::milliseconds kSpacing{100};  // between attempts of one check

}  // namespace

socklen_t toSockaddr(const policy::IpAddress& a, uint16_t port, sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof *ss);
  if (a.family == Family::V4) {
    auto* s = reinterpret_cast<sockaddr_in*>(ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    std::memcpy(&s->sin_addr, a.bytes.data(), 4);
    return sizeof *s;
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(ss);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(port);
  std::memcpy(&s->sin6_addr, a.bytes.data(), 16);
  return sizeof *s;
}

int openThrough(const view::BoundPvd& p, Family f, int type) {
  const int domain = f == Family::V4 ? AF_INET : AF_INET6;
  int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  bool ok = ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, p.ifname.c_str(),
                         static_cast<socklen_t>(p.ifname.size())) == 0;
  const bool hasSource = f == Family::V4 ? p.hasSource4 : p.hasSource6;
  if (ok && hasSource) {
    int one = 1;
    if (type == SOCK_STREAM) ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_storage ss;
    socklen_t len = toSockaddr(f == Family::V4 ? p.source4 : p.source6, 0, &ss);
    ok = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  }
  if (!ok) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

namespace {

// ". IN NS" with recursion desired: every server answers it somehow, and any answer with
// our id proves the server is reachable through the PvD.
size_t buildQuery(uint16_t id, uint8_t* buf) {
  const uint8_t q[17] = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00,
                         0, 1, 0, 0, 0, 0, 0, 0,  // one question
                         0, 0, 2, 0, 1};          // root, type NS, class IN
  std::memcpy(buf, q, sizeof q);
  return sizeof q;
}

struct Attempt {
  size_t result = 0, check = 0;
  Clock::time_point due;       // when it is to be started
  Clock::time_point sent, deadline;
  int fd = -1;
  uint16_t id = 0;             // DNS query id
  bool started = false, done = false;
};

class Runner {
 public:
  Runner(std::vector<Result>& results, const std::vector<const view::BoundPvd*>& pvds,
         std::chrono::milliseconds timeout)
      : results_(results), pvds_(pvds), timeout_(timeout) {}

  void add(size_t result, size_t check, Clock::time_point due) {
    Attempt a;
    a.result = result;
    a.check = check;
    a.due = due;
    attempts_.push_back(a);
  }

  void loop() {
    while (true) {
      Clock::time_point now = Clock::now();
      Clock::time_point next = Clock::time_point::max();
      std::vector<pollfd> fds;
      std::vector<Attempt*> polled;
      for (auto& a : attempts_) {
        if (a.done) continue;
        if (!a.started && a.due <= now) start(a, now);
        if (!a.done && a.started && a.deadline <= now) finish(a, false, "timeout");
        if (a.done) continue;
        next = std::min(next, a.started ? a.deadline : a.due);
        if (a.started) {
          short events = kind(a) == Check::Kind::Dns ? POLLIN : POLLOUT;
          fds.push_back(pollfd{a.fd, events, 0});
          polled.push_back(&a);
        }
      }
      if (next == Clock::time_point::max()) return;
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now());
      int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(0, wait.count())));
      if (n <= 0) continue;
      for (size_t k = 0; k < fds.size(); ++k)
        if (fds[k].revents != 0) ready(*polled[k]);
    }
  }

 private:
  Check& check(const Attempt& a) { return results_[a.result].checks[a.check]; }
  Check::Kind kind(const Attempt& a) { return check(a).kind; }

  void start(Attempt& a, Clock::time_point now) {
    a.started = true;
    a.sent = now;
    a.deadline = now + timeout_;
    const Check& c = check(a);
    const bool dns = c.kind == Check::Kind::Dns;
    a.fd = openThrough(*pvds_[a.result], c.to.addr.family, dns ? SOCK_DGRAM : SOCK_STREAM);
    if (a.fd < 0) return finish(a, false, std::strerror(errno));
    sockaddr_storage ss;
    socklen_t len = toSockaddr(c.to.addr, c.to.port, &ss);
    int rc = ::connect(a.fd, reinterpret_cast<sockaddr*>(&ss), len);
    if (dns) {
      if (rc != 0) return finish(a, false, std::strerror(errno));
      if (::getrandom(&a.id, sizeof a.id, 0) != sizeof a.id) a.id = static_cast<uint16_t>(a.fd * 7919);
      uint8_t q[32];
      size_t n = buildQuery(a.id, q);
      if (::send(a.fd, q, n, 0) < 0) return finish(a, false, std::strerror(errno));
    } else if (rc == 0) {
      finish(a, true, "");
    } else if (errno != EINPROGRESS) {
      finish(a, errno == ECONNREFUSED, std::strerror(errno));
    }
  }

  void ready(Attempt& a) {
    if (a.done) return;
    if (kind(a) == Check::Kind::Tcp) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      // A refusal came back through the PvD too: the path works.
      return finish(a, err == 0 || err == ECONNREFUSED, err ? std::strerror(err) : "");
    }
    uint8_t buf[512];
    while (true) {
      ssize_t n = ::recv(a.fd, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        return finish(a, false, std::strerror(errno));  // e.g. port unreachable: no server
      }
      const bool answer = n >= 12 && ((buf[0] << 8) | buf[1]) == a.id && (buf[2] & 0x80) != 0;
      if (answer) return finish(a, true, "");
    }
  }

  void finish(Attempt& a, bool ok, const std::string& error) {
    a.done = true;
    if (a.fd >= 0) ::close(a.fd);
    a.fd = -1;
    Check& c = check(a);
    ++c.attempts;
    if (ok) {
      ++c.successes;
      c.rttMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a.sent).count());
    } else {
      c.lastError = error;
    }
  }

  std::vector<Result>& results_;
  const std::vector<const view::BoundPvd*>& pvds_;
  std::chrono::milliseconds timeout_;
  std::vector<Attempt> attempts_;
};

std::optional<double> median(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

void judge(Result& r) {
  std::vector<double> rtts;
  for (auto& c : r.checks) {
    c.medianRttMs = median(c.rttMs);
    r.attempts += c.attempts;
    r.successes += c.successes;
    rtts.insert(rtts.end(), c.rttMs.begin(), c.rttMs.end());
  }
  r.medianRttMs = median(std::move(rtts));
  if (r.attempts == 0) return;  // verdict and why set before probing
  const int lost = r.attempts - r.successes;
  r.lossPercent = 100.0 * lost / r.attempts;
  r.verdict = r.successes == 0                  ? Verdict::Down
              : r.lossPercent >= kPoorLossPercent ? Verdict::Poor
                                                  : Verdict::Ok;
  if (lost > 0)
    r.why = std::to_string(lost) + "/" + std::to_string(r.attempts) + " probes lost";
}

}  // namespace

const char* verdictName(Verdict v) {
  switch (v) {
    case Verdict::Ok:
      return "ok";
    case Verdict::Poor:
      return "poor";
    case Verdict::Down:
      return "down";
    case Verdict::Unknown:
      return "unknown";
  }
  return "unknown";
}

std::vector<Result> run(const policy::Policy& policy, const view::Snapshot& snap,
                        std::span<const policy::PvdId> ids, const Options& opts) {
  std::vector<Result> results(ids.size());
  std::vector<const view::BoundPvd*> bound(ids.size(), nullptr);
  Runner runner(results, bound, opts.timeout);
  const Clock::time_point t0 = Clock::now();
  for (size_t k = 0; k < ids.size(); ++k) {
    Result& r = results[k];
    const policy::PvdDef& def = policy.pvds()[ids[k]];
    r.id = ids[k];
    r.name = def.name;
    const view::BoundPvd* p = ids[k] < snap.pvds.size() ? &snap.pvds[ids[k]] : nullptr;
    const view::Interface* ifc = p ? snap.interfaceByIndex(p->ifindex) : nullptr;
    r.verdict = Verdict::Down;
    if (!p || !ifc) {
      r.why = "no interface matches '" + def.interfaceGlob + "'";
      continue;
    }
    r.interface = ifc->name;
    if (!ifc->linkUsable()) {
      r.why = "link " + ifc->name + " is down";
      continue;
    }
    if (!p->state.anyUsable()) {
      r.why = "no usable address on " + ifc->name;
      continue;
    }
    bound[k] = p;
    auto add = [&](Check::Kind kind, const Endpoint& to) {
      if (!p->state.usable(to.addr.family)) return;
      Check c;
      c.kind = kind;
      c.to = to;
      r.checks.push_back(c);
    };
    const std::vector<Endpoint>& targets = opts.targetsFor.size() == ids.size() ? opts.targetsFor[k] : opts.targets;
    if (opts.dnsQueries || targets.empty())
      for (const auto& s : p->dns) add(Check::Kind::Dns, Endpoint{s.addr, s.port});
    if (targets.empty()) {
      for (const auto& s : p->dns) add(Check::Kind::Tcp, Endpoint{s.addr, s.port});
    } else {
      for (const auto& t : targets) add(Check::Kind::Tcp, t);
    }
    if (r.checks.empty()) {
      r.verdict = Verdict::Unknown;
      r.why = p->dns.empty() && targets.empty()
                  ? "nothing to probe: no DNS server and no target"
                  : "nothing to probe: no DNS server or target of a family it has";
      continue;
    }
    for (size_t c = 0; c < r.checks.size(); ++c)
      for (int n = 0; n < opts.count; ++n) runner.add(k, c, t0 + n * kSpacing);
  }
  runner.loop();
  for (auto& r : results) judge(r);
  return results;
}

}  // namespace mif::probe
