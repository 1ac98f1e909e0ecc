// `mif lab serve` (hidden): the hosts' services. HTTP on port 80 and UDP echo on port 7,
// for IPv4 and IPv6, on every address of the namespace; each answer names the host that
// was reached (by the address the request arrived at) and the client's source address and
// port, and the same line is appended to a log the tests read. Logging happens before
// answering, so a client that has its answer can rely on the log line being there.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "lab/lab.h"
#include "lab/system.h"

namespace mif::lab {
namespace {

struct Config {
  std::string log;
  std::string pidFile;
  std::map<std::string, std::string> hostOf;  // address -> host name
};

int logFd = -1;
const Config* config = nullptr;

std::string addrText(const sockaddr_storage& ss, int* port = nullptr) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    if (port) *port = ntohs(sin->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    if (port) *port = ntohs(sin6->sin6_port);
  }
  return buf;
}

std::string identify(const char* proto, const std::string& local, const std::string& client,
                     int port) {
  auto it = config->hostOf.find(local);
  std::string host = it == config->hostOf.end() ? "unknown" : it->second;
  std::string line = std::string("proto=") + proto + " host=" + host + " client=" + client +
                     " port=" + std::to_string(port) + " local=" + local + "\n";
  // O_APPEND and one write per line: concurrent connections never interleave a line.
  (void)!::write(logFd, line.data(), line.size());
  return line;
}

void handleHttp(int fd) {
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.find("\n\n") == std::string::npos &&
         request.size() < 65536) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  sockaddr_storage local{}, peer{};
  socklen_t ll = sizeof local, pl = sizeof peer;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll);
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl);
  int port = 0;
  std::string client = addrText(peer, &port);
  std::string body = identify("http", addrText(local), client, port);
  std::string response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  (void)!::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

// The reply leaves from the address the request was sent to (PKTINFO), which for a host
// on the router's lo is not the address the routing table would pick.
void handleUdp(int fd, int family) {
  char data[65536];
  char control[256];
  sockaddr_storage peer{};
  iovec iov{data, sizeof data};
  msghdr msg{};
  msg.msg_name = &peer;
  msg.msg_namelen = sizeof peer;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) return;
  sockaddr_storage local{};
  local.ss_family = static_cast<sa_family_t>(family);
  in_pktinfo pi4{};
  in6_pktinfo pi6{};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      std::memcpy(&pi4, CMSG_DATA(c), sizeof pi4);
      reinterpret_cast<sockaddr_in*>(&local)->sin_addr = pi4.ipi_addr;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      std::memcpy(&pi6, CMSG_DATA(c), sizeof pi6);
      reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr = pi6.ipi6_addr;
    }
  }
  int port = 0;
  std::string client = addrText(peer, &port);
  std::string reply = identify("udp", addrText(local), client, port);
  reply.append(data, static_cast<size_t>(n));
  alignas(cmsghdr) char out[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  iovec oiov{reply.data(), reply.size()};
  msghdr o{};
  o.msg_name = &peer;
  o.msg_namelen = msg.msg_namelen;
  o.msg_iov = &oiov;
  o.msg_iovlen = 1;
  o.msg_control = out;
  cmsghdr* c = reinterpret_cast<cmsghdr*>(out);
  if (family == AF_INET) {
    o.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo reply4{};
    reply4.ipi_spec_dst = pi4.ipi_addr;
    std::memcpy(CMSG_DATA(c), &reply4, sizeof reply4);
  } else {
    o.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo reply6{};
    reply6.ipi6_addr = pi6.ipi6_addr;
    std::memcpy(CMSG_DATA(c), &reply6, sizeof reply6);
  }
  ::sendmsg(fd, &o, MSG_DONTWAIT);
}

int listener(int family, int type, int port, std::string& error) {
  int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *sin;
    if (type == SOCK_DGRAM) ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *sin6;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (type == SOCK_DGRAM) ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  }
  // Hosts on lo come and go with `up` runs; binding the wildcard needs none of them now.
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      (type == SOCK_STREAM && ::listen(fd, 128) != 0)) {
    error = std::string(family == AF_INET ? "IPv4 " : "IPv6 ") +
            (type == SOCK_STREAM ? "TCP" : "UDP") + " port " + std::to_string(port) + ": " +
            std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int serve(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      cli::error("lab serve", "option " + a + " needs a value");
      return cli::kExitUsage;
    }
    std::string v = argv[++i];
    if (a == "--log") {
      cfg.log = v;
    } else if (a == "--pid-file") {
      cfg.pidFile = v;
    } else if (a == "--host") {
      auto eq = v.find('=');
      if (eq == std::string::npos) {
        cli::error("lab serve", "--host wants NAME=ADDR[,ADDR...]");
        return cli::kExitUsage;
      }
      std::string name = v.substr(0, eq);
      size_t pos = eq + 1;
      while (pos <= v.size()) {
        size_t comma = v.find(',', pos);
        if (comma == std::string::npos) comma = v.size();
        if (comma > pos) cfg.hostOf[v.substr(pos, comma - pos)] = name;
        pos = comma + 1;
      }
    } else {
      cli::error("lab serve", "unknown option " + a);
      return cli::kExitUsage;
    }
  }
  if (cfg.log.empty()) {
    cli::error("lab serve", "--log is required");
    return cli::kExitUsage;
  }
  logFd = ::open(cfg.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (logFd < 0) {
    cli::error("lab serve", cfg.log + ": " + std::strerror(errno));
    return cli::kExitFailure;
  }
  config = &cfg;
  std::string error;
  struct Listener {
    int fd;
    int family;
    int type;
  };
  std::vector<Listener> ls;
  for (int family : {AF_INET, AF_INET6}) {
    for (auto [type, port] : {std::pair{SOCK_STREAM, kHttpPort}, std::pair{SOCK_DGRAM, kUdpEchoPort}}) {
      int fd = listener(family, type, port, error);
      if (fd < 0) {
        cli::error("lab serve", error);
        return cli::kExitFailure;
      }
      ls.push_back({fd, family, type});
    }
  }
  // Into the background only now that the ports are bound: the launcher's exit tells
  // `mif lab up` the services are ready.
  std::vector<int> keep = {logFd};
  for (const auto& l : ls) keep.push_back(l.fd);
  switch (sys::daemonize(cfg.pidFile, keep)) {
    case -1:
      cli::error("lab serve", std::string("fork: ") + std::strerror(errno));
      return cli::kExitFailure;
    case 1:
      return cli::kExitOk;
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<pollfd> fds;
  for (const auto& l : ls) fds.push_back({l.fd, POLLIN, 0});
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return cli::kExitFailure;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      if (ls[i].type == SOCK_DGRAM) {
        handleUdp(ls[i].fd, ls[i].family);
      } else {
        int c = ::accept4(ls[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
        // A thread per connection: a client that never sends its request must not stall
        // the others (it is cut off after 2 s).
        if (c >= 0) std::thread(handleHttp, c).detach();
      }
    }
  }
}

}  // namespace mif::lab
