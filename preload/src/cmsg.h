#pragma once
// Per-datagram interface and source (RFC 3542 IPV6_PKTINFO, Linux IP_PKTINFO) merged into
// the program's own control messages, built in a caller-provided buffer (no allocation).
#include <sys/socket.h>

#include <cstddef>

#include "runtime.h"

namespace mif::preload {

// Room for the program's control messages plus ours; a program passing more than this
// with a datagram to decide is handled as Merge::TooLarge.
inline constexpr size_t kControlBuffer = 1024;

// True when the program already names an interface or source itself (IP_PKTINFO or
// IPV6_PKTINFO): its choice stands, as with its own bind().
bool hasPktinfo(const msghdr& m) noexcept;

enum class Merge { Done, TooLarge };
// Copies m's control messages into `buf` (aligned for cmsghdr) and appends the control
// message for `o` (socket family `socketFamily`), setting *len to the total.
Merge mergePktinfo(const msghdr& m, const Outcome& o, int socketFamily, char* buf, size_t cap,
                   size_t* len) noexcept;

}  // namespace mif::preload
