#include "enforce/dns_stub.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "enforce/decider.h"
#include "mif/dns/wire.h"

namespace mif::enforce {

namespace {

namespace wire = dns::wire;

uint64_t nowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

bool sameName(const std::string& a, const std::string& b) {
  return wire::normalise(a) == wire::normalise(b);
}

// The PvD's port-53 servers (the only port a resolv.conf can name).
std::vector<const view::DnsServer*> serversOf(const view::BoundPvd& p) {
  std::vector<const view::DnsServer*> out;
  for (const auto& s : p.dns)
    if (s.port == 53 && p.state.usable(s.addr.family)) out.push_back(&s);
  return out;
}

int closeFd(int fd) {
  if (fd >= 0) ::close(fd);
  return -1;
}

// A socket of `type` pinned to `pvd` and connected (or connecting) to `server`:53.
int pinnedSocket(const view::BoundPvd& pvd, const view::DnsServer& server, int type) {
  const int family = server.addr.family == policy::Family::V4 ? AF_INET : AF_INET6;
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  SocketInfo info{family, type, 0};
  sockaddr_storage ss;
  socklen_t len = toSockaddr(server.addr, server.port, family, &ss);
  // Never sent unpinned: a socket that cannot be bound to the PvD's interface is closed.
  if (len == 0 || pinSocket(fd, info, pvd, server.addr.family, false) != 0 ||
      (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS))
    return closeFd(fd);
  return fd;
}

}  // namespace

std::unique_ptr<DnsStub> DnsStub::open(std::vector<policy::PvdId> pvds) {
  std::unique_ptr<DnsStub> s(new DnsStub());
  s->pvds_ = std::move(pvds);
  const unsigned pid = static_cast<unsigned>(getpid());
  int err = EADDRINUSE;
  // 127.53.X.Y: X.Y from the process id, so concurrent runs differ; a few more if taken.
  for (unsigned i = 0; i < 8 && err == EADDRINUSE; ++i) {
    const unsigned n = (pid + i * 7919) & 0xffff;
    policy::IpAddress a;
    a.family = policy::Family::V4;
    a.bytes[0] = 127;
    a.bytes[1] = 53;
    a.bytes[2] = static_cast<uint8_t>(n >> 8);
    a.bytes[3] = static_cast<uint8_t>(n);
    sockaddr_storage ss;
    socklen_t len = toSockaddr(a, 53, AF_INET, &ss);
    int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (tcp >= 0) setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (udp >= 0 && tcp >= 0 && ::bind(udp, reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
        ::bind(tcp, reinterpret_cast<sockaddr*>(&ss), len) == 0 && ::listen(tcp, 16) == 0) {
      s->udp_ = udp;
      s->tcp_ = tcp;
      s->address_ = a;
      s->buf_.resize(65536);
      return s;
    }
    err = errno;
    closeFd(udp);
    closeFd(tcp);
  }
  errno = err;
  return nullptr;
}

DnsStub::~DnsStub() {
  for (Query& q : queries_)
    for (Upstream& u : q.ups) u.fd = closeFd(u.fd);
  for (Relay& r : relays_) closeRelay(r);
  closeFd(udp_);
  closeFd(tcp_);
}

// The resolver PvDs, a failed one in its back-off last (the library's planWith).
std::vector<policy::PvdId> DnsStub::order(uint64_t now) const {
  std::vector<policy::PvdId> out = pvds_;
  if (decider_) {
    const view::HealthTable& h = decider_->health();
    std::stable_partition(out.begin(), out.end(), [&](policy::PvdId p) { return !h.avoid(p, now); });
  }
  return out;
}

bool DnsStub::send(Query& q, Upstream& u, uint64_t now) {
  u.fd = closeFd(u.fd);
  const view::SnapshotRef snap = decider_->view().current();
  if (u.pvd >= snap->pvds.size()) return false;
  const view::BoundPvd& pvd = snap->pvds[u.pvd];
  const auto servers = serversOf(pvd);
  for (; u.server < servers.size(); ++u.server) {
    int fd = pinnedSocket(pvd, *servers[u.server], SOCK_DGRAM);
    if (fd < 0) continue;
    u.id = wire::randomId();
    q.msg[0] = static_cast<uint8_t>(u.id >> 8);
    q.msg[1] = static_cast<uint8_t>(u.id);
    if (::send(fd, q.msg.data(), q.msg.size(), 0) != static_cast<ssize_t>(q.msg.size())) {
      closeFd(fd);
      continue;
    }
    u.fd = fd;
    u.deadlineMs = now + kServerTimeoutMs;
    return true;
  }
  return false;
}

void DnsStub::giveUp(Query& q, Upstream& u, uint64_t now) {
  u.done = true;
  u.fd = closeFd(u.fd);
  // What the failover needs to know: this PvD gave no address (NXDOMAIN and NODATA are
  // recorded with the answer itself).
  if (!u.good && q.cls == 1) memory_.record(u.pvd, q.name, q.type, {}, 0, now);
}

void DnsStub::finishUpstream(Query& q, Upstream& u, uint64_t now) {
  giveUp(q, u, now);
  if (!u.good) {
    askNext(q, now);
  } else if (q.fromProgram && !q.replied) {
    answerProgram(q);
  }
}

void DnsStub::askNext(Query& q, uint64_t now) {
  for (Upstream& u : q.ups) {
    if (u.done) {
      if (u.good) break;
      continue;
    }
    if (u.started) return;  // under way
    u.started = true;
    if (send(q, u, now)) return;
    giveUp(q, u, now);
  }
  if (q.fromProgram && !q.replied) answerProgram(q);
}

void DnsStub::receive(Query& q, Upstream& u, uint64_t now) {
  for (;;) {
    ssize_t n = ::recv(u.fd, buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      // ICMP unreachable from the server or on the way: this server has failed.
      ++u.server;
      if (!send(q, u, now)) finishUpstream(q, u, now);
      return;
    }
    std::span<const uint8_t> msg(buf_.data(), static_cast<size_t>(n));
    // What it is and what it teaches the memory: dns_message.h (fuzzed apart from sockets).
    const ReplyUse use = upstreamReply(msg, u.id, q.name, q.type, q.cls, u.pvd, memory_, now);
    if (use == ReplyUse::Ignore) continue;
    u.reply.assign(msg.begin(), msg.end());
    u.good = use == ReplyUse::Conclusive;
    if (!u.good) {
      // SERVFAIL and the like: the PvD's next server, as the program's resolver would
      // (send() finds none left when there is none).
      ++u.server;
      if (send(q, u, now)) return;
    }
    // The reply stays only while it may still be sent to the program.
    if (!q.fromProgram || q.replied) u.reply.clear();
    u.reply.shrink_to_fit();
    finishUpstream(q, u, now);
    return;
  }
}

void DnsStub::answerProgram(Query& q) {
  std::vector<UpstreamState> states;
  states.reserve(q.ups.size());
  for (const Upstream& u : q.ups) states.push_back({u.done, u.good, !u.reply.empty()});
  const size_t chosen = pickAnswer(states);
  if (chosen == kAnswerWait) return;
  q.replied = true;
  if (chosen != kAnswerNone) {
    std::vector<uint8_t> out = q.ups[chosen].reply;
    out[0] = q.clientId[0];
    out[1] = q.clientId[1];
    ::sendto(udp_, out.data(), out.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&q.client),
             q.clientLen);
  }
  for (Upstream& u : q.ups) {
    u.reply.clear();
    u.reply.shrink_to_fit();
  }
}

void DnsStub::fromProgram(uint64_t now) {
  for (int i = 0; i < 64; ++i) {
    Query q;
    q.clientLen = sizeof q.client;
    ssize_t n = ::recvfrom(udp_, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&q.client),
                           &q.clientLen);
    if (n < 0) return;
    std::span<const uint8_t> msg(buf_.data(), static_cast<size_t>(n));
    // Not a query, or no question to match the answers by: dropped.
    if (!programQuery(msg, &q.name, &q.type, &q.cls)) continue;
    // Full: dropped, the program asks again.
    if (queries_.size() >= kMaxQueries) continue;
    q.fromProgram = true;
    q.clientId[0] = msg[0];
    q.clientId[1] = msg[1];
    q.msg.assign(msg.begin(), msg.end());
    for (policy::PvdId p : order(now)) {
      Upstream u;
      u.pvd = p;
      q.ups.push_back(std::move(u));
    }
    queries_.push_back(std::move(q));
    askNext(queries_.back(), now);
  }
}

std::optional<DnsMemory::Source> DnsStub::sourceOf(const policy::IpAddress& address,
                                                   policy::PvdId prefer) const {
  return memory_.sourceOf(address, prefer, nowMs());
}

DnsMemory::Known DnsStub::resolve(policy::PvdId pvd, const std::string& name, policy::Family family,
                                  policy::IpAddress* out) {
  const uint64_t now = nowMs();
  DnsMemory::Known k = memory_.answer(pvd, name, family, now, out);
  if (k != DnsMemory::Known::Unknown) return k;
  const uint16_t type = family == policy::Family::V4 ? wire::kTypeA : wire::kTypeAaaa;
  for (const Query& q : queries_) {
    if (q.type != type || q.cls != 1 || !sameName(q.name, name)) continue;
    for (const Upstream& u : q.ups)
      if (u.pvd == pvd && u.started && !u.done) return k;  // under way
  }
  Query q;
  q.name = name;
  q.type = type;
  q.cls = 1;
  q.msg = wire::buildQuery(name, type, 0);
  Upstream u;
  u.pvd = pvd;
  q.ups.push_back(std::move(u));
  if (queries_.size() >= kMaxQueries || q.msg.empty()) {
    memory_.record(pvd, name, type, {}, 0, now);
    return DnsMemory::Known::NoAddress;
  }
  queries_.push_back(std::move(q));
  Query& held = queries_.back();
  askNext(held, now);
  return memory_.answer(pvd, name, family, now, out);
}

void DnsStub::closeRelay(Relay& r) {
  r.client = closeFd(r.client);
  r.up = closeFd(r.up);
}

// The relay's upstream: the next PvD in its order with a server it can connect to.
bool DnsStub::connectRelay(Relay& r) {
  r.up = closeFd(r.up);
  r.connected = false;
  const view::SnapshotRef snap = decider_->view().current();
  while (r.next < r.order.size()) {
    const policy::PvdId p = r.order[r.next++];
    if (p >= snap->pvds.size()) continue;
    const auto servers = serversOf(snap->pvds[p]);
    if (servers.empty()) continue;
    r.up = pinnedSocket(snap->pvds[p], *servers[0], SOCK_STREAM);
    if (r.up >= 0) return true;
  }
  return false;
}

void DnsStub::accept(uint64_t now) {
  for (;;) {
    int c = ::accept4(tcp_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    if (relays_.size() >= kMaxRelays) {
      ::close(c);
      continue;
    }
    Relay r;
    r.client = c;
    r.order = order(now);
    r.deadlineMs = now + kRelayTimeoutMs;
    if (!connectRelay(r)) {
      closeRelay(r);
      continue;
    }
    relays_.push_back(std::move(r));
  }
}

// One relay's turn: false when it has ended (closed).
bool DnsStub::stepRelay(Relay& r, const pollfd* client, const pollfd* up) {
  constexpr size_t kCap = 65536 + 2;  // one DNS message over TCP
  if (!r.connected && up && up->revents) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(r.up, SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
    if (err != 0) {
      // This PvD's server cannot be reached: the next PvD's, before any byte went out.
      if (!connectRelay(r)) return false;
      return true;
    }
    r.connected = true;
  }
  auto pump = [&](int from, std::vector<uint8_t>& buf, bool& eof) {
    while (!eof && buf.size() < kCap) {
      uint8_t tmp[4096];
      ssize_t n = ::recv(from, tmp, std::min(sizeof tmp, kCap - buf.size()), 0);
      if (n > 0) {
        buf.insert(buf.end(), tmp, tmp + n);
      } else if (n == 0) {
        eof = true;
      } else {
        if (errno != EAGAIN && errno != EINTR) eof = true;
        return;
      }
    }
  };
  auto flush = [&](int to, std::vector<uint8_t>& buf) {
    while (!buf.empty()) {
      ssize_t n = ::send(to, buf.data(), buf.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
      buf.erase(buf.begin(), buf.begin() + n);
    }
    return true;
  };
  if (client && client->revents) pump(r.client, r.toUp, r.clientEof);
  if (r.connected && up && up->revents) pump(r.up, r.toClient, r.upEof);
  if (r.connected && !flush(r.up, r.toUp)) return false;
  if (!flush(r.client, r.toClient)) return false;
  if (r.connected && r.clientEof && r.toUp.empty()) shutdown(r.up, SHUT_WR);
  if (r.upEof && r.toClient.empty()) return false;
  if (r.clientEof && r.upEof) return false;
  return true;
}

void DnsStub::pollSet(std::vector<pollfd>* fds) {
  polled_.clear();
  fds->push_back({udp_, POLLIN, 0});
  polled_.push_back({Polled::Kind::Udp});
  if (relays_.size() < kMaxRelays) {
    fds->push_back({tcp_, POLLIN, 0});
    polled_.push_back({Polled::Kind::Listener});
  }
  for (Query& q : queries_) {
    for (size_t i = 0; i < q.ups.size(); ++i) {
      if (q.ups[i].fd < 0) continue;
      fds->push_back({q.ups[i].fd, POLLIN, 0});
      polled_.push_back({Polled::Kind::Upstream, &q, i});
    }
  }
  for (Relay& r : relays_) {
    short ce = static_cast<short>((r.clientEof ? 0 : POLLIN) | (r.toClient.empty() ? 0 : POLLOUT));
    fds->push_back({r.client, ce, 0});
    polled_.push_back({Polled::Kind::RelayClient, nullptr, 0, &r});
    short ue = r.connected ? static_cast<short>((r.upEof ? 0 : POLLIN) | (r.toUp.empty() ? 0 : POLLOUT))
                           : static_cast<short>(POLLOUT);
    fds->push_back({r.up, ue, 0});
    polled_.push_back({Polled::Kind::RelayUp, nullptr, 0, &r});
  }
}

int DnsStub::timeoutMs() const {
  const uint64_t now = nowMs();
  int64_t best = -1;
  auto consider = [&](uint64_t due) {
    const int64_t left = due > now ? static_cast<int64_t>(due - now) : 0;
    if (best < 0 || left < best) best = left;
  };
  for (const Query& q : queries_)
    for (const Upstream& u : q.ups)
      if (!u.done && u.fd >= 0) consider(u.deadlineMs);
  for (const Relay& r : relays_) consider(r.deadlineMs);
  return static_cast<int>(best);
}

void DnsStub::step(const pollfd* fds, size_t count) {
  const uint64_t now = nowMs();
  bool program = false, listener = false;
  for (size_t i = 0; i < count && i < polled_.size(); ++i) {
    const Polled& p = polled_[i];
    switch (p.kind) {
      case Polled::Kind::Udp:
        program = fds[i].revents != 0;
        break;
      case Polled::Kind::Listener:
        listener = fds[i].revents != 0;
        break;
      case Polled::Kind::Upstream: {
        Upstream& u = p.query->ups[p.up];
        if (fds[i].revents && !u.done && u.fd == fds[i].fd) receive(*p.query, u, now);
        break;
      }
      case Polled::Kind::RelayClient:
      case Polled::Kind::RelayUp:
        break;
    }
  }
  // Relays: their two descriptors' events together.
  for (Relay& r : relays_) {
    const pollfd* c = nullptr;
    const pollfd* u = nullptr;
    for (size_t i = 0; i < count && i < polled_.size(); ++i) {
      if (polled_[i].relay != &r) continue;
      (polled_[i].kind == Polled::Kind::RelayClient ? c : u) = &fds[i];
    }
    bool alive = (c || u) ? stepRelay(r, c, u) : true;
    if (!alive || now >= r.deadlineMs) closeRelay(r);
  }
  relays_.remove_if([](const Relay& r) { return r.client < 0; });
  polled_.clear();
  // Deadlines: a server that did not answer in time passes to the PvD's next.
  for (Query& q : queries_) {
    for (Upstream& u : q.ups) {
      if (u.done || u.fd < 0 || now < u.deadlineMs) continue;
      ++u.server;
      if (!send(q, u, now)) finishUpstream(q, u, now);
    }
  }
  // Over when nothing is under way: every PvD asked has finished, and those not asked
  // never will be (one before them answered).
  queries_.remove_if([](const Query& q) {
    return std::all_of(q.ups.begin(), q.ups.end(), [](const Upstream& u) { return u.done || !u.started; });
  });
  if (program) fromProgram(now);
  if (listener) accept(now);
}

}  // namespace mif::enforce
