#include "discover/publish.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mif::discover {
namespace {

bool makeDir(const std::string& path, std::string& why) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return true;
  why = path + ": " + std::strerror(errno);
  return false;
}

}  // namespace

bool Publisher::prepare(std::string& why) {
  auto slash = dir_.rfind('/');
  if (slash != std::string::npos && slash > 0 && !makeDir(dir_.substr(0, slash), why))
    return false;
  if (!makeDir(dir_, why)) return false;
  // Files an earlier run left (killed before it could remove them) say nothing true now.
  return publish({}, why);
}

bool Publisher::publish(const std::vector<view::PublishedPvd>& pvds, std::string& why) {
  bool ok = true;
  std::vector<std::pair<std::string, std::string>> now;
  for (const auto& p : pvds) {
    std::string text = view::formatPublishedPvd(p);
    now.emplace_back(p.id, text);
    auto old = std::find_if(written_.begin(), written_.end(),
                            [&](const auto& w) { return w.first == p.id; });
    if (old != written_.end() && old->second == text) continue;
    std::string tmp = dir_ + "/." + p.id + ".XXXXXX";
    int fd = ::mkstemp(tmp.data());
    if (fd < 0) {
      why = tmp + ": " + std::strerror(errno);
      ok = false;
      continue;
    }
    bool wrote = ::fchmod(fd, 0644) == 0 &&
                 ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
    int err = errno;
    ::close(fd);
    if (!wrote || ::rename(tmp.c_str(), (dir_ + "/" + p.id).c_str()) != 0) {
      if (wrote) err = errno;
      ::unlink(tmp.c_str());
      why = dir_ + "/" + p.id + ": " + std::strerror(err);
      ok = false;
      // Keep the old text as written: the next publish tries again.
      if (old != written_.end()) now.back().second = old->second;
      else now.pop_back();
    }
  }
  // Everything else in the directory is a PvD that ended (or a temporary file of a run
  // that died between mkstemp and rename).
  if (DIR* d = ::opendir(dir_.c_str())) {
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      bool keep = std::any_of(now.begin(), now.end(), [&](const auto& w) { return w.first == n; });
      if (!keep) stale.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : stale) ::unlink((dir_ + "/" + n).c_str());
  }
  written_ = std::move(now);
  return ok;
}

void Publisher::withdrawAll() {
  for (const auto& [name, text] : written_) ::unlink((dir_ + "/" + name).c_str());
  written_.clear();
}

}  // namespace mif::discover
