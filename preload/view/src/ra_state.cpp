// The router advertisement state file under /run/mif: format, rule and trust in
// mif/view/ra_state.h.
#include "mif/view/ra_state.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "mif/view/published_pvds.h"
#include "ra_source.h"

namespace mif::view {
namespace detail {
namespace {

constexpr size_t kMaxFile = 256 * 1024;  // 256 facts of a few hundred bytes at most
constexpr char kMagic[] = "mif-ra-state";

const char* kindName(int k) {
  static const char* const kNames[] = {"rdnss", "dnssl", "pref64", "captive"};
  return kNames[k];
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool number(std::string_view t, int64_t max, int64_t& out) {
  if (t.empty() || t.size() > 18) return false;
  int64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

// A URI or domain as the parser of advertisements accepts them: printable ASCII, no space.
bool printable(std::string_view t) {
  if (t.empty() || t.size() > 2048) return false;
  for (unsigned char c : t)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

}  // namespace

int64_t bootClockMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool RaStore::load(std::string_view text, Clock::time_point now, int64_t bootNow) {
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    auto f = fields(line);
    if (first) {
      if (f.size() != 2 || f[0] != kMagic || f[1] != std::to_string(kRaStateVersion)) return false;
      first = false;
      continue;
    }
    if (f.empty() || f[0][0] == '#' || f.size() < 7 || entries_.size() >= 256) continue;
    Entry e;
    e.recorded = true;
    int kind = -1;
    for (int k = 0; k < 4; ++k)
      if (f[0] == kindName(k)) kind = k;
    int64_t ifindex, heard, life = 0;
    if (kind < 0 || !number(f[1], INT32_MAX, ifindex) || ifindex == 0 ||
        !number(f[4], bootNow, heard))
      continue;
    bool forever = f[5] == "forever";
    if (!forever && !number(f[5], 0xfffffffeLL, life)) continue;
    if (f[3] != "-") {
      auto r = IpAddress::parse(f[3]);
      if (!r || r->family != Family::V6) continue;
      e.router = *r;
    }
    e.ifindex = static_cast<int>(ifindex);
    e.heard = now - std::chrono::milliseconds(bootNow - heard);
    e.expires = forever ? Clock::time_point::max() : e.heard + std::chrono::seconds(life);
    if (e.expires <= now) continue;
    switch (kind) {
      case 0: {
        auto a = IpAddress::parse(f[6]);
        if (!a || a->family != Family::V6) continue;
        e.kind = Kind::Server;
        e.dns.addr = *a;
        e.dns.origin = DnsOrigin::RouterAdvertisement;
        break;
      }
      case 1:
        if (!printable(f[6])) continue;
        e.kind = Kind::Domain;
        e.text = std::string(f[6]);
        for (auto& c : e.text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        break;
      case 2: {
        auto p = policy::Prefix::parse(f[6]);
        if (!p.prefix || p.prefix->addr.family != Family::V6) continue;
        // Only the lengths a PREF64 option can carry (RFC 8781 / RFC 6052): a file edited
        // or damaged by hand gives nothing a live RA could not (fuzz_view_ra found /128).
        const unsigned len = p.prefix->length;
        if (len != 96 && len != 64 && len != 56 && len != 48 && len != 40 && len != 32) continue;
        e.kind = Kind::Pref64;
        e.prefix = *p.prefix;
        break;
      }
      default: {
        if (!printable(f[6])) continue;
        e.kind = Kind::Captive;
        e.text = std::string(f[6]);
        int64_t checked;
        if (f.size() >= 9 && f[8] != "-" && number(f[8], bootNow, checked)) {
          e.open = f[7] == "open";
          e.checked = now - std::chrono::milliseconds(bootNow - checked);
        }
        break;
      }
    }
    entries_.push_back(std::move(e));
  }
  return !first;
}

std::string RaStore::serialize(Clock::time_point now, int64_t bootNow) const {
  auto boot = [&](Clock::time_point t) {
    return std::to_string(
        bootNow - std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count());
  };
  std::string out = std::string(kMagic) + " " + std::to_string(kRaStateVersion) + "\n";
  out += "# what routers announced, heard by mif (mif/view/ra_state.h); times: CLOCK_BOOTTIME ms\n";
  for (const auto& e : entries_) {
    if (e.expires <= now) continue;
    int kind = e.kind == Kind::Server ? 0 : e.kind == Kind::Domain ? 1 : e.kind == Kind::Pref64 ? 2 : 3;
    std::string value = e.kind == Kind::Server   ? e.dns.addr.toString()
                        : e.kind == Kind::Pref64 ? e.prefix.toString()
                                                 : e.text;
    // A search domain may hold any byte on the wire: one that would not survive this
    // line format (a space, a newline) is not recorded.
    if (!printable(value)) continue;
    char ifname[IF_NAMESIZE] = "-";
    if (!::if_indextoname(static_cast<unsigned>(e.ifindex), ifname)) std::strcpy(ifname, "-");
    out += std::string(kindName(kind)) + " " + std::to_string(e.ifindex) + " " + ifname + " " +
           (e.router.family == Family::V6 ? e.router.toString() : "-") + " " + boot(e.heard) +
           " " +
           (e.expires == Clock::time_point::max()
                ? std::string("forever")
                : std::to_string(
                      std::chrono::duration_cast<std::chrono::seconds>(e.expires - e.heard).count())) +
           " " + value;
    if (e.kind == Kind::Captive)
      out += e.checked == Clock::time_point{}
                 ? std::string(" captive -")
                 : std::string(e.open ? " open " : " captive ") + boot(e.checked);
    out += "\n";
  }
  return out;
}

bool RaStore::markPortal(int ifindex, const IpAddress& router, std::string_view uri, bool open,
                         Clock::time_point now) {
  bool found = false;
  for (auto& e : entries_)
    if (e.kind == Kind::Captive && e.ifindex == ifindex && e.router == router && e.text == uri) {
      e.open = open;
      e.checked = now;
      found = true;
    }
  return found;
}

bool readRaState(const std::string& path, std::string& out) {
  if (path.empty()) return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  bool trusted = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                 (st.st_uid == 0 || st.st_uid == ::geteuid()) && (st.st_mode & 022) == 0 &&
                 static_cast<size_t>(st.st_size) <= kMaxFile;
  out.clear();
  if (trusted) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < kMaxFile)
      out.append(buf, static_cast<size_t>(n));
    trusted = n == 0;
  }
  ::close(fd);
  return trusted;
}

void loadRaState(RaStore& store, const std::string& path) {
  std::string text;
  if (readRaState(path, text)) store.load(text, RaStore::Clock::now(), bootClockMs());
}

bool writeRaState(const std::string& path, const std::string& text, std::string* why) {
  auto fail = [&](const std::string& what) {
    if (why) *why = what + ": " + std::strerror(errno);
    return false;
  };
  // /run/mif and /run/mif/ra, made readable by everyone (the library reads them).
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return fail(path);
  std::string dir = path.substr(0, slash);
  for (size_t k = 1; k <= dir.size(); ++k) {
    if (k < dir.size() && dir[k] != '/') continue;
    std::string d = dir.substr(0, k);
    if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) return fail(d);
  }
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return fail(tmp);
  ::fchmod(fd, 0644);  // whatever the umask
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      errno = e;
      return fail(tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    return fail(path);
  }
  return true;
}

}  // namespace detail

std::string raStatePath(const std::string& dir) {
  struct stat st {};
  if (::stat("/proc/self/ns/net", &st) != 0) return "";
  return (dir.empty() ? runDir() + "/ra" : dir) + "/net-" + std::to_string(st.st_ino);
}

bool recordPortalCheck(const std::string& path, int ifindex, const policy::IpAddress& router,
                       const std::string& uri, bool open, std::string* why) {
  detail::RaStore store;
  std::string text;
  auto now = detail::RaStore::Clock::now();
  int64_t boot = detail::bootClockMs();
  if (!detail::readRaState(path, text) || !store.load(text, now, boot)) {
    if (why) *why = path + ": no state recorded (run 'mif show' first)";
    return false;
  }
  if (!store.markPortal(ifindex, router, uri, open, now)) {
    if (why) *why = path + ": no portal " + uri + " recorded for that router";
    return false;
  }
  return detail::writeRaState(path, store.serialize(now, boot), why);
}

}  // namespace mif::view
