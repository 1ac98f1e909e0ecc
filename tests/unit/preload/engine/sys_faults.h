#pragma once
// The test side of the system-call seam (mif/sys/calls.h): this executable defines every
// mif::sys function itself, so the library's own system calls come here instead of the
// production archive (a link-time choice). Each forwards to the real call unless a fault
// is armed for it, then fails with the armed errno without making the call.
#include <atomic>

namespace mif::sys::faults {

enum class Call : int {
  Socket, Bind, Close, Setsockopt, Getsockopt, Recv, Fstat, Fcntl, TimerSlack,  // mif::sys
  SetTimerSlack,
  RawSocket, RawBind, RawConnect, RawClose, RawSetsockopt, RawRecvfrom, RawSendmsg,  // raw
  Count
};
const char* name(Call c) noexcept;

// From now on `call` fails with `err`: `times` times (-1: until disarm()), and only when
// `match` (-1: any) equals the option name (setsockopt, getsockopt), the domain (socket) or
// the command (fcntl).
void arm(Call call, int err, int times = -1, int match = -1) noexcept;
void disarm() noexcept;
// How often `call` was made (faulted or not) since the last disarm().
int made(Call call) noexcept;
// How often an armed fault fired since the last disarm().
int fired(Call call) noexcept;

}  // namespace mif::sys::faults
