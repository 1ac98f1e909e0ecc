#include "real_libc.h"

#include <dlfcn.h>

namespace mif::preload::real {

namespace {
std::atomic<NextFn> nextFn{nullptr};
}

void setNext(NextFn next) noexcept { nextFn.store(next, std::memory_order_release); }

void* resolve(const char* name, const void* self) noexcept {
  NextFn next = nextFn.load(std::memory_order_acquire);
  void* f = next != nullptr ? next(name) : dlsym(RTLD_NEXT, name);
  if (f != nullptr && f != self) return f;
  // RTLD_NEXT found nothing after us, or found ourselves again: ask libc directly. It is
  // always loaded already, so RTLD_NOLOAD only takes a reference.
  void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  if (libc == nullptr) return nullptr;
  f = dlsym(libc, name);
  dlclose(libc);
  return f == self ? nullptr : f;
}

Symbol<ConnectFn> connect{"connect"};
Symbol<BindFn> bind{"bind"};
Symbol<ListenFn> listen{"listen"};
Symbol<AcceptFn> accept{"accept"};
Symbol<Accept4Fn> accept4{"accept4"};
Symbol<SendtoFn> sendto{"sendto"};
Symbol<SendmsgFn> sendmsg{"sendmsg"};
Symbol<SendmmsgFn> sendmmsg{"sendmmsg"};
Symbol<CloseFn> close{"close"};
Symbol<CloseRangeFn> closeRange{"close_range"};
Symbol<ClosefromFn> closefrom{"closefrom"};
Symbol<Dup2Fn> dup2{"dup2"};
Symbol<Dup3Fn> dup3{"dup3"};
Symbol<SocketFn> socket{"socket"};
Symbol<PollFn> poll{"poll"};
Symbol<PpollFn> ppoll{"ppoll"};
Symbol<SelectFn> select{"select"};
Symbol<PselectFn> pselect{"pselect"};
Symbol<GetsockoptFn> getsockopt{"getsockopt"};
Symbol<SetsockoptFn> setsockopt{"setsockopt"};
Symbol<EpollCtlFn> epollCtl{"epoll_ctl"};
Symbol<EpollWaitFn> epollWait{"epoll_wait"};
Symbol<EpollPwaitFn> epollPwait{"epoll_pwait"};
Symbol<EpollPwait2Fn> epollPwait2{"epoll_pwait2"};
Symbol<FcntlFn> fcntl{"fcntl"};
Symbol<FcntlFn> fcntl64{"fcntl64"};
Symbol<FcntlFn> fcntlAlias{"__fcntl"};
Symbol<IoctlFn> ioctl{"ioctl"};

}  // namespace mif::preload::real
