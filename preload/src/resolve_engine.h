#pragma once
// The resolve engine: one entry, resolve(Query) -> Answer, behind every resolver API
// (getaddrinfo, gethostbyname*, gethostbyaddr*, getnameinfo, res_*). It owns what every
// API shares: which names and addresses glibc keeps, the pinned snapshot, the decision
// (per-PvD order, strictness), the lookup through the per-PvD resolver (its cache and DNS
// tags), the fallback to glibc when nothing is decided or (not strict) every PvD failed,
// the strict refusal, and the call's trace line. The hooks (hook_resolve*.cpp) are thin:
// they translate their arguments into a Query, call the real function when the Answer
// says glibc's, and otherwise shape the Answer into the API's own result, errno and
// h_errno.
//
//   hook ──Query──▶ resolve() ── glibc's name? ──────────────────────▶ Verdict::Libc
//                      │ plan: runtime, snapshot (pinned), decide(), process default
//                      ├─ unmanaged / nothing usable, not strict ──────▶ Verdict::Libc
//                      ├─ strict, nothing usable ─────────────────────▶ Verdict::Refused
//                      │ Query::before (the API's own checks first, as glibc makes them)
//                      │ Resolver::lookup / reverse / raw, PvD after PvD
//                      ├─ every PvD failed: strict ───────────────────▶ Verdict::Refused
//                      ├─ every PvD failed: not strict ───────────────▶ Verdict::Libc
//                      └─ a PvD answered (Ok, NXDOMAIN, NODATA...) ──▶ Verdict::Answered
//   hook: Libc → the real function; else the API's result from the Answer; then
//   Answer::finish(status) writes the call's one trace line.
//
// Threading: any thread. resolve() blocks as glibc's resolver does (up to the resolver's
// timeouts), with pthread cancellation disabled and the re-entry guard set; it leaves
// errno as it found it.
#include <pthread.h>

#include <string_view>

#include "mif/dns/resolver.h"
#include "mif/policy/policy.h"
#include "mif/view/live_view.h"
#include "mif/view/snapshot.h"
#include "monotonic.h"
#include "runtime.h"

namespace mif::preload::resolve {

enum class Route : uint8_t {
  Libc,     // not ours: the real libc function, glibc's behaviour exactly
  Managed,  // through the PvDs of `decision`
  Blocked,  // strict and no usable PvD (or the strict policy failed to load)
};

// The decision for one call and what it needs, held for the whole call: a lookup blocks up
// to the DNS timeout, and the answer is built from this snapshot afterwards (the view may
// have been replaced meanwhile).
struct Plan {
  Route route = Route::Libc;
  policy::Decision decision;
  view::SnapshotRef snap;
  dns::Lookups* resolver = nullptr;
  Runtime* rt = nullptr;
  int64_t startUs = 0;  // when the call began (the trace's "us")
  const view::BoundPvd* first() const;  // the first PvD of the decision, or null
  const view::BoundPvd* pvd(int id) const;
};

struct Query;
// An API's own step between the decision and the first query (glibc makes these checks
// before any lookup: getaddrinfo's flags, family and service, AI_ADDRCONFIG on the PvD;
// getnameinfo's service part). May narrow the query's families. 0, or the API's error code,
// which ends the call (Verdict::Error) with nothing sent.
using BeforeFn = int (*)(void* ctx, const Plan& plan, Query* q);

struct Query {
  enum class Kind : uint8_t {
    Name,     // A/AAAA of a name (getaddrinfo, gethostbyname*)
    Address,  // PTR of an address (gethostbyaddr*, getnameinfo)
    Record,   // one record type, raw (res_*); a reverse name is decided by its address
  };
  Kind kind = Kind::Name;
  const char* call = "";           // the API, as the trace names it
  const char* name = nullptr;      // Name, Record: as the program gave it (NUL-terminated)
  policy::IpAddress address;       // Address
  bool noAddress = false;          // Address: the program gave none the engine can read
  bool want4 = true, want6 = true;  // Name
  int cls = 0, type = 0;           // Record
  bool search = false;             // Record: res_search's search list
  // Set by the hook when its own arguments leave the call to glibc before anything is
  // decided ("no name: glibc", "not an inet family: glibc"): the trace's note.
  const char* libcBecause = nullptr;
  BeforeFn before = nullptr;
  void* beforeCtx = nullptr;
};

enum class Verdict : uint8_t {
  Libc,      // glibc answers: the hook calls the real function
  Refused,   // strict: no usable PvD, or every PvD failed (TRY_AGAIN in the API's terms)
  Answered,  // a PvD answered: `dns` (Name, Address) or `raw` (Record)
  Error,     // Query::before's code in `error`, or the engine failed (out of memory)
};

class Answer {
 public:
  Answer() = default;
  Answer(Answer&&) = default;
  Answer& operator=(Answer&&) = default;

  Verdict verdict = Verdict::Libc;
  int error = 0;             // Verdict::Error: the API's code (0: out of memory, below)
  bool outOfMemory = false;  // Verdict::Error: the engine itself ran out of memory
  bool asked = false;        // Query::before ran (the lookup was under way)
  dns::Answer dns;
  dns::RawAnswer raw;
  Plan plan;

  // The call's one trace line with its final status ("OK", "EAI_AGAIN", "TRY_AGAIN"...),
  // once the result (mif's or glibc's) is known. Free when the trace is off; no line for
  // a call of the library itself.
  void finish(std::string_view status) const noexcept;
  // What happened, or why glibc got the call; null: no trace line.
  const char* note = nullptr;
  bool decided = false;  // plan.decision is the call's (the line names its PvDs)

 private:
  friend Answer resolve(const Query& q) noexcept;
  const char* call_ = "";
  const char* name_ = nullptr;
  char text_[64] = {};  // the trace's name when it is an address (then textLen_ > 0)
  size_t textLen_ = 0;
  int64_t start_ = 0;
};

// The one entry. Never throws; leaves errno as it found it.
Answer resolve(const Query& q) noexcept;

// The resolver `rt` asks: its seam when a test gave one (Runtime::Config::resolver), else
// the one per-process Resolver (its cache and DNS tags), made on first use; also what the
// C API's mif_getaddrinfo asks inside `mif run` (hook_api.cpp).
dns::Lookups* resolverFor(Runtime* rt);

// Trace lines (docs/trace.md); free when tracing is off. traceNote: a decided call with its
// note and status, for callers that make their own plan (hook_api.cpp).
void traceNote(const Plan& p, std::string_view call, std::string_view name, std::string_view note,
               std::string_view status) noexcept;
const char* eaiName(int rc) noexcept;             // "EAI_AGAIN", ..., "OK" for 0
const char* herrName(int herr) noexcept;          // "TRY_AGAIN", ..., "OK" for 0
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
