#pragma once
// Loading the three layers (DESIGN.md "Layers") from their files, as `mif check`,
// `mif explain` and the preload runtime all need to.
#include <string>
#include <vector>

#include "mif/policy/diagnostic.h"
#include "mif/policy/model.h"

namespace mif::policy {

struct LayerFiles {
  std::string system;       // "" = no system layer
  std::string user;         // "" = no user layer
  std::string commandLine;  // --policy FILE; "" = none
  // systemPolicyPath() and userPolicyPath(), no command-line file.
  static LayerFiles defaults();
};

struct LoadedLayers {
  std::vector<PolicyDoc> docs;          // in layer order, only the files that exist
  std::vector<Diagnostic> diagnostics;  // of every file loaded
  bool ok() const { return !hasErrors(diagnostics); }
};

// A system or user file that does not exist is skipped silently (most hosts have none);
// a command-line file that does not exist is an error.
LoadedLayers loadLayers(const LayerFiles& files);

}  // namespace mif::policy
