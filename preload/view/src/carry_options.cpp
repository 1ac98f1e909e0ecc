#include "mif/view/carry_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <initializer_list>

namespace mif::view {

namespace {

struct CarriedOption {
  int level;
  int name;
  bool onlyV6;   // IPv6 sockets only
  bool onlyV4;   // IPv4 sockets only
};

// The options carried to a failover socket: those a program sets before connecting that
// the kernel lets an unprivileged program set again. SO_RCVBUF/SO_SNDBUF are handled
// apart (the kernel doubles what is set). Not carried: SO_BINDTODEVICE (a program's own
// device binding means no failover), SO_MARK and IP_TRANSPARENT (privileged; carried when
// the process has the privilege), socket filters (SO_ATTACH_FILTER/BPF, cannot be read
// back), TCP_MD5SIG, TCP_REPAIR, IP options, O_ASYNC and F_SETOWN.
constexpr CarriedOption kCarried[] = {
    {IPPROTO_IPV6, IPV6_V6ONLY, true, false},  // first: before anything else is decided
    {SOL_SOCKET, SO_REUSEADDR, false, false},
    {SOL_SOCKET, SO_REUSEPORT, false, false},
    {SOL_SOCKET, SO_KEEPALIVE, false, false},
    {SOL_SOCKET, SO_OOBINLINE, false, false},
    {SOL_SOCKET, SO_LINGER, false, false},
    {SOL_SOCKET, SO_PRIORITY, false, false},
    {SOL_SOCKET, SO_RCVTIMEO, false, false},
    {SOL_SOCKET, SO_SNDTIMEO, false, false},
    {SOL_SOCKET, SO_RCVLOWAT, false, false},
    {SOL_SOCKET, SO_MARK, false, false},
    {IPPROTO_TCP, TCP_NODELAY, false, false},
    {IPPROTO_TCP, TCP_KEEPIDLE, false, false},
    {IPPROTO_TCP, TCP_KEEPINTVL, false, false},
    {IPPROTO_TCP, TCP_KEEPCNT, false, false},
    {IPPROTO_TCP, TCP_USER_TIMEOUT, false, false},
    {IPPROTO_TCP, TCP_SYNCNT, false, false},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT, false, false},
    {IPPROTO_TCP, TCP_CONGESTION, false, false},
    {IPPROTO_TCP, TCP_FASTOPEN_CONNECT, false, false},
    {IPPROTO_IP, IP_TOS, false, true},
    {IPPROTO_IP, IP_TTL, false, true},
    {IPPROTO_IP, IP_MTU_DISCOVER, false, true},
    {IPPROTO_IP, IP_FREEBIND, false, true},
    {IPPROTO_IP, IP_TRANSPARENT, false, true},
    {IPPROTO_IPV6, IPV6_TCLASS, true, false},
    {IPPROTO_IPV6, IPV6_UNICAST_HOPS, true, false},
    {IPPROTO_IPV6, IPV6_MTU_DISCOVER, true, false},
    {IPPROTO_IPV6, IPV6_FREEBIND, true, false},
    {IPPROTO_IPV6, IPV6_TRANSPARENT, true, false},
};

}  // namespace

void carryOptions(int from, int to, int domain) noexcept {
  for (const CarriedOption& c : kCarried) {
    if ((c.onlyV6 && domain != AF_INET6) || (c.onlyV4 && domain != AF_INET)) continue;
    alignas(8) char had[64], fresh[64];
    socklen_t hl = sizeof had, fl = sizeof fresh;
    if (getsockopt(from, c.level, c.name, had, &hl) != 0) continue;
    if (getsockopt(to, c.level, c.name, fresh, &fl) != 0) continue;
    if (hl == fl && std::memcmp(had, fresh, hl) == 0) continue;
    setsockopt(to, c.level, c.name, had, hl);
  }
  // The kernel doubles the size it is given and reports the doubled value.
  for (int name : {SO_RCVBUF, SO_SNDBUF}) {
    int had = 0, fresh = 0;
    socklen_t hl = sizeof had, fl = sizeof fresh;
    if (getsockopt(from, SOL_SOCKET, name, &had, &hl) != 0) continue;
    if (getsockopt(to, SOL_SOCKET, name, &fresh, &fl) != 0 || had == fresh) continue;
    const int half = had / 2;
    setsockopt(to, SOL_SOCKET, name, &half, sizeof half);
  }
}

}  // namespace mif::view
