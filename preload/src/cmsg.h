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

// True when the control messages of `m` (readable memory) already name an interface or
// source (IP_PKTINFO or IPV6_PKTINFO).
bool hasPktinfo(const msghdr& m) noexcept;

enum class Merge {
  Done,         // *len bytes in `buf`: the program's control messages, then ours
  ProgramsOwn,  // the program names interface or source itself: its choice stands, as
                // with its own bind()
  TooLarge,     // the program's control messages and ours do not fit in `cap`
  Unreadable,   // the program's control buffer cannot be read: send the message as it
                // is, and the kernel reports EFAULT as it would without mif
};
// Copies m's control messages (the program's memory, read fault-safely; `liveFrame` as for
// callerReadable) into `buf` (aligned for cmsghdr) and appends the control message for
// `o` (socket family `socketFamily`), setting *len to the total.
Merge mergePktinfo(const msghdr& m, const Outcome& o, int socketFamily, char* buf, size_t cap,
                   size_t* len, const void* liveFrame = nullptr) noexcept;

}  // namespace mif::preload
