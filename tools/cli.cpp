#include "cli.h"

#include "mif/policy/diagnostic.h"

#include <cstdio>

namespace mif::cli {

void error(std::string_view what, std::string_view why) {
  std::fprintf(stderr, "mif: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(why.size()), why.data());
}

void error(std::string_view message) {
  std::fprintf(stderr, "mif: %.*s\n", static_cast<int>(message.size()), message.data());
}

std::string jsonString(std::string_view s) { return policy::jsonString(s); }

}  // namespace mif::cli
