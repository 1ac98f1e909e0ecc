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
  int64_t startUs = 0;  // when the call began (the trace's "us")
  const view::BoundPvd* first() const;  // the first PvD of the decision, or null
  const view::BoundPvd* pvd(int id) const;
};

// The one per-process Resolver (its cache and DNS tags), made on first use; also what
// the C API's mif_getaddrinfo asks inside `mif run` (hook_api.cpp).
dns::Resolver* resolverFor(Runtime* rt);

// For a name the program asked (getaddrinfo, gethostbyname*, res_*).
Plan planForName(const char* name) noexcept;
// For an address to look up in reverse: the PvD its tag names, or whose prefixes hold it.
Plan planForAddress(const policy::IpAddress& addr) noexcept;

// Trace lines of the resolver hooks (docs/trace.md); free when tracing is off. traceNote:
// a call mif refused (strict) or handed to glibc after every PvD failed; `status` is the
// API's own code ("EAI_AGAIN", "TRY_AGAIN", or the outcome of the system resolver).
void traceNote(const Plan& p, std::string_view call, std::string_view name, std::string_view note,
               std::string_view status) noexcept;
// A call mif left to glibc before deciding anything (`why`: numeric, localhost, /etc/hosts,
// not a valid host name), with glibc's result. Only once the runtime exists.
void traceLibc(std::string_view call, std::string_view name, std::string_view why,
               std::string_view status, int64_t startUs) noexcept;
const char* whyLibc(const char* name) noexcept;  // the `why` for a name leaveToLibc() took
const char* eaiName(int rc) noexcept;             // "EAI_AGAIN", ..., "OK" for 0
const char* herrName(int herr) noexcept;          // "TRY_AGAIN", ..., "OK" for 0
int64_t monotonicUs() noexcept;
// monotonicUs() when the trace is on (the start of a call it will time), else 0: no clock
// read on the hot path of a program that is not traced.
int64_t tracingUs() noexcept;

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

// The trace of one resolver call that may end in glibc (hostent, res_*, getnameinfo):
// the hook fills in what it decided and why, and finish() writes the one line with the
// final status once the result (mif's or glibc's) is known.
struct CallTrace {
  const char* call = "";
  std::string_view name;
  char text[64] = {};          // the name's storage when it is an address
  const char* note = nullptr;  // what happened, or why glibc got the call; null: no line
  bool decided = false;        // `plan` holds the decision
  Plan plan;
  int64_t start = tracingUs();
  void setAddress(const policy::IpAddress& a) noexcept;
  void finish(std::string_view status) noexcept;
};

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
