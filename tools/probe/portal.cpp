#include "probe/portal.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mif/view/ra_state.h"
#include "probe/probe.h"

namespace mif::probe {
namespace {

using Clock = std::chrono::steady_clock;

// Waits for `events` on `fd` until `end`; false on timeout.
bool waitFor(int fd, short events, Clock::time_point end) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace

int captiveMember(const std::string& body) {
  size_t at = 0;
  while ((at = body.find("\"captive\"", at)) != std::string::npos) {
    at += 9;
    size_t k = body.find_first_not_of(" \t\r\n", at);
    if (k == std::string::npos || body[k] != ':') continue;
    k = body.find_first_not_of(" \t\r\n", k + 1);
    if (k == std::string::npos) return -1;
    if (body.compare(k, 4, "true") == 0) return 1;
    if (body.compare(k, 5, "false") == 0) return 0;
    return -1;
  }
  return -1;
}

PortalAnswer askPortalApi(const view::BoundPvd& pvd, const std::string& uri,
                          std::chrono::milliseconds timeout) {
  PortalAnswer out;
  if (uri.rfind("http://", 0) != 0) {
    out.why = uri.rfind("https://", 0) == 0 ? "an https API (mif has no TLS)" : "not an http URI";
    return out;
  }
  // http://HOST[:PORT][/PATH]; HOST an IPv4 address or [IPv6].
  std::string rest = uri.substr(7), host, path = "/";
  size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  uint16_t port = 80;
  std::string hostPort = rest;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos) {
      out.why = "a malformed URI";
      return out;
    }
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
  } else {
    size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    rest = colon == std::string::npos ? "" : rest.substr(colon);
  }
  if (!rest.empty()) {
    if (rest[0] != ':' || rest.size() < 2 || rest.size() > 6 ||
        rest.find_first_not_of("0123456789", 1) != std::string::npos ||
        std::stoul(rest.substr(1)) == 0 || std::stoul(rest.substr(1)) > 65535) {
      out.why = "a malformed URI";
      return out;
    }
    port = static_cast<uint16_t>(std::stoul(rest.substr(1)));
  }
  auto addr = policy::IpAddress::parse(host);
  if (!addr) {
    out.why = "its host is a name (only addresses are asked)";
    return out;
  }
  int fd = openThrough(pvd, addr->family, SOCK_STREAM);
  if (fd < 0) {
    out.why = std::strerror(errno);
    return out;
  }
  const auto end = Clock::now() + timeout;
  sockaddr_storage ss;
  socklen_t len = toSockaddr(*addr, port, &ss);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  int err = 0;
  socklen_t el = sizeof err;
  if (rc != 0 && errno != EINPROGRESS) err = errno;
  if (!err && rc != 0) {
    if (!waitFor(fd, POLLOUT, end))
      err = ETIMEDOUT;
    else
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + hostPort +
                        "\r\nAccept: application/captive+json\r\nConnection: close\r\n\r\n";
  std::string response;
  if (!err && ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                  static_cast<ssize_t>(request.size()))
    err = errno ? errno : EIO;
  while (!err && response.size() < 65536) {
    if (!waitFor(fd, POLLIN, end)) {
      err = ETIMEDOUT;
      break;
    }
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      err = errno;
      break;
    }
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (err) {
    out.why = err == ETIMEDOUT ? "timeout" : std::strerror(err);
    return out;
  }
  size_t body = response.find("\r\n\r\n");
  if (response.compare(0, 9, "HTTP/1.1 ") != 0 && response.compare(0, 9, "HTTP/1.0 ") != 0) {
    out.why = "not an HTTP answer";
    return out;
  }
  if (response.compare(9, 3, "200") != 0 || body == std::string::npos) {
    out.why = "HTTP status " + response.substr(9, 3);
    return out;
  }
  int captive = captiveMember(response.substr(body + 4));
  if (captive < 0) {
    out.why = "no \"captive\" boolean in its answer";
    return out;
  }
  out.asked = true;
  out.captive = captive == 1;
  return out;
}

PortalCheck checkPortal(const view::BoundPvd& pvd, const view::CaptivePortal& c, bool probeOk,
                        std::chrono::milliseconds timeout) {
  PortalCheck out;
  const PortalAnswer a = askPortalApi(pvd, c.uri, timeout);
  out.open = a.asked ? !a.captive : probeOk;
  out.by = a.asked ? "api" : "probe";
  out.why = a.why;
  std::string why;
  if (!view::recordPortalCheck(view::raStatePath(), pvd.ifindex, c.router, c.uri, out.open, &why))
    out.why += (out.why.empty() ? "" : "; ") + std::string("not recorded: ") + why;
  return out;
}

}  // namespace mif::probe
