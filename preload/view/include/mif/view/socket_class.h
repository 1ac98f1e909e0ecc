#pragma once
// The traffic class a program set on a socket, as a `dscp` rule matches it: read by the
// preload's runtime and by the --enforce supervisor alike (one getsockopt).
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include "mif/policy/address.h"

namespace mif::view {

// The DSCP for packets of `family` (IP_TOS for IPv4, also on an AF_INET6 socket;
// IPV6_TCLASS for IPv6): the upper six bits. -1 when it cannot be read.
inline int8_t socketDscp(int fd, policy::Family family) noexcept {
  int tos = 0;
  socklen_t len = sizeof tos;
  const bool v4 = family == policy::Family::V4;
  if (getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TOS : IPV6_TCLASS, &tos, &len) != 0) return -1;
  return static_cast<int8_t>((tos >> 2) & 0x3f);
}

}  // namespace mif::view
