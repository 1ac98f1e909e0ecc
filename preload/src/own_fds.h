#pragma once
// The library's own descriptors (the live view's netlink socket, the resolver's sockets):
// every socket created while the ReentryGuard is set is registered here, so that a program
// that closes every descriptor (daemons, close_range, closefrom) does not pull them from
// under the library. A registered descriptor keeps its identity (st_dev, st_ino); when the
// number turns out to name something else (the program closed it with a raw system call and
// reused the number), the entry is dropped and the program's call goes through unchanged.
//
// Lock-free: a fixed table of atomics; writers are the library's own (guarded) calls.
namespace mif::preload::ownfds {

inline constexpr int kSlots = 16;

void add(int fd) noexcept;
void remove(int fd) noexcept;
// True when `fd` is one of ours and still the same open file.
bool isOwn(int fd) noexcept;
// The lowest registered (and verified) descriptor in [lo, hi], or -1.
int lowestIn(unsigned lo, unsigned hi) noexcept;

}  // namespace mif::preload::ownfds
