#pragma once
// One JSON line per decision the supervisor takes (MIF_TRACE's format, "by":"enforce"),
// written through the one JSON writer (mif/policy/json.h): the trace header ("time", "pid"
// of the supervised process, "call"), then the decision's members.
// Written only from the supervisor's notification thread.
#include <sys/types.h>

#include <string>
#include <string_view>

#include "enforce/sockets.h"
#include "mif/view/health.h"

namespace mif::enforce {

struct TraceRecord {
  const char* call = "";  // "connect", "sendto", "sendmsg", "sendmmsg", "bind", "socket"
  pid_t pid = 0;
  const Endpoint* destination = nullptr;
  std::string_view pvd;  // "" when none
  std::string_view interface;
  std::string_view source;
  int step = 0;             // precedence step number, 0 when not decided
  std::string_view rule;    // "file:line" or ""
  std::string_view action;  // "pinned", "redirected", "refused", "unmanaged", ...
  int error = 0;            // errno answered to the program, 0 when the call went on
};

class Trace {
 public:
  Trace() = default;
  ~Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;
  // "" = off, "stderr", or a path opened for appending. False (with errno) when the path
  // cannot be opened.
  bool open(const std::string& spec);
  bool enabled() const { return fd_ >= 0; }
  void write(const TraceRecord& r) const;
  // A PvD's health changed (the library's `health` line, "by":"enforce"): `pid` the
  // supervised thread whose connect showed it, `reason` what showed it.
  void health(pid_t pid, std::string_view pvd, const view::HealthChange& c,
              std::string_view reason) const;

 private:
  int fd_ = -1;
  bool own_ = false;
};

}  // namespace mif::enforce
