// Topology files (TOML, docs/lab.md): loading, defaults and validation. Every problem is
// reported with the file position toml++ keeps for each value.
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#define TOML_HEADER_ONLY 1
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include "lab/lab.h"

namespace mif::lab {
namespace {

namespace fs = std::filesystem;

struct LoadError {
  std::string message;
};

std::string where(const std::string& file, const toml::node& n) {
  const auto& src = n.source();
  return file + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
}

[[noreturn]] void fail(const std::string& file, const toml::node& n, const std::string& why) {
  throw LoadError{where(file, n) + ": error: " + why};
}

bool validAddress(std::string_view a) {
  std::string s(a);
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool validCidr(std::string_view c) {
  auto slash = c.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view addr = c.substr(0, slash);
  std::string len(c.substr(slash + 1));
  if (!validAddress(addr) || len.empty() || len.size() > 3) return false;
  if (!std::all_of(len.begin(), len.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return false;
  int n = std::atoi(len.c_str());
  return n <= (isIpv6(addr) ? 128 : 32);
}

// Names end up in interface and namespace names and in file names: keep them boring.
bool validName(std::string_view n, size_t max) {
  if (n.empty() || n.size() > max) return false;
  return std::all_of(n.begin(), n.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
}

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  std::string str(const toml::table& t, std::string_view key, bool required = false) {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required) throw LoadError{file_ + ": error: missing key '" + std::string(key) + "'"};
      return {};
    }
    auto v = n->value<std::string>();
    if (!v) fail(file_, *n, "'" + std::string(key) + "' must be a string");
    return *v;
  }

  // A string or an array of strings.
  std::vector<std::string> strings(const toml::table& t, std::string_view key) {
    std::vector<std::string> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    if (auto s = n->value<std::string>()) {
      out.push_back(*s);
      return out;
    }
    const toml::array* arr = n->as_array();
    if (!arr) fail(file_, *n, "'" + std::string(key) + "' must be a string or an array of strings");
    for (const auto& el : *arr) {
      auto s = el.value<std::string>();
      if (!s) fail(file_, el, "'" + std::string(key) + "' must hold strings");
      out.push_back(*s);
    }
    return out;
  }

  int integer(const toml::table& t, std::string_view key, int def, int lo, int hi) {
    const toml::node* n = t.get(key);
    if (!n) return def;
    auto v = n->value<int64_t>();
    if (!v || *v < lo || *v > hi)
      fail(file_, *n, "'" + std::string(key) + "' must be an integer from " + std::to_string(lo) +
                          " to " + std::to_string(hi));
    return static_cast<int>(*v);
  }

  bool boolean(const toml::table& t, std::string_view key, bool def) {
    const toml::node* n = t.get(key);
    if (!n) return def;
    auto v = n->value<bool>();
    if (!v) fail(file_, *n, "'" + std::string(key) + "' must be true or false");
    return *v;
  }

  void onlyKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                std::string_view what) {
    for (const auto& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end())
        fail(file_, v, "unknown key '" + std::string(k.str()) + "' in " + std::string(what));
    }
  }

  const toml::table& table(const toml::node& n, std::string_view what) {
    const toml::table* t = n.as_table();
    if (!t) fail(file_, n, std::string(what) + " must be a table");
    return *t;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

std::vector<Record> readRecords(Reader& r, const toml::node* n) {
  std::vector<Record> out;
  if (!n) return out;
  const toml::array* arr = n->as_array();
  if (!arr) fail(r.file(), *n, "'record' must be an array of tables ([[...record]])");
  for (const auto& el : *arr) {
    const toml::table& t = r.table(el, "a record");
    r.onlyKeys(t, {"name", "a", "aaaa", "host", "cname", "ptr"}, "a record");
    Record rec;
    rec.name = r.str(t, "name", true);
    rec.a = r.strings(t, "a");
    rec.aaaa = r.strings(t, "aaaa");
    rec.host = r.str(t, "host");
    rec.cname = r.str(t, "cname");
    rec.ptr = r.str(t, "ptr");
    int kinds = (!rec.a.empty() || !rec.aaaa.empty()) + !rec.host.empty() + !rec.cname.empty() +
                !rec.ptr.empty();
    if (kinds != 1) fail(r.file(), el, "a record needs exactly one of a/aaaa, host, cname, ptr");
    for (const auto& a : rec.a)
      if (!validAddress(a) || isIpv6(a)) fail(r.file(), el, "'" + a + "' is not an IPv4 address");
    for (const auto& a : rec.aaaa)
      if (!validAddress(a) || !isIpv6(a)) fail(r.file(), el, "'" + a + "' is not an IPv6 address");
    if (!rec.ptr.empty() && !validAddress(rec.ptr))
      fail(r.file(), el, "'ptr' must be an address");
    out.push_back(std::move(rec));
  }
  return out;
}

// "40ms", "500us", "1s": microseconds, or 0 when not of that form or out of 1us..10s.
long parseDelay(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 8) return 0;
  const std::string_view unit = text.substr(digits);
  const long scale = unit == "us" ? 1 : unit == "ms" ? 1000 : unit == "s" ? 1000000 : 0;
  const long us = std::atol(std::string(text.substr(0, digits)).c_str()) * scale;
  return us >= 1 && us <= 10'000'000 ? us : 0;
}

Route readRoute(Reader& r, const toml::node& el) {
  Route route;
  if (auto s = el.value<std::string>()) {
    route.to = *s;
  } else {
    const toml::table& t = r.table(el, "a route");
    r.onlyKeys(t, {"to", "via", "from", "metric"}, "a route");
    route.to = r.str(t, "to", true);
    route.via = r.str(t, "via");
    route.from = r.str(t, "from");
    route.metric = r.integer(t, "metric", 0, 0, 1 << 30);
  }
  if (route.to != "default" && !validCidr(route.to))
    fail(r.file(), el, "route 'to' must be \"default\" or a prefix with length");
  if (!route.via.empty() && !validAddress(route.via)) fail(r.file(), el, "'via' is not an address");
  if (!route.from.empty() && (!validCidr(route.from) || !isIpv6(route.from)))
    fail(r.file(), el, "'from' must be an IPv6 prefix (IPv4 routes cannot be source-specific)");
  return route;
}

Pvd readPvd(Reader& r, std::string_view name, const toml::node& n, int index) {
  const toml::table& t = r.table(n, "a [pvd.NAME] section");
  r.onlyKeys(t,
             {"link", "segment", "node", "router", "routes", "internet", "loss", "delay", "dns"},
             "[pvd." + std::string(name) + "]");
  Pvd p;
  p.name = std::string(name);
  p.index = index;
  // The router's side of the link to the internet is "r-<pvd>" in the internet namespace.
  if (!validName(p.name, 12)) fail(r.file(), n, "PvD name '" + p.name + "' must be 1-12 of [a-z0-9-]");
  p.link = r.str(t, "link");
  if (p.link.empty()) p.link = p.name;
  if (p.link.size() > 15 || p.link.find_first_of("/ ") != std::string::npos)
    fail(r.file(), n, "interface name '" + p.link + "' must be at most 15 characters, no '/'");
  p.segment = r.str(t, "segment");
  if (!p.segment.empty() && !validName(p.segment, 12))
    fail(r.file(), n, "segment name must be 1-12 of [a-z0-9-]");
  p.node = r.strings(t, "node");
  p.router = r.strings(t, "router");
  if (p.node.empty() || p.router.empty())
    fail(r.file(), n, "a PvD needs 'node' and 'router' addresses (with prefix length)");
  for (const auto* list : {&p.node, &p.router})
    for (const auto& c : *list)
      if (!validCidr(c)) fail(r.file(), n, "'" + c + "' is not an address with prefix length");
  if (const toml::node* routes = t.get("routes")) {
    const toml::array* arr = routes->as_array();
    if (!arr) fail(r.file(), *routes, "'routes' must be an array");
    for (const auto& el : *arr) p.routes.push_back(readRoute(r, el));
  }
  p.internet = r.boolean(t, "internet", false);
  p.lossPercent = r.integer(t, "loss", 0, 0, 100);
  if (const toml::node* d = t.get("delay")) {
    p.delayUs = parseDelay(d->value<std::string>().value_or(""));
    if (p.delayUs <= 0)
      fail(r.file(), *d,
           "'delay' must be a string such as \"40ms\" (the time added to the round trip: "
           "an integer and us, ms or s, from 1us to 10s)");
  }
  if (!p.segment.empty())
    for (std::string_view key : {"loss", "delay"})
      if (const toml::node* k = t.get(key))
        fail(r.file(), *k, "'" + std::string(key) + "' applies to a link of its own, not to a segment");
  if (const toml::node* dn = t.get("dns")) {
    const toml::table& d = r.table(*dn, "[pvd." + p.name + ".dns]");
    r.onlyKeys(d, {"servers", "domains", "portal", "record"}, "[pvd." + p.name + ".dns]");
    p.dnsServers = r.strings(d, "servers");
    for (const auto& s : p.dnsServers)
      if (!validAddress(s)) fail(r.file(), *dn, "DNS server '" + s + "' is not an address");
    p.domains = r.strings(d, "domains");
    p.portal = r.str(d, "portal");
    p.records = readRecords(r, d.get("record"));
    if (p.dnsServers.empty())
      for (const auto& c : p.router) p.dnsServers.push_back(bareAddress(c));
  }
  return p;
}

Topology parse(const std::string& file) {
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw LoadError{file + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                    ": error: " + std::string(e.description())};
  }
  Reader r(file);
  r.onlyKeys(root, {"name", "description", "pvd", "host"}, "the topology");
  Topology t;
  t.file = file;
  t.name = r.str(root, "name");
  if (t.name.empty()) t.name = fs::path(file).stem();
  // Namespace names are "miflab-<name>-r-<pvd>"; keep them readable.
  if (!validName(t.name, kMaxNameLength))
    throw LoadError{file + ": error: topology name '" + t.name + "' must be 1-" +
                    std::to_string(kMaxNameLength) + " of [a-z0-9-]"};
  t.description = r.str(root, "description");
  const toml::node* pvds = root.get("pvd");
  if (!pvds) throw LoadError{file + ": error: no [pvd.NAME] section"};
  int index = 0;
  for (const auto& [k, v] : r.table(*pvds, "[pvd]")) t.pvds.push_back(readPvd(r, k.str(), v, index++));
  // toml++ keeps a table's keys sorted, so PvDs come in name order; which one is primary
  // is said by route metrics, and the index only numbers the transit links.
  if (const toml::node* hosts = root.get("host")) {
    const toml::array* arr = hosts->as_array();
    if (!arr) fail(file, *hosts, "'host' must be an array of tables ([[host]])");
    for (const auto& el : *arr) {
      const toml::table& h = r.table(el, "a [[host]]");
      r.onlyKeys(h, {"name", "behind", "addrs"}, "a [[host]]");
      Host host;
      host.name = r.str(h, "name", true);
      host.behind = r.str(h, "behind", true);
      host.addrs = r.strings(h, "addrs");
      if (!validName(host.name, 24)) fail(file, el, "host name must be 1-24 of [a-z0-9-]");
      if (host.behind != "internet" && !t.pvd(host.behind))
        fail(file, el, "'behind' must be a PvD of this file or \"internet\"");
      if (host.addrs.empty()) fail(file, el, "a host needs 'addrs'");
      for (const auto& a : host.addrs)
        if (!validAddress(a)) fail(file, el, "'" + a + "' is not an address (no prefix length)");
      if (t.host(host.name)) fail(file, el, "duplicate host '" + host.name + "'");
      t.hosts.push_back(std::move(host));
    }
  }
  // Cross-references.
  std::map<std::string, std::string> segLink;
  for (const auto& p : t.pvds) {
    for (const auto& rec : p.records)
      if (!rec.host.empty() && !t.host(rec.host))
        throw LoadError{file + ": error: PvD '" + p.name + "' record '" + rec.name +
                        "' names unknown host '" + rec.host + "'"};
    if (!p.portal.empty()) {
      const Host* h = t.host(p.portal);
      if (!h || h->behind != p.name)
        throw LoadError{file + ": error: portal of PvD '" + p.name +
                        "' must be a host behind that PvD"};
    }
    if (!p.segment.empty()) {
      auto [it, fresh] = segLink.emplace(p.segment, p.link);
      if (!fresh && it->second != p.link)
        throw LoadError{file + ": error: PvDs on segment '" + p.segment +
                        "' must name the same link"};
    }
  }
  for (const auto& h : t.hosts)
    if (h.behind == "internet" && !t.hasInternet())
      throw LoadError{file + ": error: host '" + h.name +
                      "' is behind the internet but no PvD has internet = true"};
  std::set<std::string> links;
  for (const auto& p : t.pvds)
    if (p.segment.empty() && !links.insert(p.link).second)
      throw LoadError{file + ": error: two PvDs use link '" + p.link +
                      "' (PvDs sharing one link need the same 'segment')"};
  return t;
}

std::string exeDir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}

std::string resolve(std::string_view fileOrName) {
  std::string arg(fileOrName);
  if (arg.find('/') != std::string::npos || arg.ends_with(".toml")) return arg;
  for (const auto& dir : topologyDirs()) {
    std::string f = dir + "/" + arg + ".toml";
    if (::access(f.c_str(), R_OK) == 0) return f;
  }
  return {};
}

}  // namespace

bool Topology::hasInternet() const {
  return std::any_of(pvds.begin(), pvds.end(), [](const Pvd& p) { return p.internet; });
}

const Pvd* Topology::pvd(std::string_view n) const {
  for (const auto& p : pvds)
    if (p.name == n) return &p;
  return nullptr;
}

const Host* Topology::host(std::string_view n) const {
  for (const auto& h : hosts)
    if (h.name == n) return &h;
  return nullptr;
}

std::vector<std::string> Topology::segments() const {
  std::vector<std::string> out;
  for (const auto& p : pvds)
    if (!p.segment.empty() && std::find(out.begin(), out.end(), p.segment) == out.end())
      out.push_back(p.segment);
  return out;
}

std::vector<std::string> Topology::namespaces() const {
  std::vector<std::string> out{nsNode()};
  for (const auto& p : pvds) out.push_back(nsRouter(p.name));
  if (hasInternet()) out.push_back(nsInternet());
  for (const auto& s : segments()) out.push_back(nsSwitch(s));
  return out;
}

std::vector<std::string> topologyDirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("MIF_LAB_DIR")) dirs.emplace_back(env);
  if (std::string exe = exeDir(); !exe.empty()) dirs.push_back(exe + "/../share/mif/lab");
  // From a build tree: the sources this binary was built from. Named by CMake, not by
  // __FILE__, which ccache with CCACHE_BASEDIR (the helpers' builds) makes relative to the
  // build directory.
  dirs.push_back(MIF_LAB_TOPOLOGY_DIR);
  return dirs;
}

std::vector<std::string> builtinTopologies() {
  std::set<std::string> names;
  for (const auto& dir : topologyDirs()) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".toml") names.insert(e.path().stem());
  }
  return {names.begin(), names.end()};
}

bool loadTopology(std::string_view fileOrName, Topology& out, std::string& error) {
  std::string file = resolve(fileOrName);
  std::string instance;
  if (file.empty() && validName(fileOrName, kMaxNameLength)) {
    // An instance brought up with `up FILE --as NAME`: its state says which file.
    std::ifstream in(std::string(kStateRoot) + "/" + std::string(fileOrName) + "/source");
    if (std::getline(in, file)) instance = std::string(fileOrName);
  }
  if (file.empty()) {
    std::string known;
    for (const auto& n : builtinTopologies()) known += (known.empty() ? "" : ", ") + n;
    error = "no topology file or built-in topology named '" + std::string(fileOrName) +
            "' (built-in: " + known + ")";
    return false;
  }
  if (::access(file.c_str(), R_OK) != 0) {
    error = file + ": cannot read";
    return false;
  }
  try {
    out = parse(file);
  } catch (const LoadError& e) {
    error = e.message;
    return false;
  }
  if (!instance.empty()) out.name = instance;
  return true;
}

bool validInstanceName(std::string_view name) { return validName(name, kMaxNameLength); }

std::string topologyName(std::string_view fileOrName) {
  Topology t;
  std::string err;
  if (loadTopology(fileOrName, t, err)) return t.name;
  std::string arg(fileOrName);
  if (arg.find('/') != std::string::npos || arg.ends_with(".toml")) return fs::path(arg).stem();
  return arg;
}

std::string bareAddress(std::string_view cidr) {
  return std::string(cidr.substr(0, cidr.find('/')));
}

bool isIpv6(std::string_view address) { return address.find(':') != std::string_view::npos; }

std::string networkOf(std::string_view cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos) return {};
  std::string addr(cidr.substr(0, slash));
  int len = std::atoi(std::string(cidr.substr(slash + 1)).c_str());
  bool v6 = isIpv6(addr);
  unsigned char buf[16] = {};
  if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), buf) != 1) return {};
  int bytes = v6 ? 16 : 4;
  for (int i = 0; i < bytes; ++i) {
    int keep = std::clamp(len - i * 8, 0, 8);
    buf[i] &= static_cast<unsigned char>(0xff00 >> keep);
  }
  char text[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, buf, text, sizeof text);
  return std::string(text) + "/" + std::to_string(len);
}

}  // namespace mif::lab
