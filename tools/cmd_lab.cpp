// Placeholder until its issue lands: says so plainly and fails.
#include "cli.h"
#include "commands.h"

namespace mif::cmd {
int lab(int, char**) {
  cli::error("lab", "not implemented yet");
  return cli::kExitFailure;
}
}  // namespace mif::cmd
