#include "cli.h"

#include "mif/policy/diagnostic.h"

#include <cstdio>
#include <cstdlib>

namespace mif::cli {

void error(std::string_view what, std::string_view why) {
  std::fprintf(stderr, "mif: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(why.size()), why.data());
}

void error(std::string_view message) {
  std::fprintf(stderr, "mif: %.*s\n", static_cast<int>(message.size()), message.data());
}

std::string jsonString(std::string_view s) { return policy::jsonString(s); }

std::vector<std::string> splitCommas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool Args::next() {
  if (i_ + 1 >= argc_) return false;
  arg_ = argv_[++i_];
  return true;
}

bool Args::value(std::string_view opt, std::string* out) {
  if (arg_.size() > opt.size() && arg_.compare(0, opt.size(), opt) == 0 && arg_[opt.size()] == '=') {
    *out = arg_.substr(opt.size() + 1);
    return true;
  }
  if (arg_ != opt) return false;
  if (i_ + 1 >= argc_) {
    error(command_ + ": " + std::string(opt), "needs a value (try 'mif " + command_ + " --help')");
    std::exit(kExitUsage);
  }
  *out = argv_[++i_];
  return true;
}

std::vector<std::string> Args::rest() {
  std::vector<std::string> out(argv_ + i_ + 1, argv_ + argc_);
  i_ = argc_;
  return out;
}

}  // namespace mif::cli
