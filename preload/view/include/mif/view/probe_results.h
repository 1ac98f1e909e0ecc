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
//   mif-probes 1
//   wifi down -
//   cell ok captive
//
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

// The file's text for `lines`.
std::string formatProbeResults(const std::vector<ProbeLine>& lines);

// Writes `text` to `path` atomically (temporary file + rename), creating the directory
// (mode 0755) when it is missing. False with `why` otherwise.
bool writeProbeResults(const std::string& path, const std::string& text, std::string* why);

// Calls fn(ctx, line) for each PvD line of `text`, in order; false when the header is not
// "mif-probes 1" (nothing called). No allocation, no system call: the library reads the
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
  std::string program;   // the process's command name (/proc/PID/comm), "" when unknown
  int64_t ageMs = 0;     // since the prober last replaced it (the end of its last round)
  std::vector<Line> lines;
  // The line of PvD `name`, or null.
  const Line* of(std::string_view name) const noexcept;
};

// Reads `path`; false with `why` when it cannot be read or is not this format.
bool readProbeFile(const std::string& path, ProbeFile* out, std::string* why);

// The files of running programs in `dir` (RUN_DIR/probe): run-PID whose PID is alive
// (one left by a run that crashed is skipped), by PID.
std::vector<ProbeFile> runningProbes(const std::string& dir);
// RUN_DIR/probe.
std::string probeDir();

}  // namespace mif::view
