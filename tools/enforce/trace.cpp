#include "enforce/trace.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "mif/policy/json.h"

namespace mif::enforce {

Trace::~Trace() {
  if (own_ && fd_ >= 0) ::close(fd_);
}

bool Trace::open(const std::string& spec) {
  if (spec.empty()) return true;
  if (spec == "stderr") {
    fd_ = STDERR_FILENO;
    return true;
  }
  fd_ = ::open(spec.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  own_ = fd_ >= 0;
  return fd_ >= 0;
}

void Trace::write(const TraceRecord& r) const {
  if (fd_ < 0) return;
  std::string dst;
  if (r.destination) {
    const auto& a = r.destination->address;
    dst = a.family == policy::Family::V6 ? "[" + a.toString() + "]" : a.toString();
    dst += ":" + std::to_string(r.destination->port);
  }
  std::string line;
  json::StringSink sink(&line);
  json::Object<json::StringSink> o(sink);
  json::traceHeader(o, r.call, r.pid);
  o.str("destination", dst).str("pvd", r.pvd).str("interface", r.interface).str("source", r.source);
  o.num("step", r.step).str("rule", r.rule).str("action", r.action).num("errno", r.error);
  o.str("by", "enforce");
  o.close();
  line += '\n';
  // One write per line so that lines of concurrent writers (the library in the same
  // program writes the same file) do not interleave.
  ssize_t n = ::write(fd_, line.data(), line.size());
  (void)n;
}

void Trace::health(pid_t pid, std::string_view pvd, const view::HealthChange& c,
                   std::string_view reason) const {
  if (fd_ < 0) return;
  std::string line;
  json::StringSink sink(&line);
  json::Object<json::StringSink> o(sink);
  json::traceHeader(o, "health", pid);
  o.str("pvd", pvd).str("from", view::healthName(c.from)).str("to", view::healthName(c.to));
  o.str("reason", reason).unum("failures", c.failures);
  if (c.to == view::HealthState::Failed && !c.untilProbe) o.unum("retry_in_ms", c.retryInMs);
  o.str("by", "enforce");
  o.close();
  line += '\n';
  ssize_t n = ::write(fd_, line.data(), line.size());
  (void)n;
}

}  // namespace mif::enforce
