#include "mif/dns/local_names.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <time.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <fstream>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

namespace mif::dns {

bool isNumericHost(const char* name) noexcept {
  in_addr a4;
  // glibc 2.36 uses __inet_aton_exact: inet_aton, but nothing may follow the address
  // (plain inet_aton stops at whitespace and accepts the rest).
  if (inet_aton(name, &a4) != 0) {
    bool space = false;
    for (const char* p = name; *p; ++p) space |= std::isspace(static_cast<unsigned char>(*p)) != 0;
    if (!space) return true;
  }
  const char* pct = std::strchr(name, '%');
  char buf[INET6_ADDRSTRLEN + 1];
  size_t len = pct ? size_t(pct - name) : std::strlen(name);
  if (len >= sizeof buf) return false;
  std::memcpy(buf, name, len);
  buf[len] = '\0';
  in6_addr a6;
  return inet_pton(AF_INET6, buf, &a6) == 1;
}

bool isValidHostname(std::string_view name) noexcept {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253 || name.front() == '-') return false;
  size_t labelLen = 0;
  for (char c : name) {
    if (c == '.') {
      if (labelLen == 0) return false;
      labelLen = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    if (++labelLen > 63) return false;
  }
  return labelLen > 0;
}

bool isLocalhost(std::string_view name) noexcept {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.size() != 9) return false;
  for (size_t i = 0; i < 9; ++i)
    if (std::tolower(static_cast<unsigned char>(name[i])) != "localhost"[i]) return false;
  return true;
}

namespace {

struct Hosts {
  std::shared_mutex mutex;
  std::atomic<int64_t> checkedNs{0};  // last stat; at most one per second
  std::atomic<uint32_t> generation{0};  // bumped by every re-read
  bool loaded = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  timespec mtime{};
  std::unordered_set<std::string> names;
  std::vector<policy::IpAddress> addresses;
};

Hosts& hosts() {
  static Hosts* h = new Hosts();  // never destroyed: threads may resolve during exit
  return *h;
}

std::string lower(std::string_view s) {
  std::string o(s);
  if (!o.empty() && o.back() == '.') o.pop_back();
  for (char& c : o) c = char(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

int64_t coarseNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void refresh(Hosts& h) {
  // glibc re-reads /etc/hosts on every lookup; mif looks at it at most once a second, so
  // an edit is seen within a second and a busy resolver does not stat it on every call.
  const int64_t now = coarseNs();
  int64_t last = h.checkedNs.load(std::memory_order_relaxed);
  if (last != 0 && now - last < 1000000000) return;
  h.checkedNs.store(now, std::memory_order_relaxed);
  struct stat st {};
  bool exists = stat("/etc/hosts", &st) == 0;
  {
    std::shared_lock lock(h.mutex);
    if (h.loaded &&
        (!exists ? h.size == -1
                 : (st.st_dev == h.dev && st.st_ino == h.ino && st.st_size == h.size &&
                    st.st_mtim.tv_sec == h.mtime.tv_sec && st.st_mtim.tv_nsec == h.mtime.tv_nsec)))
      return;
  }
  std::unique_lock lock(h.mutex);
  h.generation.fetch_add(1, std::memory_order_release);
  h.names.clear();
  h.addresses.clear();
  h.loaded = true;
  h.size = exists ? st.st_size : -1;
  h.dev = st.st_dev;
  h.ino = st.st_ino;
  h.mtime = st.st_mtim;
  if (!exists) return;
  std::ifstream in("/etc/hosts");
  std::string line;
  while (std::getline(in, line)) {
    if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    std::string addr, name;
    if (!(ls >> addr)) continue;
    std::string a = addr;
    if (size_t pct = a.find('%'); pct != std::string::npos) a.resize(pct);
    if (auto ip = policy::IpAddress::parse(a)) h.addresses.push_back(ip->unmapped());
    while (ls >> name) h.names.insert(lower(name));
  }
}

}  // namespace

bool hostsHasName(std::string_view name) noexcept {
  try {
    Hosts& h = hosts();
    refresh(h);
    std::shared_lock lock(h.mutex);
    return h.names.count(lower(name)) != 0;
  } catch (...) {
    return true;  // cannot tell: leave it to glibc
  }
}

uint32_t hostsGeneration() noexcept {
  Hosts& h = hosts();
  try {
    refresh(h);
  } catch (...) {
    // A re-read that failed halfway: whatever it holds is new.
    h.generation.fetch_add(1, std::memory_order_release);
  }
  return h.generation.load(std::memory_order_acquire);
}

bool hostsHasAddress(const policy::IpAddress& addr) noexcept {
  try {
    Hosts& h = hosts();
    refresh(h);
    std::shared_lock lock(h.mutex);
    policy::IpAddress u = addr.unmapped();
    for (const auto& a : h.addresses)
      if (a == u) return true;
    return false;
  } catch (...) {
    return true;
  }
}

}  // namespace mif::dns
