#include "dns_sources.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

namespace mif::view::detail {
namespace {

bool readFile(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return n == 0;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

void addDomain(std::string_view d, DnsFacts& out) {
  if (!d.empty() && d.front() == '~') d.remove_prefix(1);  // resolved's routing-only marker
  while (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty()) return;  // "~." = "default route for all names", not a domain
  std::string s(d);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (std::find(out.domains.begin(), out.domains.end(), s) == out.domains.end())
    out.domains.push_back(std::move(s));
}

void addServer(const DnsServer& s, DnsFacts& out) {
  for (const auto& e : out.servers)
    if (e.addr == s.addr && e.port == s.port) return;
  out.servers.push_back(s);
}

bool isLoopback(const IpAddress& a) {
  if (a.family == Family::V4) return a.bytes[0] == 127;
  static const IpAddress one = *IpAddress::parse("::1");
  return a == one;
}

// KEY=VALUE lines, as systemd writes its state files.
std::string_view value(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == '=')
      return line.substr(key.size() + 1);
    pos = end + 1;
  }
  return {};
}

bool sameNetnsAsInit() {
  struct stat self {
  }, init{};
  if (::stat("/proc/self/ns/net", &self) != 0) return true;
  // Unreadable for an unprivileged user: assume the common case, the host's namespace.
  if (::stat("/proc/1/ns/net", &init) != 0) return true;
  return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

class ResolvedSource final : public DnsSource {
 public:
  ResolvedSource(std::string runDir, bool anyNamespace)
      : runDir_(std::move(runDir)), active_(anyNamespace || sameNetnsAsInit()) {}
  DnsOrigin origin() const override { return DnsOrigin::Resolved; }
  void lookup(const Interface& ifc, bool, DnsFacts& out) const override {
    if (!active_) return;
    std::string idx = std::to_string(ifc.index), text;
    // resolved's own record first: it is what resolved actually uses for the link.
    if (readFile(runDir_ + "/resolve/netif/" + idx, text)) take(text, "SERVERS", out);
    if (out.servers.empty() && readFile(runDir_ + "/netif/links/" + idx, text))
      take(text, "DNS", out);
  }

 private:
  static void take(std::string_view text, std::string_view serversKey, DnsFacts& out) {
    for (auto w : words(value(text, serversKey))) {
      DnsServer s;
      if (parseServer(w, DnsOrigin::Resolved, s)) addServer(s, out);
    }
    for (auto key : {"DOMAINS", "ROUTE_DOMAINS"})
      for (auto w : words(value(text, key))) addDomain(w, out);
  }
  std::string runDir_;
  bool active_;
};

class ResolvConfSource final : public DnsSource {
 public:
  explicit ResolvConfSource(std::string path) : path_(std::move(path)) {}
  DnsOrigin origin() const override { return DnsOrigin::ResolvConf; }
  void lookup(const Interface&, bool holdsDefault, DnsFacts& out) const override {
    std::string text;
    if (!holdsDefault || !readFile(path_, text)) return;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      auto w = words(line);
      if (w.size() < 2 || w[0].front() == '#' || w[0].front() == ';') continue;
      if (w[0] == "nameserver") {
        DnsServer s;
        if (parseServer(w[1], DnsOrigin::ResolvConf, s) && !isLoopback(s.addr)) addServer(s, out);
      } else if (w[0] == "search" || w[0] == "domain") {
        for (size_t k = 1; k < w.size(); ++k) addDomain(w[k], out);
      }
    }
  }

 private:
  std::string path_;
};

}  // namespace

bool parseServer(std::string_view text, DnsOrigin origin, DnsServer& out) {
  if (auto hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
  uint16_t port = 53;
  std::string_view host = text;
  auto parsePort = [&](std::string_view p) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || ptr != p.data() + p.size() || v == 0 || v > 65535) return false;
    port = static_cast<uint16_t>(v);
    return true;
  };
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !parsePort(rest.substr(1)))) return false;
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    if (!parsePort(text.substr(colon + 1))) return false;
  }
  // The zone of a link-local server is implied: the PvD's queries leave by its interface.
  if (auto pct = host.find('%'); pct != std::string_view::npos) host = host.substr(0, pct);
  auto a = IpAddress::parse(host);
  if (!a) return false;
  out.addr = *a;
  out.port = port;
  out.origin = origin;
  return true;
}

std::unique_ptr<DnsSource> makeResolvedSource(std::string runDir, bool anyNamespace) {
  return std::make_unique<ResolvedSource>(std::move(runDir), anyNamespace);
}
std::unique_ptr<DnsSource> makeResolvConfSource(std::string path) {
  return std::make_unique<ResolvConfSource>(std::move(path));
}

std::vector<std::unique_ptr<DnsSource>> defaultDnsSources() {
  std::vector<std::unique_ptr<DnsSource>> v;
  v.push_back(makeResolvedSource());
  v.push_back(makeResolvConfSource());
  return v;
}

}  // namespace mif::view::detail
