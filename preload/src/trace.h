#pragma once
// The decision trace (MIF_TRACE): one JSON line per decision, to stderr or appended to a
// file. The file is opened, written and closed for each line (O_APPEND, one write), so the
// library holds no descriptor a program could close or dup2 over, lines from several
// processes of one tree never interleave, and nothing is left open across exec.
#include <string>

namespace mif::preload {

class Trace {
 public:
  void configure(const std::string& target) { target_ = target; enabled_ = !target.empty(); }
  bool enabled() const noexcept { return enabled_; }
  // Writes `line` (which ends in '\n') in one write(2).
  void write(const char* line, size_t len) const noexcept;

 private:
  bool enabled_ = false;
  std::string target_;  // "stderr" or a path
};

}  // namespace mif::preload
