#include "enforce/trace.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "cli.h"

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
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::string dst;
  if (r.destination) {
    const auto& a = r.destination->address;
    dst = a.family == policy::Family::V6 ? "[" + a.toString() + "]" : a.toString();
    dst += ":" + std::to_string(r.destination->port);
  }
  char head[96];
  std::snprintf(head, sizeof head,
                "{\"time\":%lld.%06ld,\"pid\":%d,\"call\":", static_cast<long long>(ts.tv_sec),
                ts.tv_nsec / 1000, static_cast<int>(r.pid));
  std::string line = head;
  line += cli::jsonString(r.call);
  line += ",\"destination\":" + cli::jsonString(dst);
  line += ",\"pvd\":" + cli::jsonString(r.pvd);
  line += ",\"interface\":" + cli::jsonString(r.interface);
  line += ",\"source\":" + cli::jsonString(r.source);
  line += ",\"step\":" + std::to_string(r.step);
  line += ",\"rule\":" + cli::jsonString(r.rule);
  line += ",\"action\":" + cli::jsonString(r.action);
  line += ",\"errno\":" + std::to_string(r.error);
  line += ",\"by\":\"enforce\"}\n";
  // One write per line so that lines of concurrent writers (the library in the same
  // program writes the same file) do not interleave.
  ssize_t n = ::write(fd_, line.data(), line.size());
  (void)n;
}

}  // namespace mif::enforce
