#pragma once
// Small helpers shared by the subcommands: the error format of DESIGN.md's command-line
// contract ("mif: <what>: <why>" on stderr) and exit codes.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/json.h"
#include "mif/policy/policy.h"

namespace mif::view {
struct Snapshot;
}

namespace mif::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
// `mif run` only (as env(1) does):
inline constexpr int kExitRunFailed = 125;
inline constexpr int kExitCannotExecute = 126;
inline constexpr int kExitNotFound = 127;

// Prints "mif: WHAT: WHY" to stderr.
void error(std::string_view what, std::string_view why);
// Prints "mif: MESSAGE" to stderr.
void error(std::string_view message);

// --json output is written through the one JSON writer (mif/policy/json.h). The members
// that are null when empty:
using JsonObject = json::Object<json::StringSink>;
inline JsonObject& strOrNull(JsonObject& o, std::string_view key, std::string_view value) {
  return value.empty() ? o.null(key) : o.str(key, value);
}

// Plain decimal digits (no sign, no spaces) whose value is in [lo, hi]: ports, counts,
// milliseconds. False otherwise, *out untouched.
bool parseNumber(std::string_view s, long lo, long hi, long* out);

// "a,b,,c" -> {"a", "b", "c"}: the lists of --pvd and --dns.
std::vector<std::string> splitCommas(std::string_view s);

// The names of a --pvd value ("a,b") appended to *out; false when it names none ("", ","):
// the caller refuses it (kExitUsage, or 125 for `mif run`), as an empty variable in
// `--pvd "$PVD" --strict` would otherwise silently mean no --pvd at all.
bool pvdNames(std::string_view value, std::vector<std::string>* out);
// The error for such a value: "mif: COMMAND: --pvd 'VALUE': names no PvD (try ...)";
// `command` empty for `mif run`, whose errors name the option alone.
void noPvdNamedError(std::string_view command, std::string_view value);

// Walks a subcommand's arguments (argv[0] is the subcommand's name):
//
//   cli::Args args("show", argc, argv);
//   while (args.next()) {
//     if (args.is("--json")) ...
//     else if (args.value("--policy", &v)) ...   // "--policy FILE" or "--policy=FILE"
//   }
//
// An option given without its value prints "mif: CMD: OPT: needs a value (try 'mif CMD
// --help')" and exits with kExitUsage (nothing has been done yet while options are read).
class Args {
 public:
  Args(std::string_view command, int argc, char** argv)
      : command_(command), argc_(argc), argv_(argv) {}
  bool next();
  const std::string& arg() const { return arg_; }
  bool is(std::string_view flag) const { return arg_ == flag; }
  bool value(std::string_view opt, std::string* out);
  const std::string& command() const { return command_; }
  // The arguments after the current one, which the walk then skips (after "--").
  std::vector<std::string> rest();

 private:
  std::string command_;
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string arg_;
};

// Which policy and PvDs `mif show` and `mif probe` look at: --policy FILE (repeatable, the
// command-line layer), --pvd NAME[,NAME...] and --dns ADDR (ad hoc PvDs), as `mif run`.
struct PvdSelection {
  std::vector<std::string> policyFiles;
  policy::Pin pin;
};
// True when the current argument was one of those options. A --dns that is not an address
// prints "mif: CMD: --dns X: not an IP address" (X: the bad one of a comma-separated list)
// and exits with kExitUsage.
bool pvdSelectionOption(Args& args, PvdSelection* sel);
// The policy as the library would see it: the system and user layers when their files
// exist, then the command-line layer (each --policy file, or inside a lab its policy: see
// commandLineLayer below), compiled with `pin`. Every diagnostic goes to stderr; nullopt
// when one is an error or a command-line file cannot be read ("mif: CMD: --policy F: why",
// "mif: CMD: MIF_LAB_POLICY F: why").
std::optional<policy::Policy> compileLayers(std::string_view command, const std::vector<std::string>& policyFiles,
                                            const policy::Pin& pin);

// --- Inside a lab ----------------------------------------------------------------------
// `mif lab exec NAME` (in the node) sets MIF_LAB=NAME and MIF_LAB_POLICY=the lab's
// policy.toml; every command then takes that policy as its command-line layer unless
// --policy is given. These variables are the command's, not the library's: `mif run`
// hands the file to libmif.so as MIF_POLICY, as it does a --policy file.
inline constexpr const char* kLabEnv = "MIF_LAB";
inline constexpr const char* kLabPolicyEnv = "MIF_LAB_POLICY";

struct LabContext {
  std::string name;    // MIF_LAB ("" when only MIF_LAB_POLICY is set)
  std::string policy;  // MIF_LAB_POLICY
};
// The lab this command runs in, from the environment; nullopt outside a lab (or when
// MIF_LAB_POLICY is unset or empty).
std::optional<LabContext> labContext();

// The command-line layer's files: `policyFiles` (the --policy options) when any is given,
// else the lab's policy inside a lab, else none.
std::vector<std::string> commandLineLayer(const std::vector<std::string>& policyFiles);
// True when commandLineLayer(policyFiles) is the lab's policy.
bool commandLineFromLab(const std::vector<std::string>& policyFiles);
// How a command-line file is named in an error: "--policy F", or "MIF_LAB_POLICY F".
std::string policyArgName(const std::string& file, const std::vector<std::string>& policyFiles);
// Why a command-line file cannot be read ("" when it can): strerror, and inside a lab
// whose policy it is, a hint that the lab may be down.
std::string unreadablePolicy(const std::string& file, const std::vector<std::string>& policyFiles);

// One layer in force: "system", "user" or "command line", its file, and where the
// command-line file came from ("--policy", or "lab NAME, MIF_LAB_POLICY").
struct LayerInForce {
  std::string layer;
  std::string file;
  std::string from;
};
// The layers the commands load: the system and user files that exist, then
// commandLineLayer(policyFiles) (or explicit system/user paths, "" for none, as
// explain's --system-policy/--user-policy give).
std::vector<LayerInForce> layersInForce(const std::vector<std::string>& policyFiles);
std::vector<LayerInForce> layersInForce(const std::string& systemFile, const std::string& userFile,
                                        const std::vector<std::string>& policyFiles);
// "LAYER: FILE (FROM)" for a text header.
std::string layerText(const LayerInForce& l);
// The layers as a JSON array of {"layer","file","from"} objects.
std::string layersJson(const std::vector<LayerInForce>& layers);

// For an error about an unknown PvD: "PvDs of the policy: wifi (wlan0), vpn (tun0);
// interfaces: lo, tun0, wlan0" — the policy's own PvDs (not the ad hoc ones) and, when
// `snap` could be read, the interfaces there are.
std::string knownPvds(const policy::Policy& p, const view::Snapshot* snap);
// Inside a lab, which lab and which policy are in force ("" outside one): "in lab NAME:
// the command-line layer is its policy F" or, when --policy was given, "in lab NAME:
// --policy replaces its policy F".
std::string labNote(const std::vector<std::string>& policyFiles);
// Prints the unknown-PvD error: "mif: WHAT: WHY; PvDs of the policy: ...; interfaces: ..."
// and, inside a lab, a second line "mif: in lab NAME: ...".
void unknownPvdError(std::string_view what, std::string_view why, const policy::Policy& p,
                     const view::Snapshot* snap, const std::vector<std::string>& policyFiles);

}  // namespace mif::cli
