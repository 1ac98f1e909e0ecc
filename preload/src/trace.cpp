#include "trace.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "own_fds.h"
#include "real_libc.h"
#include "runtime.h"

namespace mif::preload {

int Trace::descriptor() const noexcept {
  int fd = fd_.load(std::memory_order_acquire);
  if (fd >= 0 && ownfds::isOwn(fd)) return fd;
  // First line, or the number is no longer ours: (re)open. Two threads may race here; the
  // loser closes its copy and uses the winner's.
  const int fresh = ::open(target_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fresh < 0) return -1;
  if (fd_.compare_exchange_strong(fd, fresh, std::memory_order_acq_rel)) {
    ownfds::add(fresh);
    return fresh;
  }
  real::close.get()(fresh);
  return fd;
}

void Trace::write(const char* line, size_t len) const noexcept {
  const int savedErrno = errno;
  const int fd = toStderr_ ? STDERR_FILENO : descriptor();
  if (fd >= 0) (void)!::write(fd, line, len);
  errno = savedErrno;
}

void TraceLine::emit(const Trace& t) noexcept {
  obj_.close();
  buf_[sink_.size()] = '\n';  // the sink keeps one byte for it
  t.write(buf_, sink_.size() + 1);
}

void Runtime::writeTrace(const Outcome& o, int err) const noexcept {
  const int savedErrno = errno;
  TraceLine line(callName(o.call));
  auto& j = line.o();
  char addr[64];
  j.str("destination", formatAddress(o.endpoint.addr, addr, sizeof addr));
  j.unum("port", o.endpoint.port);
  j.str("name", o.name);
  const policy::Decision& d = o.decision;
  const char* pvd = "";
  if (policy_ && d.count > 0 && d.pvds[0] < policy_->pvds().size()) {
    pvd = policy_->pvds()[d.pvds[0]].name.c_str();
  }
  j.str("pvd", pvd);
  j.str("interface", o.ifname);
  j.str("source", o.hasSource ? formatAddress(o.source, addr, sizeof addr) : "");
  j.num("step", policy::stepNumber(d.step));
  j.str("step_name", policy::stepName(d.step));
  if (policy_ && d.rule >= 0 && static_cast<size_t>(d.rule) < policy_->rules().size()) {
    const policy::SourceRef& w = policy_->rules()[d.rule].where;
    char where[512];
    std::snprintf(where, sizeof where, "%s:%u", w.file.c_str(), w.line);
    j.str("rule", where);
  } else {
    j.str("rule", "");
  }
  j.boolean("strict", d.strict);
  if (o.pktinfo) j.boolean("per_datagram", true);
  if (o.attempt != 0) j.unum("attempt", o.attempt);
  if (o.ms >= 0) j.num("ms", o.ms);
  j.num("errno", err);
  const char* errName = err != 0 ? strerrorname_np(err) : nullptr;
  j.str("error", errName != nullptr ? errName : "");
  if (*o.note != '\0') j.str("note", o.note);
  line.emit(trace_);
  errno = savedErrno;
}

}  // namespace mif::preload
