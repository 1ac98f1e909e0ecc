#include "mif/view/path_error.h"

#include <time.h>  // struct timespec, which <linux/errqueue.h> uses

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace mif::view {
namespace {

// The error queue's ICMP entry for this failure, if any (the entry is consumed).
bool queuedIcmp(int fd, int err) noexcept {
  alignas(cmsghdr) char control[512];
  char data[64];
  iovec iov{data, sizeof data};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    const bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
    const bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (!v4 && !v6) continue;
    if (c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
    sock_extended_err ee;
    __builtin_memcpy(&ee, CMSG_DATA(c), sizeof ee);
    if ((ee.ee_origin == SO_EE_ORIGIN_ICMP || ee.ee_origin == SO_EE_ORIGIN_ICMP6) &&
        static_cast<int>(ee.ee_errno) == err)
      return true;
  }
  return false;
}

}  // namespace

// struct tcp_info's tcpi_segs_out and tcpi_segs_in (Linux 4.2; the ABI only grows), which
// glibc's <netinet/tcp.h> does not have: after the eight one-byte fields, 24 32-bit ones
// and four 64-bit ones.
constexpr size_t kSegsOutAt = 136, kSegsInAt = 140;

bool refusedOnTheWay(int fd, int err) noexcept {
  if (!icmpMayGive(err)) return false;
  unsigned char info[232] = {};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len) != 0) return false;  // not TCP
  uint32_t segsOut = 0, segsIn = 0;
  if (len >= kSegsInAt + sizeof segsIn) {
    __builtin_memcpy(&segsOut, info + kSegsOutAt, sizeof segsOut);
    __builtin_memcpy(&segsIn, info + kSegsInAt, sizeof segsIn);
  }
  if (segsOut != 0) return segsIn == 0;
  return queuedIcmp(fd, err);
}

bool armRecvErr(int fd, int family) noexcept {
  if (family != AF_INET6) return false;
  int on = 0;
  socklen_t len = sizeof on;
  if (getsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, &len) != 0 || on != 0) return false;
  on = 1;
  return setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on) == 0;
}

void disarmRecvErr(int fd) noexcept {
  const int off = 0;
  setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &off, sizeof off);
}

}  // namespace mif::view
