#include "trace.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "real_libc.h"
#include "runtime.h"

namespace mif::preload {

void Trace::write(const char* line, size_t len) const noexcept {
  if (target_ == "stderr") {
    (void)!::write(STDERR_FILENO, line, len);
    return;
  }
  int fd = ::open(target_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)!::write(fd, line, len);
  real::close.get()(fd);
}

namespace {

// Appends to a fixed buffer, never past its end.
struct Line {
  char buf[1024];
  size_t len = 0;
  void add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    if (len >= sizeof buf) return;
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf + len, sizeof buf - len, fmt, ap);
    va_end(ap);
    if (n > 0) len = std::min(sizeof buf - 1, len + static_cast<size_t>(n));
  }
  // A JSON string; the names here come from the program (DNS answers) so are escaped.
  void str(const char* key, const char* s) {
    add(",\"%s\":\"", key);
    for (; *s != '\0' && len + 8 < sizeof buf; ++s) {
      unsigned char c = static_cast<unsigned char>(*s);
      if (c == '"' || c == '\\') {
        add("\\%c", c);
      } else if (c < 0x20) {
        add("\\u%04x", c);
      } else {
        buf[len++] = static_cast<char>(c);
      }
    }
    add("\"");
  }
};

}  // namespace

void Runtime::writeTrace(const Outcome& o, int err) const noexcept {
  const int savedErrno = errno;
  Line l;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  l.add("{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\",\"pid\":%d", t.tm_year + 1900,
        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000,
        static_cast<int>(getpid()));
  l.str("call", callName(o.call));
  char addr[64];
  l.str("destination", formatAddress(o.endpoint.addr, addr, sizeof addr));
  l.add(",\"port\":%u", o.endpoint.port);
  l.str("name", o.name);
  const policy::Decision& d = o.decision;
  const char* pvd = "";
  if (policy_ && d.count > 0 && d.pvds[0] < policy_->pvds().size()) {
    pvd = policy_->pvds()[d.pvds[0]].name.c_str();
  }
  l.str("pvd", pvd);
  l.str("interface", o.ifname);
  l.str("source", o.hasSource ? formatAddress(o.source, addr, sizeof addr) : "");
  l.add(",\"step\":%d", policy::stepNumber(d.step));
  l.str("step_name", policy::stepName(d.step));
  if (policy_ && d.rule >= 0 && static_cast<size_t>(d.rule) < policy_->rules().size()) {
    const policy::SourceRef& w = policy_->rules()[d.rule].where;
    char where[512];
    std::snprintf(where, sizeof where, "%s:%u", w.file.c_str(), w.line);
    l.str("rule", where);
  } else {
    l.str("rule", "");
  }
  l.add(",\"strict\":%s", d.strict ? "true" : "false");
  if (o.pktinfo) l.add(",\"per_datagram\":true");
  l.add(",\"errno\":%d", err);
  const char* errName = err != 0 ? strerrorname_np(err) : nullptr;
  l.str("error", errName != nullptr ? errName : "");
  if (*o.note != '\0') l.str("note", o.note);
  l.add("}\n");
  if (l.len > 0 && l.buf[l.len - 1] != '\n') l.buf[l.len - 1] = '\n';
  trace_.write(l.buf, l.len);
  errno = savedErrno;
}

}  // namespace mif::preload
