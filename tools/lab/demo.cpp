#include "cli.h"
#include "lab/lab.h"

namespace mif::lab {
int demo(const char*) {
  cli::error("lab demo", "not written yet");
  return cli::kExitFailure;
}
}  // namespace mif::lab
