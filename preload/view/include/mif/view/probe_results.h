#pragma once
// What `mif run`'s prober found of each PvD whose policy table has `probe`
// (docs/architecture.md, "Active probes"): one file per run, RUN_DIR/probe/run-PID
// ($MIF_RUN_DIR, else /run/mif; PID: mif run's process, which becomes the program, or the
// supervisor under --enforce), named to the program by MIF_PROBES, replaced atomically
// after every round (a temporary file in the same directory renamed over it), removed when
// the run ends. This file is the format's one writer (the prober) and its one reader
// (parseProbeResults: the library's probe watch, preload/src/probe_watch.cpp, and
// readProbeFile below for `mif show` and `mif explain`).
//
//   mif-probes 1 run 6f1c0c5e-8c1d-4c5e-9c7e-2b0a4a1d9f3e/81234
//   wifi down -
//   cell ok captive
//
// The header's `run` names the run's process as no later process can be named: the boot
// (/proc/sys/kernel/random/boot_id) and the process's start time in clock ticks since boot
// (/proc/PID/stat, field 22; exec keeps it). A reader takes the file as a running
// program's only when /proc/PID/stat says the same now: a PID reused after a crashed run
// (whose prober was killed too, so nobody removed the file) names another start time. The
// library ignores the field (its file is its own, named by MIF_PROBES).
// One line per probed PvD: its policy name, the verdict (ok, poor, down; "-": not judged,
// e.g. its link is down, which the live view knows anyway) and its captive portal (open,
// captive; "-": none announced, or not asked). Unknown verdicts and lines are ignored, so
// a later version may add fields after these.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mif::view {

enum class ProbeVerdict : uint8_t { None, Ok, Poor, Down };
enum class PortalVerdict : uint8_t { None, Open, Captive };

struct ProbeLine {
  std::string_view name;
  ProbeVerdict verdict = ProbeVerdict::None;
  PortalVerdict portal = PortalVerdict::None;
};

// Where a prober of process `pid` publishes: RUN_DIR/probe/run-PID.
std::string probeResultsPath(long pid);

// The `run` token of process `pid` (BOOT_ID/START_TICKS), "" when /proc does not say.
std::string probeRunToken(long pid);

// The file's text for `lines`, of the run `run` (probeRunToken of the run's process; ""
// writes a header without it, which no reader takes for a running program's).
std::string formatProbeResults(const std::vector<ProbeLine>& lines, std::string_view run = {});

// Writes `text` to `path` atomically (temporary file + rename), creating the directory
// (mode 0755) when it is missing. False with `why` otherwise.
bool writeProbeResults(const std::string& path, const std::string& text, std::string* why);

// Calls fn(ctx, line) for each PvD line of `text`, in order; false when the header is not
// "mif-probes 1", alone or followed by a space and fields (nothing called). No allocation, no system call: the library reads the
// file into a buffer of its own and parses it here.
bool parseProbeResults(std::string_view text, void (*fn)(void* ctx, const ProbeLine& line),
                       void* ctx) noexcept;

// What a verdict tells a PvD's health, as the `reason` of a trace `health` line (the
// library's and the --enforce supervisor's).
const char* probeReason(ProbeVerdict v) noexcept;

// The words of the format ("-" for None), for what the commands print.
const char* probeVerdictWord(ProbeVerdict v) noexcept;
const char* portalVerdictWord(PortalVerdict p) noexcept;

// One results file as the commands read it (`mif show`, `mif explain --probes`).
struct ProbeFile {
  struct Line {
    std::string name;
    ProbeVerdict verdict = ProbeVerdict::None;
    PortalVerdict portal = PortalVerdict::None;
  };
  std::string path;
  long pid = 0;          // from the name run-PID (0 when it has none)
  std::string run;       // the header's run token ("" when it has none)
  std::string program;   // the process's command name (/proc/PID/comm), "" when unknown
  int64_t ageMs = 0;     // since the prober last replaced it (the end of its last round)
  std::vector<Line> lines;
  // The line of PvD `name`, or null.
  const Line* of(std::string_view name) const noexcept;
};

// Reads `path`; false with `why` when it cannot be read or is not this format.
bool readProbeFile(const std::string& path, ProbeFile* out, std::string* why);

// The files of running programs in `dir` (RUN_DIR/probe): run-PID whose header's run token
// is PID's now (probeRunToken; one left by a run that crashed is skipped, even when its PID
// has been reused since), by PID.
std::vector<ProbeFile> runningProbes(const std::string& dir);
// RUN_DIR/probe.
std::string probeDir();

}  // namespace mif::view
