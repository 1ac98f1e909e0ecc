#pragma once
// Which PvD a failed connect says is broken (issue 29), shared by the preload library's
// failover and races and by the --enforce supervisor's held connects: the errno alone for
// ENETUNREACH, EHOSTUNREACH and ETIMEDOUT; for the errnos that both a TCP segment from the
// server and an ICMP error on the way give (ECONNREFUSED above all: a server's RST, or a
// firewall's REJECT with icmp-port-unreachable), what the kernel kept of the socket's
// failure (docs/architecture.md, "Refused on the way or by the server"):
//   - TCP_INFO's tcpi_segs_out/tcpi_segs_in while the socket still holds them (a
//     non-blocking connect whose failure was read with SO_ERROR or poll): segments sent
//     and none received means no TCP segment came back, so the refusal was an ICMP error;
//   - after a blocking connect, whose failure makes the kernel disconnect the socket and
//     zero those counters, the socket's error queue: an ICMP error that ended a SYN_SENT
//     socket is queued there (sock_extended_err, origin ICMP/ICMP6) — for IPv4 always, for
//     IPv6 when IPV6_RECVERR is set (armRecvErr); a RST queues nothing.
#include <cerrno>

namespace mif::view {

// Whether a connect's error says the path through the PvD is broken (failover and the race
// go on to the next PvD), not that the server answered. ECONNREFUSED is left out: a TCP
// socket reports a refusal by the server (RST) and one by an ICMP error on the way with the
// same errno, and a refusal by the server would be the same through every PvD.
inline bool pathBroken(int err) noexcept {
  return err == ENETUNREACH || err == EHOSTUNREACH || err == ETIMEDOUT;
}

// The errnos an ICMP destination-unreachable gives a connecting TCP socket besides the
// path-broken ones (icmp_err_convert, icmpv6_err_convert): port unreachable (ECONNREFUSED),
// ICMPv6 administratively prohibited, policy failure, reject route (EACCES), protocol
// unreachable (ENOPROTOOPT), host unknown (EHOSTDOWN), host isolated (ENONET).
inline bool icmpMayGive(int err) noexcept {
  return err == ECONNREFUSED || err == EACCES || err == ENOPROTOOPT || err == EHOSTDOWN ||
         err == ENONET;
}

// Whether the connect on `fd` that failed with `err` (icmpMayGive) was ended by an ICMP
// error rather than by a TCP segment from the peer. Reads TCP_INFO, and the error queue
// when the counters are gone (which consumes its entry: call once per failure). Any
// thread; no allocation.
bool refusedOnTheWay(int fd, int err) noexcept;

// The path through the socket's PvD is broken: failover and the races go on to the next.
inline bool pathBrokenOn(int fd, int err) noexcept {
  return pathBroken(err) || (icmpMayGive(err) && refusedOnTheWay(fd, err));
}

// IPv6 queues a connecting socket's ICMP errors only with IPV6_RECVERR: set it for the
// duration of a blocking connect (the program's own value read first). Returns whether it
// was set here, so that disarmRecvErr clears it again: left on, it would make a connected
// socket's soft ICMP errors fatal (ip(7), IP_RECVERR).
bool armRecvErr(int fd, int family) noexcept;
void disarmRecvErr(int fd) noexcept;

}  // namespace mif::view
