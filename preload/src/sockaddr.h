#pragma once
// sockaddr <-> policy::IpAddress at the library's edge, and reading the caller's memory
// without ever faulting on it. Reads the caller's sockaddr only within the length it passed
// and never writes to it.
#include <netinet/in.h>
#include <sys/socket.h>

#include <climits>
#include <cstddef>
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

// The caller's memory. A hook reads what the program passed (a sockaddr, a msghdr, its
// control messages) before the kernel has looked at it; a pointer the kernel would answer
// with EFAULT must not crash the program instead. Whatever these say is unreadable goes to
// libc untouched, so the program gets the kernel's own EFAULT (or EINVAL) and nothing is
// pinned.
//
// `liveFrame` is __builtin_frame_address(0) of the hook (MIF_LIVE_FRAME()): its page (and,
// on the main thread, the rest of the stack above it) is mapped (the hook is running
// there), so the program's own stack sockaddr is read without a system call, as is one in
// the program-break heap (malloc's main arena). Anything else costs one probe per 4 KiB block
// it spans (at most two for a sockaddr); see caller_memory.h (shared with the stub) for
// why the probe is rt_sigprocmask and what was measured.
#define MIF_LIVE_FRAME() __builtin_frame_address(0)

// True when [p, p+n) can be read (n == 0: always). Keeps errno.
bool callerReadable(const void* p, size_t n, const void* liveFrame) noexcept;
// How many probes (system calls) callerReadable has made in this process: for tests.
uint64_t probesMade() noexcept;
// memcpy from the caller's memory; false (nothing copied) when it is not readable.
bool copyFromCaller(void* dst, const void* src, size_t n, const void* liveFrame) noexcept;

// False for anything but a well-formed AF_INET/AF_INET6 sockaddr (NULL, too short, other
// families): such calls go to libc untouched, which reports what glibc would. Only for
// memory the library owns (what getsockname wrote into its own buffer).
bool fromSockaddr(const sockaddr* sa, socklen_t len, Endpoint* out) noexcept;

// fromSockaddr for a sockaddr the program passed to connect/bind/sendto: also false when
// the kernel would refuse it without reading it (len above sizeof(sockaddr_storage),
// which includes a negative int: EINVAL) or could not read all `len` bytes of it (EFAULT).
bool fromCallerSockaddr(const sockaddr* sa, socklen_t len, Endpoint* out,
                        const void* liveFrame) noexcept;

// sendmsg/sendmmsg: the length of msg_name the kernel reads. Unlike connect's and sendto's
// length, an oversized msg_namelen is not refused but cut to sizeof(sockaddr_storage); a
// negative one (as an int) is refused with EINVAL, which the unchanged value still gets
// from fromCallerSockaddr.
inline socklen_t msgNameLength(const void* name, socklen_t len) noexcept {
  if (name == nullptr) return 0;
  if (len > sizeof(sockaddr_storage) && len <= static_cast<socklen_t>(INT_MAX)) {
    return sizeof(sockaddr_storage);
  }
  return len;
}

// `a` as a sockaddr of `socketFamily` (IPv4 in an AF_INET6 socket becomes ::ffff:a.b.c.d).
socklen_t toSockaddr(const policy::IpAddress& a, uint16_t port, int socketFamily,
                     sockaddr_storage* out) noexcept;

// Text form without allocating (inet_ntop); `buf` of INET6_ADDRSTRLEN.
const char* formatAddress(const policy::IpAddress& a, char* buf, size_t size) noexcept;

}  // namespace mif::preload
