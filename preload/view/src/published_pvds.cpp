#include "mif/view/published_pvds.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace mif::view {
namespace {

std::string when(int64_t t) { return t == kForever ? "forever" : std::to_string(t); }

std::string origin(const PublishedOrigin& o) {
  return " router " + o.router.toString() + " dev " + o.ifname + " expires " + when(o.expires);
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <class T>
bool number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool time(std::string_view s, int64_t& out) {
  if (s == "forever") {
    out = kForever;
    return true;
  }
  return number(s, out) && out >= 0;
}

bool prefix6(std::string_view s, policy::Prefix& out) {
  auto r = policy::Prefix::parse(s);
  if (!r.prefix || r.prefix->addr.family != policy::Family::V6 || r.hostBitsSet) return false;
  out = *r.prefix;
  return true;
}

// The pairs after an item's value: router, dev, expires (required), and the item's own.
struct Pairs {
  std::vector<std::pair<std::string_view, std::string_view>> kv;
  std::string_view get(std::string_view k) const {
    for (auto& [a, b] : kv)
      if (a == k) return b;
    return {};
  }
};

bool originOf(const Pairs& p, PublishedOrigin& o, std::string& why) {
  auto r = policy::IpAddress::parse(p.get("router"));
  if (!r || r->family != policy::Family::V6) return why = "no router address", false;
  o.router = *r;
  o.ifname = std::string(p.get("dev"));
  if (o.ifname.empty()) return why = "no dev", false;
  if (!time(p.get("expires"), o.expires)) return why = "no expires time", false;
  return true;
}

// A free text as one word: bytes outside '!'..'~', and '%', as %XX.
std::string encodeWord(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c > ' ' && c < 0x7f && c != '%') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

bool decodeWord(std::string_view s, std::string& out) {
  out.clear();
  auto nibble = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    int hi = nibble(s[i + 1]), lo = nibble(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

template <class T>
void dropEnded(std::vector<T>& v, int64_t now) {
  v.erase(std::remove_if(v.begin(), v.end(), [&](const T& x) { return x.expires <= now; }),
          v.end());
}

}  // namespace

int64_t PublishedPvd::expires() const {
  int64_t t = 0;
  auto later = [&](const auto& v) {
    for (const auto& x : v) t = std::max(t, x.expires);
  };
  later(routers);
  later(prefixes);
  later(routes);
  later(dns);
  later(domains);
  later(pref64);
  later(mtu);
  return t;
}

std::string runDir() {
  const char* d = std::getenv("MIF_RUN_DIR");
  return d && *d ? d : "/run/mif";
}

std::string publishedPvdDir() { return runDir() + "/pvds"; }

int64_t bootSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return ts.tv_sec;
}

std::string formatPublishedPvd(const PublishedPvd& p) {
  std::string s = "# an explicit PvD (RFC 8801) heard by mif discover: docs/discovery.md\n";
  s += "version " + std::to_string(kPublishedVersion) + "\n";
  s += "id " + p.id + "\n";
  s += "sequence " + std::to_string(p.sequence) + "\n";
  std::string flags = std::string(p.http ? "H" : "") + (p.legacy ? "L" : "");
  s += "flags " + (flags.empty() ? std::string("-") : flags) + "\n";
  s += "delay " + std::to_string(p.delay) + "\n";
  for (const auto& r : p.routers)
    s += "router " + r.router.toString() + " dev " + r.ifname + " heard " +
         std::to_string(r.heard) + " expires " + when(r.expires) + " default-until " +
         std::to_string(r.defaultUntil) + "\n";
  for (const auto& x : p.prefixes) {
    std::string f = std::string(x.onLink ? "L" : "") + (x.autonomous ? "A" : "");
    s += "prefix " + x.prefix.toString() + origin(x) + " preferred " + when(x.preferred) +
         " flags " + (f.empty() ? std::string("-") : f) + "\n";
  }
  for (const auto& x : p.routes)
    s += "route " + x.prefix.toString() + origin(x) + " preference " +
         (x.preference > 0 ? "high" : x.preference < 0 ? "low" : "medium") + "\n";
  for (const auto& x : p.dns) s += "dns " + x.addr.toString() + origin(x) + "\n";
  for (const auto& x : p.domains) s += "domain " + x.name + origin(x) + "\n";
  for (const auto& x : p.pref64) s += "pref64 " + x.prefix.toString() + origin(x) + "\n";
  for (const auto& x : p.mtu) s += "mtu " + std::to_string(x.mtu) + origin(x) + "\n";
  if (p.info) {
    const auto& i = *p.info;
    s += "info expires " + when(i.expires) + " utc " + (i.expiresUtc.empty() ? "-" : i.expiresUtc) +
         " fetched " + std::to_string(i.fetched) + " no-internet " + (i.noInternet ? "yes" : "no") +
         " metered " + (!i.metered ? "-" : *i.metered ? "yes" : "no") + "\n";
    if (!i.name.empty()) s += "info-name " + encodeWord(i.name) + "\n";
    for (const auto& x : i.prefixes) s += "info-prefix " + x.toString() + "\n";
    for (const auto& x : i.dnsZones) s += "info-zone " + x + "\n";
  }
  return s;
}

bool parsePublishedPvd(std::string_view text, PublishedPvd& out, std::string& why) {
  PublishedPvd p;
  bool version = false;
  size_t lineNo = 0, start = 0;
  auto bad = [&](const std::string& what) {
    why = "line " + std::to_string(lineNo) + ": " + what;
    return false;
  };
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    ++lineNo;
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    std::string_view key = w[0];
    if (!version) {
      int v = 0;
      if (key != "version" || w.size() != 2 || !number(w[1], v))
        return bad("expected 'version N' first");
      if (v != kPublishedVersion) return bad("version " + std::string(w[1]) + " is not known");
      version = true;
      continue;
    }
    if (w.size() < 2) return bad("'" + std::string(key) + "' without a value");
    std::string_view value = w[1];
    Pairs pairs;
    for (size_t i = 2; i + 1 < w.size(); i += 2) pairs.kv.emplace_back(w[i], w[i + 1]);
    std::string reason;
    if (key == "id") {
      p.id = std::string(value);
    } else if (key == "sequence") {
      if (!number(value, p.sequence)) return bad("sequence not a 16-bit number");
    } else if (key == "flags") {
      p.http = value.find('H') != std::string_view::npos;
      p.legacy = value.find('L') != std::string_view::npos;
    } else if (key == "delay") {
      if (!number(value, p.delay) || p.delay > 15) return bad("delay not 0-15");
    } else if (key == "router") {
      PublishedPvd::Router r;
      std::string_view heard = pairs.get("heard");
      pairs.kv.emplace_back("router", value);
      if (!originOf(pairs, r, reason)) return bad("router: " + reason);
      if (!time(heard, r.heard)) return bad("router: no heard time");
      std::string_view until = pairs.get("default-until");
      if (!until.empty() && !time(until, r.defaultUntil)) return bad("router: bad default-until");
      p.routers.push_back(std::move(r));
    } else if (key == "prefix") {
      PublishedPvd::Prefix x;
      if (!prefix6(value, x.prefix)) return bad("prefix: not an IPv6 prefix");
      if (!originOf(pairs, x, reason)) return bad("prefix: " + reason);
      if (!time(pairs.get("preferred"), x.preferred)) return bad("prefix: no preferred time");
      std::string_view f = pairs.get("flags");
      x.onLink = f.find('L') != std::string_view::npos;
      x.autonomous = f.find('A') != std::string_view::npos;
      p.prefixes.push_back(std::move(x));
    } else if (key == "route") {
      PublishedPvd::Route x;
      if (!prefix6(value, x.prefix)) return bad("route: not an IPv6 prefix");
      if (!originOf(pairs, x, reason)) return bad("route: " + reason);
      std::string_view pref = pairs.get("preference");
      x.preference = pref == "high" ? 1 : pref == "low" ? -1 : 0;
      p.routes.push_back(std::move(x));
    } else if (key == "dns") {
      PublishedPvd::Server x;
      auto a = policy::IpAddress::parse(value);
      if (!a) return bad("dns: not an address");
      x.addr = *a;
      if (!originOf(pairs, x, reason)) return bad("dns: " + reason);
      p.dns.push_back(std::move(x));
    } else if (key == "domain") {
      PublishedPvd::Domain x;
      x.name = std::string(value);
      if (!originOf(pairs, x, reason)) return bad("domain: " + reason);
      p.domains.push_back(std::move(x));
    } else if (key == "pref64") {
      PublishedPvd::Nat64 x;
      if (!prefix6(value, x.prefix)) return bad("pref64: not an IPv6 prefix");
      if (!originOf(pairs, x, reason)) return bad("pref64: " + reason);
      p.pref64.push_back(std::move(x));
    } else if (key == "mtu") {
      PublishedPvd::Mtu x;
      if (!number(value, x.mtu)) return bad("mtu: not a number");
      if (!originOf(pairs, x, reason)) return bad("mtu: " + reason);
      p.mtu.push_back(std::move(x));
    } else if (key == "info") {
      // The pairs start at the value: "info expires T utc U fetched F ...".
      pairs.kv.clear();
      for (size_t i = 1; i + 1 < w.size(); i += 2) pairs.kv.emplace_back(w[i], w[i + 1]);
      PublishedPvd::Info i;
      if (!time(pairs.get("expires"), i.expires)) return bad("info: no expires time");
      std::string_view utc = pairs.get("utc");
      if (utc != "-") i.expiresUtc = std::string(utc);
      if (!time(pairs.get("fetched"), i.fetched)) return bad("info: no fetched time");
      i.noInternet = pairs.get("no-internet") == "yes";
      std::string_view metered = pairs.get("metered");
      if (metered == "yes" || metered == "no") i.metered = metered == "yes";
      p.info = std::move(i);
    } else if (key.substr(0, 5) == "info-") {
      if (!p.info) return bad(std::string(key) + " before info");
      if (key == "info-name") {
        if (!decodeWord(value, p.info->name)) return bad("info-name: bad %-escape");
      } else if (key == "info-prefix") {
        policy::Prefix x;
        if (!prefix6(value, x)) return bad("info-prefix: not an IPv6 prefix");
        p.info->prefixes.push_back(x);
      } else if (key == "info-zone") {
        p.info->dnsZones.emplace_back(value);
      }
    }  // else: a key of a later writer of the same version
  }
  if (!version) return bad("empty");
  if (p.id.empty()) return bad("no id");
  out = std::move(p);
  return true;
}

std::vector<PublishedPvd> readPublishedPvds(const std::string& dirArg, int64_t now,
                                            std::vector<std::string>* problems) {
  std::string dir = dirArg.empty() ? publishedPvdDir() : dirArg;
  if (now == 0) now = bootSeconds();
  std::vector<PublishedPvd> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;  // ".", "..", and the writer's temporary files
    names.emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string path = dir + "/" + n;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;  // removed since the listing: the PvD ended
    std::string text;
    char buf[4096];
    ssize_t r;
    while ((r = ::read(fd, buf, sizeof buf)) > 0 && text.size() < (1u << 20))
      text.append(buf, static_cast<size_t>(r));
    ::close(fd);
    PublishedPvd p;
    std::string why;
    if (!parsePublishedPvd(text, p, why)) {
      if (problems) problems->push_back(path + ": " + why);
      continue;
    }
    dropEnded(p.routers, now);
    dropEnded(p.prefixes, now);
    dropEnded(p.routes, now);
    dropEnded(p.dns, now);
    dropEnded(p.domains, now);
    dropEnded(p.pref64, now);
    dropEnded(p.mtu, now);
    if (p.info && p.info->expires <= now) p.info.reset();
    if (p.expires() > now) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace mif::view
