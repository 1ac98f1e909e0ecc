#include "channel.h"

#include "mif/sys/calls.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace mif::dns {

struct Channel::State {
  ares_channel channel = nullptr;
  ChannelConfig cfg;
  std::vector<Sock> socks;
  pid_t pid = 0;
  bool broken = false;  // a descriptor was taken from under us
};

namespace {

// Raw system calls (mif/sys/calls.h): the library's own hooks on connect/sendmsg must
// never see the resolver's sockets, and no decision is taken on them.
long sysSocket(int d, int t, int p) { return sys::raw::socket(d, t, p); }
long sysConnect(int fd, const sockaddr* a, socklen_t l) { return sys::raw::connect(fd, a, l); }
long sysBind(int fd, const sockaddr* a, socklen_t l) { return sys::raw::bind(fd, a, l); }
long sysClose(int fd) { return sys::raw::close(fd); }
long sysSetsockopt(int fd, int level, int name, const void* v, socklen_t l) {
  return sys::raw::setsockopt(fd, level, name, v, l);
}

bool sameFile(const Channel::Sock& s) {
  struct stat st {};
  return fstat(s.fd, &st) == 0 && st.st_dev == s.dev && st.st_ino == s.ino;
}

ares_socket_t aSocket(int domain, int type, int protocol, void* user) {
  auto* st = static_cast<Channel::State*>(user);
  int fd = int(sysSocket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (fd < 0) return ARES_SOCKET_BAD;
  const ChannelConfig& c = st->cfg;
  if (!c.ifname.empty() && sysSetsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c.ifname.c_str(),
                                         socklen_t(c.ifname.size())) != 0) {
    // Never let a PvD's query leave through another interface: no socket at all is the
    // right failure (c-ares then tries the next server, then gives up).
    sysClose(fd);
    return ARES_SOCKET_BAD;
  }
  if (domain == AF_INET && c.hasSource4) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    std::memcpy(&sa.sin_addr, c.source4.bytes.data(), 4);
    if (sysBind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      sysClose(fd);
      return ARES_SOCKET_BAD;
    }
  } else if (domain == AF_INET6 && c.hasSource6) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    std::memcpy(&sa.sin6_addr, c.source6.bytes.data(), 16);
    if (IN6_IS_ADDR_LINKLOCAL(&sa.sin6_addr) && !c.ifname.empty())
      sa.sin6_scope_id = if_nametoindex(c.ifname.c_str());
    if (sysBind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      sysClose(fd);
      return ARES_SOCKET_BAD;
    }
  }
  struct stat sb {};
  fstat(fd, &sb);
  st->socks.push_back({fd, sb.st_dev, sb.st_ino});
  return fd;
}

int aClose(ares_socket_t fd, void* user) {
  auto* st = static_cast<Channel::State*>(user);
  auto it = std::find_if(st->socks.begin(), st->socks.end(),
                         [&](const Channel::Sock& s) { return s.fd == fd; });
  if (it == st->socks.end()) return 0;
  bool ours = sameFile(*it);
  st->socks.erase(it);
  // A descriptor the program took over (same number, another file) is left alone. After
  // fork the child's copy is still the same file and is the child's to close.
  return ours ? int(sysClose(fd)) : 0;
}

int aConnect(ares_socket_t fd, const sockaddr* a, ares_socklen_t len, void*) {
  return int(sysConnect(fd, a, len));
}

ares_ssize_t aRecvfrom(ares_socket_t fd, void* buf, size_t len, int flags, sockaddr* from,
                       ares_socklen_t* fromLen, void*) {
  return sys::raw::recvfrom(fd, buf, len, flags, from, fromLen);
}

ares_ssize_t aSendv(ares_socket_t fd, const iovec* iov, int n, void*) {
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = size_t(n);
  return sys::raw::sendmsg(fd, &m, MSG_NOSIGNAL);
}

const ares_socket_functions kSocketFunctions = {aSocket, aClose, aConnect, aRecvfrom, aSendv};

std::once_flag gAresInit;

void onAnswer(void* arg, int status, int, unsigned char* abuf, int alen) {
  auto* ex = static_cast<Exchange*>(arg);
  ex->status = status;
  if (status == ARES_SUCCESS && abuf && alen > 0) ex->response.assign(abuf, abuf + alen);
}

}  // namespace

std::unique_ptr<Channel> Channel::create(const ChannelConfig& cfg, std::string* error) {
  std::call_once(gAresInit, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  std::unique_ptr<Channel> ch(new Channel());
  ch->state_ = std::make_unique<State>();
  State& st = *ch->state_;
  st.cfg = cfg;
  st.pid = getpid();
  ares_options opts{};
  // No search, no hosts file, no rotation: mif hands c-ares complete queries and walks
  // the PvD's search list itself, in glibc's order.
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  opts.timeout = cfg.timeoutMs;
  opts.tries = cfg.tries;
  opts.ndots = 1;
  char lookups[] = "b";
  opts.lookups = lookups;
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
             ARES_OPT_LOOKUPS | ARES_OPT_NOROTATE;
  int rc = ares_init_options(&st.channel, &opts, mask);
  if (rc != ARES_SUCCESS) {
    if (error) *error = std::string("c-ares: ") + ares_strerror(rc);
    return nullptr;
  }
  ares_set_socket_functions(st.channel, &kSocketFunctions, &st);
  std::vector<ares_addr_port_node> nodes(cfg.servers.size());
  for (size_t i = 0; i < cfg.servers.size(); ++i) {
    const view::DnsServer& s = cfg.servers[i];
    ares_addr_port_node& n = nodes[i];
    n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
    n.udp_port = n.tcp_port = s.port;
    if (s.addr.family == policy::Family::V4) {
      n.family = AF_INET;
      std::memcpy(&n.addr.addr4, s.addr.bytes.data(), 4);
    } else {
      n.family = AF_INET6;
      std::memcpy(&n.addr.addr6, s.addr.bytes.data(), 16);
    }
  }
  rc = ares_set_servers_ports(st.channel, nodes.empty() ? nullptr : nodes.data());
  if (rc != ARES_SUCCESS) {
    if (error) *error = std::string("c-ares servers: ") + ares_strerror(rc);
    return nullptr;
  }
  return ch;
}

Channel::~Channel() {
  // aClose() closes only the descriptors that are still the sockets we made.
  if (state_ && state_->channel) ares_destroy(state_->channel);
}

bool Channel::stillOurs() const {
  if (state_->broken || state_->pid != getpid()) return false;
  for (const Sock& s : state_->socks)
    if (!sameFile(s)) return false;
  return true;
}

void Channel::run(std::span<Exchange> exchanges) {
  State& st = *state_;
  for (Exchange& ex : exchanges) {
    ex.status = -1;
    ex.response.clear();
    ares_send(st.channel, ex.query.data(), int(ex.query.size()), onAnswer, &ex);
  }
  auto pending = [&] {
    return std::any_of(exchanges.begin(), exchanges.end(),
                       [](const Exchange& e) { return e.status == -1; });
  };
  while (pending()) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(st.channel, socks, ARES_GETSOCK_MAXNUM);
    pollfd pfds[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short ev = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
      if (!ev) continue;
      pfds[n++] = {socks[i], ev, 0};
    }
    timeval tv{}, maxTv{1, 0};
    timeval* t = ares_timeout(st.channel, &maxTv, &tv);
    int ms = int(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
    int r = poll(pfds, n, ms);
    if (r < 0) {
      if (errno == EINTR) continue;  // glibc's resolver also rides out signals
      ares_cancel(st.channel);
      break;
    }
    if (r == 0) {
      ares_process_fd(st.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (pfds[i].revents & (POLLNVAL)) st.broken = true;
      ares_socket_t rfd =
          (pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? pfds[i].fd : ARES_SOCKET_BAD;
      ares_socket_t wfd = (pfds[i].revents & POLLOUT) ? pfds[i].fd : ARES_SOCKET_BAD;
      if (rfd != ARES_SOCKET_BAD || wfd != ARES_SOCKET_BAD) ares_process_fd(st.channel, rfd, wfd);
    }
    if (st.broken) {
      ares_cancel(st.channel);
      break;
    }
  }
  for (Exchange& ex : exchanges)
    if (ex.status == -1) ex.status = ARES_ECANCELLED;
}

ChannelPool::~ChannelPool() = default;

std::unique_ptr<Channel> ChannelPool::acquire(std::string* error) {
  {
    std::lock_guard lock(mutex_);
    if (pid_ != getpid()) {
      // After fork the idle channels share sockets with the parent: drop them (their
      // destructor closes only the child's copies).
      idle_.clear();
      pid_ = getpid();
    }
    while (!idle_.empty()) {
      std::unique_ptr<Channel> ch = std::move(idle_.back());
      idle_.pop_back();
      if (ch->stillOurs()) return ch;
    }
  }
  return Channel::create(cfg_, error);
}

void ChannelPool::release(std::unique_ptr<Channel> ch) {
  // Not checked here: acquire() checks the descriptors before the next use anyway.
  if (!ch) return;
  std::lock_guard lock(mutex_);
  if (pid_ == getpid() && idle_.size() < 64) idle_.push_back(std::move(ch));
}

}  // namespace mif::dns
