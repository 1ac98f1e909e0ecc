#pragma once
// Socket addresses and socket options as the supervisor needs them: conversion between
// the program's sockaddr bytes and the policy's IpAddress, and applying a PvD to a socket
// descriptor (ours, taken with pidfd_getfd, so the program's socket changes).
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>

#include "mif/policy/address.h"
#include "mif/view/snapshot.h"

namespace mif::enforce {

struct Endpoint {
  policy::IpAddress address;  // unmapped: ::ffff:a.b.c.d is IPv4
  uint16_t port = 0;          // host order
  bool mapped = false;        // an IPv4 address carried in an AF_INET6 sockaddr
};

// AF_INET / AF_INET6 sockaddr of at least the family's size; nullopt for any other
// family or a short length.
std::optional<Endpoint> endpointOf(const sockaddr_storage& sa, size_t len);

// The sockaddr for `address`:`port` suited to a socket of family `socketFamily`
// (IPv4 on an AF_INET6 socket is written as v4-mapped). Returns its length, 0 when the
// family cannot carry it.
socklen_t toSockaddr(const policy::IpAddress& address, uint16_t port, int socketFamily,
                     sockaddr_storage* out);

// 127/8, ::1, unspecified: never leaves the host, so never decided.
bool staysOnHost(const policy::IpAddress& a);

struct SocketInfo {
  int family = 0;   // SO_DOMAIN
  int type = 0;     // SO_TYPE
  int boundIf = 0;  // SO_BINDTOIFINDEX, 0 when not bound to a device
};
// False when `fd` is not a socket.
bool socketInfo(int fd, SocketInfo* out);


// Binds the socket to the PvD's interface (by name, so a VPN that came back with a new
// index is found) and, when the PvD needs a particular source address of `family` and the
// socket has no local address yet, binds that address with IP_BIND_ADDRESS_NO_PORT (no
// ephemeral port burned). `rebind`: replace another device binding (CAP_NET_RAW).
// `localPort`, when given: set to the socket's local port as the pin read it (getsockname,
// which it makes for a PvD with a source address, before its own bind), left alone when
// the pin did not read it. 0 or an errno.
int pinSocket(int fd, const SocketInfo& info, const view::BoundPvd& pvd, policy::Family family,
              bool rebind, int* localPort = nullptr);

// Removes a device binding (a loopback connect of a socket pinned at creation).
int unpinSocket(int fd);

}  // namespace mif::enforce
