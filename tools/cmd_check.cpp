// Placeholder until its issue lands: says so plainly and fails.
#include "cli.h"
#include "commands.h"

namespace mif::cmd {
int check(int, char**) {
  cli::error("check", "not implemented yet");
  return cli::kExitFailure;
}
}  // namespace mif::cmd
