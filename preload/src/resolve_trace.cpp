// The resolve engine's outcome names and its trace lines (resolve_engine.h): one line per
// resolver call, with the decision when there was one (docs/trace.md).
#include <netdb.h>
#include <time.h>

#include <iterator>
#include <span>

#include "guard.h"
#include "resolve_engine.h"
#include "trace.h"

namespace mif::preload::resolve {

int herrnoForEai(int eai) noexcept {
  switch (eai) {
    case 0:
      return NETDB_SUCCESS;
    case EAI_NONAME:
      return HOST_NOT_FOUND;
    case EAI_NODATA:
      return NO_DATA;
    case EAI_AGAIN:
      return TRY_AGAIN;
    case EAI_FAIL:
      return NO_RECOVERY;
    default:
      return h_errno;
  }
}

const char* eaiName(int rc) noexcept {
  switch (rc) {
    case 0: return "OK";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
    case EAI_NODATA: return "EAI_NODATA";
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
    default: return "EAI_OTHER";
  }
}

const char* herrName(int herr) noexcept {
  switch (herr) {
    case NETDB_SUCCESS: return "OK";
    case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
    case TRY_AGAIN: return "TRY_AGAIN";
    case NO_RECOVERY: return "NO_RECOVERY";
    case NO_DATA: return "NO_DATA";
    case NETDB_INTERNAL: return "NETDB_INTERNAL";
    default: return "H_ERRNO_OTHER";
  }
}

int64_t tracingUs() noexcept {
  const Runtime* rt = Runtime::peek();
  return rt != nullptr && rt->traceSink().enabled() ? monotonicUs() : 0;
}

namespace {

void writeCallLine(Runtime* rt, const Plan* p, std::string_view call, std::string_view name,
                   std::string_view note, std::string_view status, int64_t startUs) noexcept {
  if (rt == nullptr || !rt->traceSink().enabled()) return;
  TraceLine line(call);
  auto& j = line.o();
  j.str("name", name);
  j.str("note", note);
  j.str("status", status);
  if (p != nullptr) {
    const policy::Policy* pol = rt->policyOrNull();
    const char* names[policy::kMaxListed];
    size_t n = 0;
    for (unsigned i = 0; pol != nullptr && i < p->decision.count && n < std::size(names); ++i)
      if (p->decision.pvds[i] < pol->pvds().size()) names[n++] = pol->pvds()[p->decision.pvds[i]].name.c_str();
    j.strings("pvds", std::span<const char* const>(names, n));
    j.boolean("strict", p->decision.strict);
    j.str("step_name", policy::stepName(p->decision.step));
  }
  if (startUs != 0) j.num("us", monotonicUs() - startUs);
  line.emit(rt->traceSink());
}

}  // namespace

void traceNote(const Plan& p, std::string_view call, std::string_view name, std::string_view note,
               std::string_view status) noexcept {
  writeCallLine(p.rt, &p, call, name, note, status, p.startUs);
}

void Answer::finish(std::string_view status) const noexcept {
  if (note == nullptr) return;
  const std::string_view name = textLen_ > 0       ? std::string_view(text_, textLen_)
                                : name_ != nullptr ? std::string_view(name_)
                                                   : std::string_view();
  if (decided) {
    traceNote(plan, call_, name, note, status);
  } else if (!ReentryGuard::active()) {
    // Left to glibc before anything was decided: the line without a decision, once the
    // runtime exists.
    writeCallLine(Runtime::get(), nullptr, call_, name, note, status, start_);
  }
}

}  // namespace mif::preload::resolve
