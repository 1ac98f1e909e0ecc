#pragma once
// Small helpers shared by the subcommands: the error format of DESIGN.md's command-line
// contract ("mif: <what>: <why>" on stderr) and exit codes.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/policy.h"

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

// JSON string literal with escapes (quotes included).
std::string jsonString(std::string_view s);

// Plain decimal digits (no sign, no spaces) whose value is in [lo, hi]: ports, counts,
// milliseconds. False otherwise, *out untouched.
bool parseNumber(std::string_view s, long lo, long hi, long* out);

// "a,b,,c" -> {"a", "b", "c"}: the lists of --pvd and --dns.
std::vector<std::string> splitCommas(std::string_view s);

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
// prints "mif: CMD: --dns X: not an IP address" and exits with kExitUsage.
bool pvdSelectionOption(Args& args, PvdSelection* sel);
// The policy as the library would see it: the system and user layers when their files
// exist, then each --policy file, compiled with `pin`. Every diagnostic goes to stderr;
// nullopt when one is an error or a --policy file cannot be read ("mif: CMD: --policy F:
// why").
std::optional<policy::Policy> compileLayers(std::string_view command, const std::vector<std::string>& policyFiles,
                                            const policy::Pin& pin);

}  // namespace mif::cli
