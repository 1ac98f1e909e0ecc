// Placeholder until its issue lands: says so plainly and fails.
#include "cli.h"
#include "commands.h"

namespace mif::cmd {
int show(int, char**) {
  cli::error("show", "not implemented yet");
  return cli::kExitFailure;
}
}  // namespace mif::cmd
