#pragma once
// The trace (MIF_TRACE=stderr|PATH): one JSON line per socket decision and per resolver
// call, every line written through the one JSON writer (mif/policy/json.h) in one
// write(2). docs/trace.md has the schema.
//
// The file is opened once (O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC), on the first line, and
// kept. O_APPEND makes each line's single write land whole at the end, so threads and the
// processes of one tree never interleave (a child after fork shares the descriptor; after
// exec the new image opens its own). The descriptor is registered with the library's own
// descriptors (own_fds.h): close, close_range and closefrom by the program leave it open;
// if its number turns out to name another file (the program closed it with a raw system
// call and reused the number), it is reopened, never written to.
#include <atomic>
#include <string>
#include <string_view>

#include "mif/policy/json.h"

namespace mif::preload {

class Trace {
 public:
  Trace() = default;
  Trace(Trace&& o) noexcept
      : enabled_(o.enabled_), toStderr_(o.toStderr_), target_(std::move(o.target_)),
        fd_(o.fd_.load()) {}
  Trace& operator=(Trace&& o) noexcept {
    enabled_ = o.enabled_;
    toStderr_ = o.toStderr_;
    target_ = std::move(o.target_);
    fd_.store(o.fd_.load());
    return *this;
  }
  void configure(const std::string& target) {
    target_ = target;
    enabled_ = !target.empty();
    toStderr_ = target == "stderr";
  }
  bool enabled() const noexcept { return enabled_; }
  // Writes `line` (which ends in '\n') in one write(2). Keeps errno.
  void write(const char* line, size_t len) const noexcept;

 private:
  int descriptor() const noexcept;
  bool enabled_ = false;
  bool toStderr_ = false;
  std::string target_;  // "stderr" or a path
  mutable std::atomic<int> fd_{-1};
};

// One trace line in a fixed buffer (no allocation): the common members (time, pid, call),
// then whatever the caller adds through o(), then emit().
class TraceLine {
 public:
  explicit TraceLine(std::string_view call) noexcept : sink_(buf_, sizeof buf_ - 1), obj_(sink_) {
    json::traceHeader(obj_, call);
  }
  json::Object<json::FixedSink>& o() noexcept { return obj_; }
  void emit(const Trace& t) noexcept;

 private:
  char buf_[2048];
  json::FixedSink sink_;
  json::Object<json::FixedSink> obj_;
};

}  // namespace mif::preload
