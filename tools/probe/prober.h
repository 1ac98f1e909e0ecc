#pragma once
// `mif run`'s prober (docs/architecture.md, "Active probes"): probes the PvDs whose policy
// table has `probe` every `probe_interval_ms` while the program runs, through each PvD
// only (probe.h, as `mif probe`), asks their captive portals (portal.h), and publishes the
// verdicts in a file the program's library reads (mif/view/probe_results.h).
//
// It is a process of its own, not a thread of the program: a thread would show in the
// program's /proc/self/task, share its signals and be lost at fork; a child of the
// program would show to its wait() and SIGCHLD. So `mif run` forks it twice before it
// execs the program: the prober is nobody's child but init's (or a subreaper's), in a
// session of its own (no terminal signal, no process-group kill reaches it), with
// /dev/null for its standard streams and nothing else of mif run's descriptors. It ends
// when mif run's process ends (the program, which mif run became, or the supervisor under
// --enforce): it holds a pidfd of it and polls it between rounds, and removes its file.
#include <string>

#include "mif/policy/policy.h"

namespace mif::probe {

struct ProberStart {
  std::string path;   // the results file to hand over as MIF_PROBES ("" when none)
  std::string error;  // why no prober runs when some PvD has `probe` ("" otherwise)
};

// Starts the prober when some PvD of `policy` has `probe`, and waits for its first round
// (at most the longest probe timeout and 1.2 s): the program starts knowing it. Call
// it from a single-threaded process.
ProberStart startProber(const policy::Policy& policy);

}  // namespace mif::probe
