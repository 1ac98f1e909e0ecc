#include "mif/view/probe_results.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mif/view/published_pvds.h"

namespace mif::view {

namespace {

constexpr std::string_view kHeader = "mif-probes 1";

const char* verdictWord(ProbeVerdict v) {
  switch (v) {
    case ProbeVerdict::Ok: return "ok";
    case ProbeVerdict::Poor: return "poor";
    case ProbeVerdict::Down: return "down";
    case ProbeVerdict::None: break;
  }
  return "-";
}

const char* portalWord(PortalVerdict p) {
  switch (p) {
    case PortalVerdict::Open: return "open";
    case PortalVerdict::Captive: return "captive";
    case PortalVerdict::None: break;
  }
  return "-";
}

// The next space-separated field of `line` (removed from it).
std::string_view field(std::string_view* line) noexcept {
  while (!line->empty() && line->front() == ' ') line->remove_prefix(1);
  const size_t end = line->find(' ');
  std::string_view f = line->substr(0, end);
  line->remove_prefix(end == std::string_view::npos ? line->size() : end);
  return f;
}

}  // namespace

std::string probeResultsPath(long pid) { return runDir() + "/probe/run-" + std::to_string(pid); }

std::string formatProbeResults(const std::vector<ProbeLine>& lines) {
  std::string out(kHeader);
  out += '\n';
  for (const ProbeLine& l : lines) {
    out.append(l.name);
    out += ' ';
    out += verdictWord(l.verdict);
    out += ' ';
    out += portalWord(l.portal);
    out += '\n';
  }
  return out;
}

bool writeProbeResults(const std::string& path, const std::string& text, std::string* why) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = path.substr(0, slash);
    const size_t parent = dir.rfind('/');
    if (parent != std::string::npos && parent > 0) ::mkdir(dir.substr(0, parent).c_str(), 0755);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      *why = dir + ": " + std::strerror(errno);
      return false;
    }
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *why = tmp + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *why = tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *why = path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool parseProbeResults(std::string_view text, void (*fn)(void* ctx, const ProbeLine& line),
                       void* ctx) noexcept {
  const size_t eol = text.find('\n');
  if (text.substr(0, eol) != kHeader) return false;
  text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    // A line cut short (the reader's buffer ended) has no newline: not used.
    if (end == std::string_view::npos) break;
    ProbeLine l;
    l.name = field(&line);
    const std::string_view v = field(&line), p = field(&line);
    if (l.name.empty() || v.empty()) continue;
    l.verdict = v == "ok" ? ProbeVerdict::Ok : v == "poor" ? ProbeVerdict::Poor
              : v == "down" ? ProbeVerdict::Down : ProbeVerdict::None;
    l.portal = p == "open" ? PortalVerdict::Open : p == "captive" ? PortalVerdict::Captive
                                                                   : PortalVerdict::None;
    fn(ctx, l);
  }
  return true;
}

}  // namespace mif::view
