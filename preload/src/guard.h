#pragma once
// Thread-local re-entrancy guard: while set, the library itself is on the stack (its
// initialisation, the live view's netlink socket, the resolver's queries), and every hook
// hands the call straight to libc without deciding anything.
//
// initial-exec TLS: the library is preloaded, so its TLS block is static and reading the
// flag is one load, with no __tls_get_addr (which may allocate) — safe in a signal handler.
namespace mif::preload {

class ReentryGuard {
 public:
  ReentryGuard() noexcept : outer_(active_) { active_ = true; }
  ~ReentryGuard() { active_ = outer_; }
  ReentryGuard(const ReentryGuard&) = delete;
  ReentryGuard& operator=(const ReentryGuard&) = delete;

  static bool active() noexcept { return active_; }

 private:
  bool outer_;
  // constinit: every translation unit knows it needs no dynamic initialisation, so each
  // access is the plain TLS load, never a call through a TLS wrapper function.
  static constinit thread_local bool active_ __attribute__((tls_model("initial-exec")));
};

}  // namespace mif::preload
