#pragma once
// TOML -> PolicyDoc with source positions, and every problem of the file (not just the
// first) as a Diagnostic.
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/diagnostic.h"
#include "mif/policy/model.h"

namespace mif::policy {

struct LoadResult {
  PolicyDoc doc;                       // whatever could be read, even when diagnostics has errors
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return !hasErrors(diagnostics); }
};

// Syntax, keys, types and values of one file. References to PvDs are checked later,
// against the merged layers (compile()).
LoadResult loadFile(const std::string& path, Layer layer);
LoadResult loadString(std::string_view text, const std::string& path, Layer layer);

// The default layer files: /etc/mif/policy.toml and $XDG_CONFIG_HOME/mif/policy.toml
// (~/.config/mif/policy.toml); the ones that exist.
std::string systemPolicyPath();
std::string userPolicyPath();

}  // namespace mif::policy
