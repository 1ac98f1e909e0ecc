#pragma once
// Pinning an unconnected datagram socket once instead of per datagram (issue 26). A
// datagram pinned with an IP_PKTINFO/IPV6_PKTINFO control message costs the kernel a
// sendmsg with a control message on every packet; the same pin set once on the socket with
// IP_UNICAST_IF/IPV6_UNICAST_IF (the interface a unicast datagram without a device binding
// or control message leaves by: the same `oif` in the kernel's route lookup as the control
// message's interface) lets every datagram go as the program sent it.
//
// A socket is pinned this way only while every datagram mif sends on it wants exactly that
// interface, with the source the kernel picks there (the view found one usable address of
// the family on it), under a strict decision. The first datagram that wants anything else
// (another interface, an explicit source, no interface at all: loopback, the host's own
// address, a decision without a PvD), a connect or a bind, takes the socket back to the
// per-datagram control message for good: mif resets the option to 0 once no other thread
// is sending in the pinned mode (a counter of sends in flight; the one waiting is the
// thread about to send unpinned, and only for the sends already under way), so no
// datagram ever leaves unpinned while another thread believed the socket pinned.
//
// Only sockets this process's mif set the option on, in this process: a program's own
// IP_UNICAST_IF (seen with one getsockopt the first time) is never changed; after fork()
// the child leaves a socket it shares with its parent as the parent set it and pins its
// datagrams per packet (the control message overrides the option). Not hidden: a program
// that reads IP_UNICAST_IF back sees mif's interface (docs/architecture.md).
//
// Per descriptor below dgram::kSlots, lock-free: one state word and one in-flight counter.
#include <cstdint>

#include "mif/policy/address.h"

namespace mif::preload::ucif {

// The pinned mode for this datagram: true when fd's socket is (now) pinned to `ifindex`
// with the option and the datagram can go as the program sent it; the caller must then
// call sent(fd) after the real call returns. False: send it with the control message.
bool enter(int fd, int socketFamily, policy::Family dstFamily, int ifindex) noexcept;
void sent(int fd) noexcept;
// Before a datagram, connect or bind on fd that does not use the pinned mode: when mif
// pinned the socket with the option, waits for the pinned sends under way and resets it.
void leave(int fd) noexcept;
// True when mif may have set the option on fd (one relaxed load): only then is leave()
// needed.
bool held(int fd) noexcept;
// The descriptor number now names another socket (close, dup2 onto it, a new socket).
void forget(int fd) noexcept;
void forgetRange(unsigned lo, unsigned hi) noexcept;

}  // namespace mif::preload::ucif
