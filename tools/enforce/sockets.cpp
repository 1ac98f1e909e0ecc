#include "enforce/sockets.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>

namespace mif::enforce {

using policy::Family;
using policy::IpAddress;

std::optional<Endpoint> endpointOf(const sockaddr_storage& sa, size_t len) {
  Endpoint e;
  if (sa.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(sa);
    e.address.family = Family::V4;
    memcpy(e.address.bytes.data(), &in.sin_addr, 4);
    e.port = ntohs(in.sin_port);
    return e;
  }
  if (sa.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
    e.address.family = Family::V6;
    memcpy(e.address.bytes.data(), &in6.sin6_addr, 16);
    if (e.address.isV4Mapped()) {
      e.address = e.address.unmapped();
      e.mapped = true;
    }
    e.port = ntohs(in6.sin6_port);
    return e;
  }
  return std::nullopt;
}

socklen_t toSockaddr(const IpAddress& address, uint16_t port, int socketFamily,
                     sockaddr_storage* out) {
  memset(out, 0, sizeof *out);
  if (socketFamily == AF_INET) {
    if (address.family != Family::V4) return 0;
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    memcpy(&in->sin_addr, address.bytes.data(), 4);
    return sizeof *in;
  }
  if (socketFamily != AF_INET6) return 0;
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  if (address.family == Family::V4) {
    in6->sin6_addr.s6_addr[10] = 0xff;
    in6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&in6->sin6_addr.s6_addr[12], address.bytes.data(), 4);
  } else {
    memcpy(&in6->sin6_addr, address.bytes.data(), 16);
  }
  return sizeof *in6;
}

bool staysOnHost(const IpAddress& a) {
  if (a.bytes == IpAddress{}.bytes) return true;  // unspecified, either family
  if (a.family == Family::V4) return a.bytes[0] == 127;
  IpAddress loop6{Family::V6, {}};
  loop6.bytes[15] = 1;
  return a == loop6;
}

bool socketInfo(int fd, SocketInfo* out) {
  socklen_t len = sizeof out->family;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &out->family, &len) != 0) return false;
  // Not IP: the caller lets the call go on; the rest would be wasted system calls.
  if (out->family != AF_INET && out->family != AF_INET6) return true;
  len = sizeof out->type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &out->type, &len) != 0) return false;
  len = sizeof out->boundIf;
  if (getsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &out->boundIf, &len) != 0) out->boundIf = 0;
  return true;
}

namespace {

// True when the socket has no local address yet (so a source bind is still possible);
// its local port in *port when read.
bool unbound(int fd, int* port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  auto e = endpointOf(ss, len);
  if (e && port != nullptr) *port = e->port;
  return e && e->port == 0 && e->address.bytes == IpAddress{}.bytes;
}

}  // namespace

int pinSocket(int fd, const SocketInfo& info, const view::BoundPvd& pvd, Family family,
              bool rebind, int* localPort) {
  if (info.boundIf != 0 && !rebind) return info.boundIf == pvd.ifindex ? 0 : EBUSY;
  bool wantSource = family == Family::V4 ? pvd.hasSource4 : pvd.hasSource6;
  if (wantSource && unbound(fd, localPort)) {
    const IpAddress& src = family == Family::V4 ? pvd.source4 : pvd.source6;
    sockaddr_storage ss;
    socklen_t len = toSockaddr(src, 0, info.family, &ss);
    int one = 1;
    if (len != 0) {
      // Harmless where unsupported (e.g. raw): the bind then still works, with a port.
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINVAL) return errno;
    }
  }
  if (info.boundIf == pvd.ifindex && pvd.ifindex != 0) return 0;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, pvd.ifname.c_str(),
                 static_cast<socklen_t>(pvd.ifname.size())) != 0)
    return errno;
  return 0;
}

int unpinSocket(int fd) {
  return setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "", 0) == 0 ? 0 : errno;
}

}  // namespace mif::enforce
