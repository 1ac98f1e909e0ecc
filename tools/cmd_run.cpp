// Placeholder until its issue lands: says so plainly and fails.
#include "cli.h"
#include "commands.h"

namespace mif::cmd {
int run(int, char**) {
  cli::error("run", "not implemented yet");
  return cli::kExitFailure;
}
}  // namespace mif::cmd
