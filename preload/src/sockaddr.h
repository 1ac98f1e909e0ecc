#pragma once
// sockaddr <-> policy::IpAddress at the library's edge. Reads the caller's sockaddr only
// within the length it passed and never writes to it.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include "mif/policy/address.h"

namespace mif::preload {

struct Endpoint {
  policy::IpAddress addr;  // unmapped: ::ffff:a.b.c.d is a.b.c.d (decided as IPv4)
  uint16_t port = 0;       // host order
  int socketFamily = 0;    // AF_INET or AF_INET6: the family of the sockaddr as given
  uint32_t scopeId = 0;    // sin6_scope_id: the program chose an interface itself
  bool loopback() const noexcept;
  bool wildcard() const noexcept;  // 0.0.0.0, ::, ::ffff:0.0.0.0
};

// False for anything but a well-formed AF_INET/AF_INET6 sockaddr (NULL, too short, other
// families): such calls go to libc untouched, which reports what glibc would.
bool fromSockaddr(const sockaddr* sa, socklen_t len, Endpoint* out) noexcept;

// `a` as a sockaddr of `socketFamily` (IPv4 in an AF_INET6 socket becomes ::ffff:a.b.c.d).
socklen_t toSockaddr(const policy::IpAddress& a, uint16_t port, int socketFamily,
                     sockaddr_storage* out) noexcept;

// Text form without allocating (inet_ntop); `buf` of INET6_ADDRSTRLEN.
const char* formatAddress(const policy::IpAddress& a, char* buf, size_t size) noexcept;

}  // namespace mif::preload
