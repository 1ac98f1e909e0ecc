#pragma once
// The libc functions that the hooks replace, found with dlsym(RTLD_NEXT) the first time
// each is needed (nothing is resolved before the program's first call of that family).
// A lookup that lands back on the library's own hook (libmif.so preloaded twice under two
// paths, or a loader quirk) falls back to libc.so.6 itself, so a hook can never call
// itself forever.
//
// Threading: any thread, any time. Two threads racing on the first lookup both store the
// same pointer. After the first lookup each call is one relaxed atomic load.
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>

namespace mif::preload::real {

using ConnectFn = int (*)(int, const sockaddr*, socklen_t);
using BindFn = int (*)(int, const sockaddr*, socklen_t);
using ListenFn = int (*)(int, int);
using AcceptFn = int (*)(int, sockaddr*, socklen_t*);
using Accept4Fn = int (*)(int, sockaddr*, socklen_t*, int);
using SendtoFn = ssize_t (*)(int, const void*, size_t, int, const sockaddr*, socklen_t);
using SendmsgFn = ssize_t (*)(int, const msghdr*, int);
using SendmmsgFn = int (*)(int, mmsghdr*, unsigned int, int);
using CloseFn = int (*)(int);
using CloseRangeFn = int (*)(unsigned int, unsigned int, int);
using ClosefromFn = void (*)(int);
using Dup2Fn = int (*)(int, int);
using Dup3Fn = int (*)(int, int, int);
using SocketFn = int (*)(int, int, int);
// The waits and getsockopt, for the non-blocking race (nb_race.h).
using PollFn = int (*)(pollfd*, nfds_t, int);
using PpollFn = int (*)(pollfd*, nfds_t, const timespec*, const sigset_t*);
using SelectFn = int (*)(int, fd_set*, fd_set*, fd_set*, timeval*);
using PselectFn = int (*)(int, fd_set*, fd_set*, fd_set*, const timespec*, const sigset_t*);
using GetsockoptFn = int (*)(int, int, int, void*, socklen_t*);
using SetsockoptFn = int (*)(int, int, int, const void*, socklen_t);
using EpollCtlFn = int (*)(int, int, int, epoll_event*);
using EpollWaitFn = int (*)(int, epoll_event*, int, int);
using EpollPwaitFn = int (*)(int, epoll_event*, int, int, const sigset_t*);
using EpollPwait2Fn = int (*)(int, epoll_event*, int, const timespec*, const sigset_t*);
// fcntl and ioctl: what the program changes of its sockets' file status flags (known_fds.h).
using FcntlFn = int (*)(int, int, ...);
using IoctlFn = int (*)(int, unsigned long, ...);

// Resolves `name`, refusing `self` (the hook's own address). Null only if libc itself
// lacks the symbol (close_range on an old glibc).
void* resolve(const char* name, const void* self) noexcept;

// Inside libmif-engine.so (dlopened by the libmif.so stub, RTLD_LOCAL), RTLD_NEXT would
// search the program's global scope from the start and find the stub's own hooks. The
// stub hands over its own "next" lookup instead (mif_engine_init), which keeps the chain
// of any other LD_PRELOAD library after libmif.so intact.
using NextFn = void* (*)(const char* name);
void setNext(NextFn next) noexcept;

// One cached pointer per function. `self` is the exported hook of the same name; pass
// nullptr from code that is not inside the shared object (unit tests).
template <typename Fn>
struct Symbol {
  const char* name;
  mutable std::atomic<Fn> fn{nullptr};

  Fn get(const void* self = nullptr) const noexcept {
    Fn f = fn.load(std::memory_order_relaxed);
    if (f == nullptr) {
      f = reinterpret_cast<Fn>(resolve(name, self));
      fn.store(f, std::memory_order_relaxed);
    }
    return f;
  }
};

extern Symbol<ConnectFn> connect;
extern Symbol<BindFn> bind;
extern Symbol<ListenFn> listen;
extern Symbol<AcceptFn> accept;
extern Symbol<Accept4Fn> accept4;
extern Symbol<SendtoFn> sendto;
extern Symbol<SendmsgFn> sendmsg;
extern Symbol<SendmmsgFn> sendmmsg;
extern Symbol<CloseFn> close;
extern Symbol<CloseRangeFn> closeRange;
extern Symbol<ClosefromFn> closefrom;
extern Symbol<Dup2Fn> dup2;
extern Symbol<Dup3Fn> dup3;
extern Symbol<SocketFn> socket;
extern Symbol<PollFn> poll;
extern Symbol<PpollFn> ppoll;
extern Symbol<SelectFn> select;
extern Symbol<PselectFn> pselect;
extern Symbol<GetsockoptFn> getsockopt;
extern Symbol<SetsockoptFn> setsockopt;
extern Symbol<EpollCtlFn> epollCtl;
extern Symbol<EpollWaitFn> epollWait;
extern Symbol<EpollPwaitFn> epollPwait;
extern Symbol<EpollPwait2Fn> epollPwait2;
extern Symbol<FcntlFn> fcntl;
extern Symbol<FcntlFn> fcntl64;
extern Symbol<FcntlFn> fcntlAlias;  // __fcntl
extern Symbol<IoctlFn> ioctl;

}  // namespace mif::preload::real
