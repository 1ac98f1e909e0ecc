#pragma once
// Small helpers shared by the subcommands: the error format of DESIGN.md's command-line
// contract ("mif: <what>: <why>" on stderr) and exit codes.
#include <string>
#include <string_view>

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

}  // namespace mif::cli
