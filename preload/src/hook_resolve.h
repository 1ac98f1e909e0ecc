#pragma once
// Shared by the resolver hooks (hook_resolve*.cpp): which PvDs resolve a name or own an
// address, and the one per-process Resolver. Hooks stay thin: they translate the call,
// ask here, call the engine (mif/dns) and shape the result as glibc would.
#include <pthread.h>

#include <string_view>

#include "mif/dns/resolver.h"
#include "mif/policy/policy.h"
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
  const view::Snapshot* snap = nullptr;
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
