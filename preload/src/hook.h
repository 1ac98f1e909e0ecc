#pragma once
// Shared by the hook files (hook_*.cpp): the export macro. Only the hooks are visible
// (-fvisibility=hidden elsewhere, and libmif.map lists them).
//
// Exception specifications follow glibc's declarations: the calls that are cancellation
// points (connect, accept, sendto, sendmsg, sendmmsg, close) are not noexcept, because
// pthread_cancel unwinds through the real call and so through the hook; a noexcept frame
// there would turn a cancellation into std::terminate. Everything the hooks call before
// the real function is noexcept, so no C++ exception ever leaves a hook.
#include <cerrno>

#define MIF_EXPORT __attribute__((visibility("default")))

namespace mif::preload {

// Restores errno on scope exit: the program must not see errno changed by the library's
// own system calls when its call succeeds.
class ErrnoKeeper {
 public:
  ErrnoKeeper() noexcept : saved_(errno) {}
  void restore() const noexcept { errno = saved_; }

 private:
  int saved_;
};

// Restores errno when the scope ends, on whichever path leaves it; leave(e) makes the
// scope end with errno = e instead (what glibc leaves for the outcome at hand).
class ErrnoScope {
 public:
  ErrnoScope() noexcept : saved_(errno) {}
  ~ErrnoScope() { errno = saved_; }
  void leave(int e) noexcept { saved_ = e; }
  ErrnoScope(const ErrnoScope&) = delete;
  ErrnoScope& operator=(const ErrnoScope&) = delete;

 private:
  int saved_;
};

}  // namespace mif::preload
