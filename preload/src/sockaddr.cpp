#include "sockaddr.h"

#include "caller_memory.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

namespace mif::preload {

using policy::Family;

bool callerReadable(const void* p, size_t n, const void* liveFrame) noexcept {
  return mifCallerReadable(p, n, liveFrame) != 0;
}

uint64_t probesMade() noexcept { return __atomic_load_n(&mifCmProbes, __ATOMIC_RELAXED); }

bool copyFromCaller(void* dst, const void* src, size_t n, const void* liveFrame) noexcept {
  if (!callerReadable(src, n, liveFrame)) return false;
  std::memcpy(dst, src, n);
  return true;
}

bool fromCallerSockaddr(const sockaddr* sa, socklen_t len, Endpoint* out,
                        const void* liveFrame) noexcept {
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t)) ||
      len > static_cast<socklen_t>(sizeof(sockaddr_storage))) {
    return false;
  }
  // All `len` bytes, as the kernel copies them, not only the ones decided on.
  if (!callerReadable(sa, len, liveFrame)) return false;
  return fromSockaddr(sa, len, out);
}

bool Endpoint::loopback() const noexcept {
  if (addr.family == Family::V4) return addr.bytes[0] == 127;
  static constexpr uint8_t kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(addr.bytes.data(), kLoop6, 16) == 0;
}

bool Endpoint::wildcard() const noexcept {
  const unsigned n = addr.family == Family::V4 ? 4 : 16;
  for (unsigned i = 0; i < n; ++i) {
    if (addr.bytes[i] != 0) return false;
  }
  return true;
}

bool fromSockaddr(const sockaddr* sa, socklen_t len, Endpoint* out) noexcept {
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return false;
  // memcpy rather than casts: the caller's buffer need not be aligned for sockaddr_in6.
  sa_family_t family;
  std::memcpy(&family, sa, sizeof family);
  if (family == AF_INET) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return false;
    sockaddr_in in;
    std::memcpy(&in, sa, sizeof in);
    *out = Endpoint{};
    out->addr.family = Family::V4;
    std::memcpy(out->addr.bytes.data(), &in.sin_addr, 4);
    out->port = ntohs(in.sin_port);
    out->socketFamily = AF_INET;
    return true;
  }
  if (family == AF_INET6) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in6))) return false;
    sockaddr_in6 in6;
    std::memcpy(&in6, sa, sizeof in6);
    *out = Endpoint{};
    out->port = ntohs(in6.sin6_port);
    out->socketFamily = AF_INET6;
    out->scopeId = in6.sin6_scope_id;
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      out->addr.family = Family::V4;
      std::memcpy(out->addr.bytes.data(), in6.sin6_addr.s6_addr + 12, 4);
    } else {
      out->addr.family = Family::V6;
      std::memcpy(out->addr.bytes.data(), in6.sin6_addr.s6_addr, 16);
    }
    return true;
  }
  return false;
}

socklen_t toSockaddr(const policy::IpAddress& a, uint16_t port, int socketFamily,
                     sockaddr_storage* out) noexcept {
  std::memset(out, 0, sizeof *out);
  if (socketFamily == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, a.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  if (a.family == Family::V4) {
    in6->sin6_addr.s6_addr[10] = 0xff;
    in6->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(in6->sin6_addr.s6_addr + 12, a.bytes.data(), 4);
  } else {
    std::memcpy(in6->sin6_addr.s6_addr, a.bytes.data(), 16);
  }
  return sizeof(sockaddr_in6);
}

const char* formatAddress(const policy::IpAddress& a, char* buf, size_t size) noexcept {
  if (inet_ntop(a.family == Family::V4 ? AF_INET : AF_INET6, a.bytes.data(), buf,
                static_cast<socklen_t>(size)) == nullptr) {
    if (size > 0) buf[0] = '\0';
  }
  return buf;
}

}  // namespace mif::preload
