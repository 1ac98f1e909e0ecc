#pragma once
// Shared by the resolver hooks (hook_resolve*.cpp): which PvDs resolve a name or own an
// address, and the one per-process Resolver. Hooks stay thin: they translate the call,
// ask here, call the engine (mif/dns) and shape the result as glibc would.
#include <pthread.h>

#include <string_view>

#include "mif/dns/resolver.h"
#include "mif/policy/policy.h"
#include "mif/view/live_view.h"
#include "mif/view/snapshot.h"
#include "runtime.h"

namespace mif::preload::resolve {

enum class Route : uint8_t {
  Libc,     // not ours: the real libc function, glibc's behaviour exactly
  Managed,  // through the PvDs of `decision`
  Blocked,  // strict and no usable PvD (or the strict policy failed to load): EAI_AGAIN
};

struct Plan {
  Route route = Route::Libc;
  policy::Decision decision;
  // Held for the whole call: a lookup blocks up to the DNS timeout, and the answer is
  // built from this snapshot afterwards (the view may have been replaced meanwhile).
  view::SnapshotRef snap;
  dns::Resolver* resolver = nullptr;
  Runtime* rt = nullptr;
  const view::BoundPvd* first() const;  // the first PvD of the decision, or null
  const view::BoundPvd* pvd(int id) const;
};

// For a name the program asked (getaddrinfo, gethostbyname*, res_*).
Plan planForName(const char* name) noexcept;
// For an address to look up in reverse: the PvD its tag names, or whose prefixes hold it.
Plan planForAddress(const policy::IpAddress& addr) noexcept;

// Writes a trace line for a call mif refused (strict) or handed back to libc after every
// PvD failed; free when tracing is off.
void traceNote(const Plan& p, std::string_view call, std::string_view name,
               std::string_view note) noexcept;

// errno and h_errno after a lookup mif answered itself: what glibc 2.36 with
// "hosts: files dns" leaves after the same call answered through DNS (measured by
// tests/e2e/programs/errno_probe.c; e2e_strict_every_path compares both in one run).
// Side effects of glibc's internals, but visible to a program, so mif repeats them:
// - getaddrinfo: success errno 0, h_errno 0; a failure keeps errno and sets h_errno.
// - gethostbyname*, _r: errno the _r form's return value (0 also for "not found");
//   h_errno HOST_NOT_FOUND also on success (res_search presets it and never clears it).
// - gethostbyaddr*: errno the _r return value; h_errno untouched on success.
// - res_query, res_querydomain: errno 0; h_errno untouched on success. res_search:
//   h_errno HOST_NOT_FOUND on success, as above.
// - getnameinfo: errno 0, h_errno untouched.
// A failure's h_errno is always the call's own (HOST_NOT_FOUND, NO_DATA, TRY_AGAIN, ...).
int herrnoForEai(int eai) noexcept;  // the h_errno glibc's getaddrinfo leaves with `eai`

// Blocks pthread cancellation while the engine runs (C++ frames, locks and c-ares state
// must not be unwound halfway), restoring the caller's state afterwards.
class NoCancel {
 public:
  NoCancel() noexcept { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_); }
  ~NoCancel() { pthread_setcancelstate(old_, nullptr); }
  NoCancel(const NoCancel&) = delete;
  NoCancel& operator=(const NoCancel&) = delete;

 private:
  int old_ = 0;
};

}  // namespace mif::preload::resolve
