#include "mif/view/probe_results.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mif/view/published_pvds.h"

namespace mif::view {

namespace {

constexpr std::string_view kHeader = "mif-probes 1";
constexpr std::string_view kRun = " run ";

// The header line's run token, "" when it has none; false when `header` is not this format's.
bool parseHeader(std::string_view header, std::string_view* run) noexcept {
  *run = {};
  if (header.substr(0, kHeader.size()) != kHeader) return false;
  header.remove_prefix(kHeader.size());
  if (header.empty()) return true;
  if (header.front() != ' ') return false;  // "mif-probes 10"
  if (header.substr(0, kRun.size()) == kRun) {
    header.remove_prefix(kRun.size());
    *run = header.substr(0, header.find(' '));
  }
  return true;
}

std::string readSmall(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

}  // namespace

std::string probeRunToken(long pid) {
  const std::string boot = readSmall("/proc/sys/kernel/random/boot_id");
  const std::string stat = readSmall("/proc/" + std::to_string(pid) + "/stat");
  // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so the fields are
  // counted from the last ')'; starttime is field 22, the 20th after it.
  const size_t close = stat.rfind(')');
  if (boot.empty() || close == std::string::npos) return {};
  std::string_view rest = std::string_view(stat).substr(close + 1);
  std::string_view f;
  for (int k = 0; k < 20; ++k) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const size_t end = rest.find(' ');
    f = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  if (f.empty() || f.find_first_not_of("0123456789") != std::string_view::npos) return {};
  return boot + "/" + std::string(f);
}

const char* probeReason(ProbeVerdict v) noexcept {
  switch (v) {
    case ProbeVerdict::Down: return "probe: nothing answered";
    case ProbeVerdict::Poor: return "probe: half or more lost";
    case ProbeVerdict::Ok: return "probe answered";
    case ProbeVerdict::None: break;
  }
  return "probe";
}

const char* probeVerdictWord(ProbeVerdict v) noexcept {
  switch (v) {
    case ProbeVerdict::Ok: return "ok";
    case ProbeVerdict::Poor: return "poor";
    case ProbeVerdict::Down: return "down";
    case ProbeVerdict::None: break;
  }
  return "-";
}

const char* portalVerdictWord(PortalVerdict p) noexcept {
  switch (p) {
    case PortalVerdict::Open: return "open";
    case PortalVerdict::Captive: return "captive";
    case PortalVerdict::None: break;
  }
  return "-";
}

namespace {

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

std::string formatProbeResults(const std::vector<ProbeLine>& lines, std::string_view run) {
  std::string out(kHeader);
  if (!run.empty()) {
    out += kRun;
    out += run;
  }
  out += '\n';
  for (const ProbeLine& l : lines) {
    out.append(l.name);
    out += ' ';
    out += probeVerdictWord(l.verdict);
    out += ' ';
    out += portalVerdictWord(l.portal);
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
  std::string_view run;
  if (!parseHeader(text.substr(0, eol), &run)) return false;
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

const ProbeFile::Line* ProbeFile::of(std::string_view name) const noexcept {
  for (const Line& l : lines)
    if (l.name == name) return &l;
  return nullptr;
}

bool readProbeFile(const std::string& path, ProbeFile* out, std::string* why) {
  std::ifstream in(path);
  struct stat st {};
  if (!in || ::stat(path.c_str(), &st) != 0) {
    *why = path + ": " + std::strerror(errno ? errno : ENOENT);
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out->path = path;
  out->lines.clear();
  const std::string body = text.str();
  std::string_view run;
  parseHeader(std::string_view(body).substr(0, body.find('\n')), &run);
  out->run = std::string(run);
  const bool ok = parseProbeResults(
      body,
      [](void* ctx, const ProbeLine& l) {
        static_cast<ProbeFile*>(ctx)->lines.push_back({std::string(l.name), l.verdict, l.portal});
      },
      out);
  if (!ok) {
    *why = path + ": not a probe results file (its first line is not '" + std::string(kHeader) + "')";
    return false;
  }
  const auto mtime = std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  out->ageMs = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(now - mtime).count());
  const size_t slash = path.rfind('/');
  const std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1);
  out->pid = 0;
  if (base.rfind("run-", 0) == 0 && base.size() > 4 && base.size() < 16 &&
      base.find_first_not_of("0123456789", 4) == std::string::npos)
    out->pid = std::stol(base.substr(4));
  out->program.clear();
  if (out->pid > 0) {
    std::ifstream comm("/proc/" + std::to_string(out->pid) + "/comm");
    std::getline(comm, out->program);
  }
  return true;
}

std::vector<ProbeFile> runningProbes(const std::string& dir) {
  std::vector<ProbeFile> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("run-", 0) != 0 || name.size() <= 4 || name.size() >= 16 ||
        name.find_first_not_of("0123456789", 4) != std::string::npos)
      continue;  // also the prober's temporary files (run-PID.tmp)
    const long pid = std::stol(name.substr(4));
    if (pid <= 0) continue;
    ProbeFile f;
    std::string why;
    if (!readProbeFile(dir + "/" + name, &f, &why)) continue;
    // The same process that wrote it, not one that got its PID later.
    if (f.run.empty() || f.run != probeRunToken(pid)) continue;
    out.push_back(std::move(f));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const ProbeFile& a, const ProbeFile& b) { return a.pid < b.pid; });
  return out;
}

std::string probeDir() { return runDir() + "/probe"; }

}  // namespace mif::view
