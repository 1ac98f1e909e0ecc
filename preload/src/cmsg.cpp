#include "cmsg.h"

#include <netinet/in.h>

#include <cstring>

namespace mif::preload {

bool hasPktinfo(const msghdr& m) noexcept {
  if (m.msg_control == nullptr || m.msg_controllen < sizeof(cmsghdr)) return false;
  // CMSG_NXTHDR takes a non-const msghdr but only reads it.
  msghdr copy = m;
  for (cmsghdr* c = CMSG_FIRSTHDR(&copy); c != nullptr; c = CMSG_NXTHDR(&copy, c)) {
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) ||
        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)) {
      return true;
    }
  }
  return false;
}

Merge mergePktinfo(const msghdr& m, const Outcome& o, int socketFamily, char* buf, size_t cap,
                   size_t* len, const void* liveFrame) noexcept {
  // msg_controllen != 0 with a NULL msg_control is the kernel's EFAULT too.
  const size_t theirs = m.msg_controllen != 0 ? CMSG_ALIGN(m.msg_controllen) : 0;
  const size_t ours =
      socketFamily == AF_INET ? CMSG_SPACE(sizeof(in_pktinfo)) : CMSG_SPACE(sizeof(in6_pktinfo));
  if (theirs < m.msg_controllen || theirs + ours > cap) {
    // Too large to copy; still the program's own choice if it names one. 64 KiB bounds the
    // probing (the kernel refuses control data above net.core.optmem_max anyway).
    constexpr size_t kScanLimit = 64 * 1024;
    if (m.msg_controllen <= kScanLimit &&
        callerReadable(m.msg_control, m.msg_controllen, liveFrame) && hasPktinfo(m)) {
      return Merge::ProgramsOwn;
    }
    return Merge::TooLarge;
  }
  std::memset(buf, 0, theirs + ours);
  if (theirs != 0) {
    if (!copyFromCaller(buf, m.msg_control, m.msg_controllen, liveFrame)) return Merge::Unreadable;
    msghdr copy{};
    copy.msg_control = buf;
    copy.msg_controllen = m.msg_controllen;
    if (hasPktinfo(copy)) return Merge::ProgramsOwn;
  }
  auto* c = reinterpret_cast<cmsghdr*>(buf + theirs);
  if (socketFamily == AF_INET) {
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    pi.ipi_ifindex = o.ifindex;
    if (o.hasSource) std::memcpy(&pi.ipi_spec_dst, o.source.bytes.data(), 4);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  } else {
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo pi{};
    pi.ipi6_ifindex = static_cast<unsigned>(o.ifindex);
    if (o.endpoint.addr.family == policy::Family::V4) {
      // A v4-mapped destination on an AF_INET6 socket: the kernel takes the IPv4 route and
      // accepts only a v4-mapped source here (::ffff:0.0.0.0 = let it choose).
      pi.ipi6_addr.s6_addr[10] = 0xff;
      pi.ipi6_addr.s6_addr[11] = 0xff;
      if (o.hasSource) std::memcpy(pi.ipi6_addr.s6_addr + 12, o.source.bytes.data(), 4);
    } else if (o.hasSource) {
      std::memcpy(pi.ipi6_addr.s6_addr, o.source.bytes.data(), 16);
    }
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  *len = theirs + ours;
  return Merge::Done;
}

}  // namespace mif::preload
