#include "enforce/resolv_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace mif::enforce {

std::vector<policy::PvdId> resolverPvds(const policy::Policy& policy) {
  std::vector<policy::PvdId> out;
  const std::vector<std::string>* names = &policy.pin().pvds;
  if (names->empty() && policy.defaults()) names = &policy.defaults()->pvd;
  for (const auto& n : *names) {
    auto id = policy.findPvd(n);
    if (id && std::find(out.begin(), out.end(), *id) == out.end()) out.push_back(*id);
  }
  return out;
}

size_t pvdsWithServers(const view::Snapshot& snap, const std::vector<policy::PvdId>& pvds) {
  return static_cast<size_t>(std::count_if(pvds.begin(), pvds.end(), [&](policy::PvdId id) {
    return id < snap.pvds.size() &&
           std::any_of(snap.pvds[id].dns.begin(), snap.pvds[id].dns.end(),
                       [](const view::DnsServer& s) { return s.port == 53; });
  }));
}

std::string renderResolvConf(const view::Snapshot& snap, const std::vector<policy::PvdId>& pvds,
                             const policy::IpAddress* stub) {
  std::string servers;
  std::vector<std::string> domains;
  int count = 0;
  for (auto id : pvds) {
    if (id >= snap.pvds.size()) continue;
    const auto& p = snap.pvds[id];
    for (const auto& s : p.dns) {
      if (s.port != 53 || count == 3) continue;
      servers += "nameserver " + s.addr.toString() + "\n";
      ++count;
    }
    for (const auto& d : p.domains) {
      if (std::find(domains.begin(), domains.end(), d) == domains.end()) domains.push_back(d);
    }
  }
  if (servers.empty()) return "";
  if (stub) servers = "nameserver " + stub->toString() + "\n";
  std::string out = "# written by mif run --enforce for this program only\n" + servers;
  if (!domains.empty()) {
    out += "search";
    for (const auto& d : domains) out += " " + d;
    out += "\n";
  }
  return out;
}

std::string writeTempFile(const std::string& text) {
  const char* dir = getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/mif-resolv.XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) return "";
  // Readable by the program even when it drops privileges.
  fchmod(fd, 0644);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n <= 0) {
      int err = errno;
      close(fd);
      unlink(path.c_str());
      errno = err;
      return "";
    }
    off += static_cast<size_t>(n);
  }
  close(fd);
  return path;
}

int mountResolvConf(const std::string& file) noexcept {
  if (unshare(CLONE_NEWNS) != 0) return errno;
  // Private from here down: our bind mount must not appear on the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return errno;
  if (mount(file.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0) return errno;
  // Read-only, as the program would usually find it.
  if (mount(nullptr, "/etc/resolv.conf", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
    return 0;
  return 0;
}

}  // namespace mif::enforce
