// getaddrinfo through the right PvD (issue 6): a thin translation into the resolve engine
// (resolve_engine.h, resolve_addrinfo.h) and of its Answer into getaddrinfo's result.
//
// getaddrinfo_a is deliberately not interposed. Since glibc 2.34 it lives in libc.so and
// its helper threads call libc's internal getaddrinfo, not the PLT, so its lookups go to
// the system resolver; re-implementing it would mean re-implementing gai_suspend,
// gai_error and gai_cancel too, which share libc-private request lists. Programs that use
// it (rare: a few mail and monitoring tools) resolve as without mif; their connects are
// still pinned by the socket hooks (policy steps 1-3, 5-6 apply to the address).
#include <netdb.h>

#include "guard.h"
#include "hook.h"
#include "real_libc.h"
#include "resolve_addrinfo.h"

using namespace mif::preload;
using namespace mif::preload::resolve;
namespace dns = mif::dns;

namespace {
real::Symbol<dns::GetaddrinfoFn> realGetaddrinfo{"getaddrinfo"};
}  // namespace

extern "C" {

MIF_EXPORT int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                           addrinfo** res) noexcept {
  dns::GetaddrinfoFn libcGai = realGetaddrinfo.get(reinterpret_cast<const void*>(&getaddrinfo));
  if (libcGai == nullptr) {
    errno = ENOSYS;
    return EAI_SYSTEM;
  }
  if (node == nullptr || ReentryGuard::active()) return libcGai(node, service, hints, res);
  // Whatever mif does leaves errno as the program had it: every return below restores it,
  // and a call handed to libc gets it back first.
  const ErrnoKeeper keep;
  static const addrinfo kDefaultHints = [] {
    addrinfo h{};
    h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;  // glibc's default_hints (AI_DEFAULT)
    return h;
  }();
  const addrinfo* h = hints != nullptr ? hints : &kDefaultHints;
  int rc = memoAnswer(node, service, *h, res);
  if (rc == 0) {
    errno = 0;  // see resolve_engine.h: what glibc leaves after a success
    h_errno = NETDB_SUCCESS;
    return 0;
  }
  if (rc == EAI_MEMORY) {
    keep.restore();
    h_errno = herrnoForEai(rc);
    return rc;
  }
  AddrinfoCall call(node, service, *h, libcGai);
  const Answer a = resolve::resolve(call.query());
  if (a.verdict == Verdict::Libc) {
    keep.restore();
    rc = libcGai(node, service, hints, res);
  } else {
    rc = call.result(a, res);
    keep.restore();
    if (rc == 0) errno = 0;  // see resolve_engine.h: what glibc leaves
    h_errno = herrnoForEai(rc);
  }
  a.finish(eaiName(rc));
  return rc;
}

}  // extern "C"
