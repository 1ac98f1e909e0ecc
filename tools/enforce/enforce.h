#pragma once
// `mif run --enforce`: runs a program under seccomp user notification so that programs
// that bypass libc (static binaries, Go) have their sockets decided too. See
// docs/architecture.md, "`mif run --enforce`".
#include <string>

#include "mif/policy/policy.h"

namespace mif::enforce {

struct EnforceOptions {
  // The compiled policy, with the command-line pin applied (Policy::pin()). Must outlive
  // the call. Decisions use it exactly as the preload library does.
  const policy::Policy* policy = nullptr;
  // Where to write one JSON line per decision taken by the supervisor: "" (off),
  // "stderr", or a file path (appended to). Same format as MIF_TRACE, with "by":"enforce".
  std::string trace;
  // The run's probe results file (MIF_PROBES, mif/view/probe_results.h), "" when no PvD
  // is probed: the supervisor's health follows its verdicts as the library's does.
  std::string probes;
};

// Forks, installs the filter in the child, execs argv[0] (PATH searched) with the
// current environment (the caller sets LD_PRELOAD and MIF_* first, so dynamic programs
// are still decided by the library), supervises the whole process tree and returns what
// `mif run` must exit with: the program's status, 128+signal when it was killed, 125 when
// mif itself failed, 126 when the program cannot be executed, 127 when it is not found.
// Errors are printed as "mif: run: ...".
int runEnforced(const EnforceOptions& options, char** argv);

}  // namespace mif::enforce
