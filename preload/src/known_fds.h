#pragma once
// What the library knows of a program's socket without asking the kernel (issue 26).
//
// A connect has to know whether the socket is already bound to a device (the program's
// binding stands, or a strict pin refuses it) before it pins the socket to the PvD, and a
// blocking connect raced across PvDs has to know the program's send timeout and whether it
// bound a local port. Asked of the kernel, that is a getsockopt(SO_BINDTODEVICE) on every
// connect, and a getsockopt(SO_SNDTIMEO) and getsockname on every raced one: more system
// calls than the pinning itself; and a raced connect (blocking or not) needs the socket's
// file status flags (O_NONBLOCK: raced in the connect or in the program's waits), an
// fcntl(F_GETFL). For a socket the program made through the socket() hook after the
// library was loaded, the answers are known: the program can only have changed them
// through setsockopt, bind, fcntl(F_SETFL) and ioctl(FIONBIO, FIOASYNC), which are hooked
// too (the socket's flags at creation: O_RDWR, and O_NONBLOCK from SOCK_NONBLOCK).
//
// One stamp per descriptor (below dgram::kSlots), taken from a process-wide counter when
// socket() returns it, and four process-wide stamps: the counter's value at the program's
// last SO_BINDTODEVICE/SO_BINDTOIFINDEX, SO_SNDTIMEO, bind, and F_SETFL/FIONBIO/FIOASYNC
// on a descriptor no socket() was seen to return. A
// socket made after the last such call cannot have been changed by one; a socket made
// before it might have been (through a dup'd number, which no table tracks), and is asked
// of the kernel as before. So a program that binds one socket to a device makes the
// library ask for every older socket, never trust a wrong answer. fork() makes every
// socket "older" in both processes (the other side may change the shared socket).
// File status flags set on the number socket() returned (curl's, nginx's, Python's
// setblocking: the socket's own number, after socket() and before connect) are recorded in
// its slot instead: any other number for the same open file (a dup) is one socket() did not
// return, whose own F_SETFL makes the older sockets asked, and whose flags are asked anyway.
//
// What the stamps cannot see, each leaving the socket as the kernel has it: a raw
// syscall(SYS_setsockopt), syscall(SYS_fcntl) or io_uring operation on the socket (a
// socket made non-blocking that way, whose connect returns at once, is caught by the
// connect hook: it asks F_GETFL before a race would hold the call, hook_connect.cpp; one
// made blocking that way is only not raced), another process holding the
// socket (SCM_RIGHTS), and a number closed behind the library's back (a raw close, glibc's
// internal one after fdopen + fclose) and reused by a non-socket (open, pipe: the pin's
// setsockopt then fails with ENOTSOCK and the call is left to libc) or by accept (hooked:
// forgotten). A socket bound by another process holding it is caught when mif's own
// binding fails (EPERM without CAP_NET_RAW): the connect then asks the kernel and judges it
// as any bound socket. docs/architecture.md,
// "What a connect asks the kernel".
//
// Lock-free: a relaxed-or-acquire load per question; a fetch_add per socket(); a program
// call that changes one of the four loads the counter and raises that stamp to it (a
// compare-and-swap only when a socket was made since the last such call); an F_SETFL or
// FIONBIO on a socket seen made, two compare-and-swaps on its slot.
#include <cstdint>

namespace mif::preload::knownfd {

// The socket() hook: fd is the program's new AF_INET/AF_INET6 socket, made with
// SOCK_NONBLOCK or not.
void made(int fd, bool nonBlocking) noexcept;
// The number now names something else, or nothing (close, dup2/dup3 onto it, accept,
// a socket of another domain).
void forget(int fd) noexcept;
void forgetRange(unsigned lo, unsigned hi) noexcept;

// The program's own setsockopt (not the library's: the caller checks the guard).
void programSetOption(int level, int name) noexcept;
// The program's own bind, listen, or mif_socket_set_pvd: a local address, and perhaps a
// device binding the library chose for it.
void programBound() noexcept;
// File status flags changed where no hook could see (a raw fcntl found by a connect):
// every socket made so far is asked for them.
void programSetFlags() noexcept;
// The program's own fcntl(F_SETFL) or ioctl(FIONBIO, FIOASYNC) on fd, before the call
// (a connect in another thread that sees the new flags must not be told the old ones):
// a socket seen made is marked busy (asked of the kernel) until flagsSet; any other
// descriptor (perhaps a dup of a socket seen made) is programSetFlags. Returns what
// flagsSet needs, 0 when nothing is to be recorded.
uint64_t settingFlags(int fd) noexcept;
// What that call left: the flags unchanged (it failed), blocking or non-blocking with no
// other settable flag (O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME), or something else (asked
// of the kernel from then on).
enum class Flags : uint8_t { Unchanged, Blocking, NonBlocking, Other };
void flagsSet(int fd, uint64_t token, Flags now) noexcept;

// True, once, when fd is known to have no device binding: the caller is about to bind it
// to a PvD's device (a later connect on it asks the kernel).
bool takeUnbound(int fd) noexcept;
// True when fd is known to have the default send timeout (none).
bool defaultSendTimeout(int fd) noexcept;
// True when fd is known to have no local address (the program never bound it).
bool notBound(int fd) noexcept;
// fd's file status flags as fcntl(F_GETFL) would return them (O_RDWR, with O_NONBLOCK when
// made with SOCK_NONBLOCK or set since on this number) when known; -1 otherwise.
int statusFlags(int fd) noexcept;

}  // namespace mif::preload::knownfd
