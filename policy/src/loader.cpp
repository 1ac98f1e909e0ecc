// TOML -> PolicyDoc. toml++ gives every key and value its source position, so each problem
// is reported at the exact key or value, and the walk goes on after a problem so that one
// run of `mif check` lists every problem of the file.
#include "mif/policy/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include "mif/policy/policy.h"
#include "names.h"
#include "toml_guard.h"

namespace mif::policy {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kRootKeys[] = {"pvd"sv, "rule"sv, "default"sv, "failover"sv};
constexpr std::string_view kPvdKeys[] = {"interface"sv, "id"sv, "dns"sv, "domains"sv,
                                         "prefixes"sv, "source"sv, "probe"sv,
                                         "probe_interval_ms"sv};
constexpr std::string_view kRuleKeys[] = {"domain"sv, "dst"sv,    "port"sv,   "proto"sv, "dscp"sv,
                                          "app"sv,    "pvd"sv,    "strict"sv, "locked"sv};
constexpr std::string_view kDefaultKeys[] = {"pvd"sv, "strict"sv};
constexpr std::string_view kFailoverKeys[] = {"attempt_delay_ms"sv};

// Files larger than this are not policies; refusing them keeps a mistaken path from
// making the loader read a disk image.
constexpr std::streamsize kMaxFileBytes = 16 << 20;

const char* typeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "nothing";
  }
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool within(const toml::source_region& r, uint32_t line, uint32_t column) {
  auto before = [](uint32_t l1, uint32_t c1, uint32_t l2, uint32_t c2) {
    return l1 != l2 ? l1 < l2 : c1 < c2;
  };
  return !before(line, column, r.begin.line, r.begin.column) && before(line, column, r.end.line, r.end.column);
}

// Every string value and key region of the document.
void stringRegions(const toml::node& n, std::vector<toml::source_region>* out) {
  if (n.is_string()) {
    out->push_back(n.source());
  } else if (auto t = n.as_table()) {
    for (const auto& [k, v] : *t) {
      out->push_back(k.source());
      stringRegions(v, out);
    }
  } else if (auto a = n.as_array()) {
    for (const auto& v : *a) stringRegions(v, out);
  }
}

class Loader {
 public:
  Loader(std::string path, Layer layer) : path_(std::move(path)), file_(path_), layer_(layer) {
    result_.doc.file = path_;
    result_.doc.layer = layer;
  }

  LoadResult run(std::string_view original) {
    // Only a file with a non-ASCII byte can hold a code point defuse() replaces; the others
    // (nearly every policy) are parsed as they are, without a copy or a second scan.
    std::string defused;
    std::vector<detail::Replaced> replaced;
    std::string_view text = original;
    if (!detail::isAscii(original)) {
      defused.assign(original);
      replaced = detail::defuse(defused);
      text = defused;
    }
    toml::table root;
    try {
      // No source path for toml++: every node would hold a reference-counted copy of it,
      // and the diagnostics carry path_ themselves.
      root = toml::parse(text, std::string_view());
    } catch (const toml::parse_error& e) {
      std::string why(e.description());
      for (const auto& r : replaced)
        if (r.line == e.source().begin.line && r.column == e.source().begin.column)
          why = "character " + detail::codePointName(r.codePoint) + " is not allowed here";
      add(e.source(), why);
      return std::move(result_);
    }
    if (!replaced.empty()) {
      std::vector<toml::source_region> strings;
      stringRegions(root, &strings);
      for (const auto& r : replaced) {
        bool inString = false;
        for (const auto& reg : strings) inString = inString || within(reg, r.line, r.column);
        if (!inString) continue;  // in a comment
        char esc[16];
        std::snprintf(esc, sizeof esc, "\\u%04X", static_cast<unsigned>(r.codePoint));
        result_.diagnostics.push_back(Diagnostic{
            Severity::Error, path_, r.line, r.column,
            "character " + detail::codePointName(r.codePoint) +
                " cannot be read safely by this build's TOML parser (toml++ 3.3.0); write it "
                "as the escape " + esc + " in a \"double-quoted\" string"});
      }
      if (!result_.ok()) return std::move(result_);
    }
    loadRoot(root);
    // Tables are walked in key order; problems are reported in file order.
    std::stable_sort(result_.diagnostics.begin(), result_.diagnostics.end(), [](const auto& a, const auto& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    return std::move(result_);
  }

 private:
  SourceRef ref(const toml::source_region& s) const {
    return SourceRef{file_, s.begin.line, s.begin.column};
  }

  void add(const toml::source_region& s, std::string message, Severity sev = Severity::Error) {
    result_.diagnostics.push_back(Diagnostic{sev, path_, s.begin.line, s.begin.column, std::move(message)});
  }

  void unknownKey(const toml::key& k, std::string_view where, std::span<const std::string_view> known) {
    std::string msg = "unknown key " + quoted(k.str()) + " in " + std::string(where);
    if (auto s = detail::suggest(k.str(), known); !s.empty()) msg += "; did you mean " + quoted(s) + "?";
    add(k.source(), msg);
  }

  void wrongType(const toml::node& n, std::string_view key, std::string_view expected) {
    add(n.source(), quoted(key) + " must be " + std::string(expected) + ", not " + typeName(n));
  }

  // A string, or an array of strings: each element with its position, as views into the
  // toml++ tree (alive for the whole walk), in a buffer reused from call to call so that
  // the walk of 10,000 rules does not allocate for each list.
  struct Item {
    std::string_view text;
    const toml::source_region* src;
  };
  const std::vector<Item>& stringList(const toml::node& n, std::string_view key) {
    items_.clear();
    if (auto s = n.as_string()) {
      items_.push_back({s->get(), &n.source()});
      return items_;
    }
    auto arr = n.as_array();
    if (!arr) {
      wrongType(n, key, "a string or an array of strings");
      return items_;
    }
    for (const auto& el : *arr) {
      if (auto s = el.as_string())
        items_.push_back({s->get(), &el.source()});
      else
        add(el.source(), "each element of " + quoted(key) + " must be a string, not " + typeName(el));
    }
    return items_;
  }

  std::optional<bool> boolean(const toml::node& n, std::string_view key) {
    if (auto b = n.as_boolean()) return b->get();
    wrongType(n, key, "true or false");
    return std::nullopt;
  }

  void prefixList(const toml::node& n, std::string_view key, std::vector<Prefix>* out) {
    for (const auto& [text, src] : stringList(n, key)) {
      auto r = Prefix::parse(text);
      if (!r.prefix) {
        add(*src, r.error);
        continue;
      }
      if (r.hostBitsSet)
        add(*src, quoted(text) + " has host bits set; it means " + r.prefix->toString(), Severity::Warning);
      out->push_back(*r.prefix);
    }
  }

  void pvdList(const toml::node& n, std::vector<std::string>* out, SourceRef* where) {
    *where = ref(n.source());
    const auto& items = stringList(n, "pvd");
    if (items.empty() && n.is_array() && n.as_array()->empty())
      add(n.source(), "'pvd' lists no PvD");
    size_t count = items.size();
    if (count > kMaxListed) {
      add(n.source(), "'pvd' lists " + std::to_string(count) + " PvDs; at most " +
                          std::to_string(kMaxListed) + " are allowed");
      count = kMaxListed;
    }
    out->reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const auto& [name, src] = items[i];
      bool dup = false;
      for (const auto& prev : *out) dup = dup || prev == name;
      if (dup) {
        add(*src, "PvD " + quoted(name) + " is listed twice");
        continue;
      }
      out->emplace_back(name);
    }
  }

  void loadRoot(const toml::table& root) {
    for (const auto& [k, v] : root) {
      if (k == "pvd") {
        auto t = v.as_table();
        if (!t) {
          wrongType(v, "pvd", "a table of PvDs ([pvd.NAME])");
          continue;
        }
        // toml++ keeps a table's keys sorted; PvDs keep file order (their ids, and so the
        // order of PvDs sharing a domain, follow the file).
        std::vector<std::pair<const toml::key*, const toml::node*>> defs;
        for (const auto& [name, def] : *t) defs.emplace_back(&name, &def);
        std::stable_sort(defs.begin(), defs.end(), [](const auto& a, const auto& b) {
          const auto& x = a.first->source().begin;
          const auto& y = b.first->source().begin;
          return x.line != y.line ? x.line < y.line : x.column < y.column;
        });
        for (const auto& [name, def] : defs) loadPvd(*name, *def);
      } else if (k == "rule") {
        if (auto arr = v.as_array(); arr && v.is_array_of_tables()) {
          result_.doc.rules.reserve(arr->size());
          for (const auto& r : *arr) loadRule(*r.as_table());
        } else if (v.is_table()) {
          add(v.source(), "'rule' must be an array of tables: write [[rule]], not [rule]");
        } else {
          wrongType(v, "rule", "an array of tables ([[rule]])");
        }
      } else if (k == "default") {
        if (auto t = v.as_table())
          loadDefault(*t);
        else
          wrongType(v, "default", "a table ([default])");
      } else if (k == "failover") {
        if (auto t = v.as_table())
          loadFailover(*t);
        else
          wrongType(v, "failover", "a table ([failover])");
      } else {
        unknownKey(k, "the policy", kRootKeys);
      }
    }
  }

  void loadPvd(const toml::key& name, const toml::node& n) {
    auto t = n.as_table();
    if (!t) {
      add(n.source(), "'pvd." + std::string(name.str()) + "' must be a table, not " + typeName(n));
      return;
    }
    PvdDef p;
    p.name = std::string(name.str());
    p.layer = layer_;
    p.where = ref(name.source());
    if (!detail::validPvdName(p.name))
      add(name.source(), "PvD name " + quoted(p.name) +
                             " must be 1-64 letters, digits, '_', '-' or '.'");
    bool haveInterface = false;
    const toml::node* interval = nullptr;  // probe_interval_ms, checked once probe is known
    for (const auto& [k, v] : *t) {
      if (k == "interface") {
        if (auto s = v.as_string()) {
          haveInterface = true;
          p.interfaceGlob = s->get();
          if (auto why = detail::globCannotMatchReason(p.interfaceGlob); !why.empty())
            add(v.source(), "interface " + why);
        } else {
          wrongType(v, "interface", "a string (an interface name or glob)");
          haveInterface = true;
        }
      } else if (k == "id") {
        haveInterface = true;  // an explicit PvD is found by its ID, on its own interface
        if (auto s = v.as_string()) {
          std::string why;
          p.explicitId = detail::normalizeDomain(s->get(), &why);
          if (p.explicitId.empty()) add(v.source(), "id: " + why);
        } else {
          wrongType(v, "id", "a string (an RFC 8801 PvD ID, e.g. \"corp.example.com\")");
        }
      } else if (k == "dns") {
        for (const auto& [text, src] : stringList(v, "dns")) {
          if (auto a = IpAddress::parse(text))
            p.dns.push_back(a->unmapped());
          else
            add(*src, quoted(text) + " is not an IPv4 or IPv6 address");
        }
      } else if (k == "domains") {
        for (const auto& [text, src] : stringList(v, "domains")) {
          std::string why;
          std::string d = detail::normalizeDomain(text, &why);
          if (d.empty())
            add(*src, why);
          else
            p.domains.push_back(std::move(d));
        }
      } else if (k == "prefixes") {
        prefixList(v, "prefixes", &p.prefixes);
      } else if (k == "source") {
        prefixList(v, "source", &p.source);
      } else if (k == "probe") {
        loadProbe(v, &p);
      } else if (k == "probe_interval_ms") {
        interval = &v;
      } else {
        unknownKey(k, "pvd." + p.name, kPvdKeys);
      }
    }
    if (interval != nullptr) loadProbeInterval(*interval, &p);
    if (!haveInterface)
      add(name.source(), "PvD " + quoted(p.name) + " has no 'interface' (nor an explicit PvD 'id')");
    result_.doc.pvds.push_back(std::move(p));
  }

  // probe = true (the PvD's DNS servers, as `mif probe`), false (none), or a target
  // "ADDRESS:PORT" or a list of them.
  void loadProbe(const toml::node& v, PvdDef* p) {
    if (auto b = v.as_boolean()) {
      if (b->get()) p->probe.emplace();
      return;
    }
    if (!v.is_string() && !v.is_array()) {
      wrongType(v, "probe", "true, or a target \"ADDRESS:PORT\" or a list of them");
      return;
    }
    ProbeDef d;
    for (const auto& [text, src] : stringList(v, "probe")) {
      HostPort hp;
      if (std::string why = parseHostPort(text, &hp); !why.empty()) {
        add(*src, "probe target " + quoted(text) + ": " + why);
        continue;
      }
      d.targets.push_back(hp);
    }
    if (v.is_array() && v.as_array()->empty())
      add(v.source(), "'probe' lists no target (probe = true probes the PvD's DNS servers)");
    if (!d.targets.empty()) p->probe = std::move(d);
  }

  void loadProbeInterval(const toml::node& v, PvdDef* p) {
    auto i = v.as_integer();
    if (!i) {
      wrongType(v, "probe_interval_ms", "an integer (milliseconds)");
      return;
    }
    const int64_t ms = i->get();
    if (ms < ProbeDef::kMinIntervalMs || ms > ProbeDef::kMaxIntervalMs) {
      add(v.source(), "probe_interval_ms " + std::to_string(ms) + " is outside " +
                          std::to_string(ProbeDef::kMinIntervalMs) + "-" +
                          std::to_string(ProbeDef::kMaxIntervalMs) + " (1 s to 1 hour)");
      return;
    }
    if (!p->probe) {
      add(v.source(), "probe_interval_ms without 'probe' in pvd." + p->name + ": nothing to probe");
      return;
    }
    p->probe->intervalMs = static_cast<uint32_t>(ms);
  }

  void loadPort(const toml::node& v, RuleDef* r) {
    auto outside = [&](int64_t x) { return x < 1 || x > 65535; };
    if (auto i = v.as_integer()) {
      int64_t p = i->get();
      if (outside(p)) {
        add(v.source(), "port " + std::to_string(p) + " is outside 1-65535");
        return;
      }
      r->port = PortRange{static_cast<uint16_t>(p), static_cast<uint16_t>(p)};
      return;
    }
    auto s = v.as_string();
    if (!s) {
      wrongType(v, "port", "an integer or a string like \"8000-8100\"");
      return;
    }
    const std::string& text = s->get();
    auto number = [](std::string_view t, int64_t* out) {
      if (t.empty() || t.size() > 6) return false;
      int64_t x = 0;
      for (char c : t) {
        if (c < '0' || c > '9') return false;
        x = x * 10 + (c - '0');
      }
      *out = x;
      return true;
    };
    int64_t lo = 0, hi = 0;
    size_t dash = text.find('-');
    bool ok = dash == std::string::npos
                  ? number(text, &lo) && (hi = lo, true)
                  : number(std::string_view(text).substr(0, dash), &lo) &&
                        number(std::string_view(text).substr(dash + 1), &hi);
    if (!ok) {
      add(v.source(), "port " + quoted(text) + " is not a port or a range like \"8000-8100\"");
      return;
    }
    if (outside(lo) || outside(hi)) {
      add(v.source(), "port range " + quoted(text) + " is outside 1-65535");
      return;
    }
    if (lo > hi) {
      add(v.source(), "port range " + quoted(text) + " is out of order (" + std::to_string(lo) +
                          " > " + std::to_string(hi) + ")");
      return;
    }
    r->port = PortRange{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
  }

  // dscp = 46 | "EF" | [ "EF", "AF41", 40 ]: each a DSCP value 0-63 or a class name.
  void loadDscp(const toml::node& v, RuleDef* r) {
    constexpr const char* kExpected = "a DSCP (0-63 or a class name like \"EF\" or \"AF41\"), or an array of them";
    uint64_t mask = 0;
    bool ok = true;
    auto one = [&](const toml::node& n) {
      if (auto i = n.as_integer()) {
        if (i->get() < 0 || i->get() > 63) {
          add(n.source(), "dscp " + std::to_string(i->get()) + " is outside 0-63");
          ok = false;
          return;
        }
        mask |= uint64_t{1} << i->get();
      } else if (auto s = n.as_string()) {
        int d = parseDscp(s->get());
        if (d < 0) {
          add(n.source(), "dscp " + quoted(s->get()) +
                              " is not 0-63 or a class name (CS0-CS7, AF11-AF43, EF, VA, LE, DF)");
          ok = false;
          return;
        }
        mask |= uint64_t{1} << d;
      } else {
        wrongType(n, "dscp", kExpected);
        ok = false;
      }
    };
    if (auto arr = v.as_array()) {
      if (arr->empty()) {
        add(v.source(), "'dscp' lists no value");
        return;
      }
      for (const auto& el : *arr) one(el);
    } else {
      one(v);
    }
    if (ok) r->dscp = mask;
  }

  void loadRule(const toml::table& t) {
    RuleDef& r = result_.doc.rules.emplace_back();  // filled in place: nothing else adds rules meanwhile
    r.layer = layer_;
    r.where = ref(t.source());
    bool havePvd = false;
    for (const auto& [k, v] : t) {
      if (k == "domain") {
        if (auto s = v.as_string()) {
          std::string why;
          std::string d = detail::normalizeDomain(s->get(), &why);
          if (d.empty())
            add(v.source(), why);
          else
            r.domain = std::move(d);
        } else {
          wrongType(v, "domain", "a string (a DNS name)");
        }
      } else if (k == "dst") {
        if (auto s = v.as_string()) {
          auto pr = Prefix::parse(s->get());
          if (!pr.prefix) {
            add(v.source(), pr.error);
          } else {
            if (pr.hostBitsSet)
              add(v.source(), quoted(s->get()) + " has host bits set; it means " + pr.prefix->toString(),
                  Severity::Warning);
            r.dst = *pr.prefix;
          }
        } else {
          wrongType(v, "dst", "a string (an address or prefix)");
        }
      } else if (k == "port") {
        loadPort(v, &r);
      } else if (k == "proto") {
        if (auto s = v.as_string()) {
          if (s->get() == "tcp")
            r.proto = Proto::Tcp;
          else if (s->get() == "udp")
            r.proto = Proto::Udp;
          else
            add(v.source(), "proto " + quoted(s->get()) + " must be \"tcp\" or \"udp\"");
        } else {
          wrongType(v, "proto", "\"tcp\" or \"udp\"");
        }
      } else if (k == "dscp") {
        loadDscp(v, &r);
      } else if (k == "app") {
        if (auto s = v.as_string()) {
          const std::string& app = s->get();
          if (app.empty() || app.find('/') != std::string::npos)
            add(v.source(), "app " + quoted(app) + " must be an executable's base name (no '/')");
          else
            r.app = app;
        } else {
          wrongType(v, "app", "a string (an executable's base name)");
        }
      } else if (k == "pvd") {
        havePvd = true;
        pvdList(v, &r.pvd, &r.pvdWhere);
      } else if (k == "strict") {
        if (auto b = boolean(v, "strict")) r.strict = *b;
      } else if (k == "locked") {
        if (auto b = boolean(v, "locked")) {
          if (layer_ != Layer::System)
            add(k.source(), "'locked' is only allowed in the system policy (" +
                                systemPolicyPath() + "), not in the " + layerName(layer_) + " layer");
          else
            r.locked = *b;
        }
      } else {
        unknownKey(k, "[[rule]]", kRuleKeys);
      }
    }
    if (!havePvd) add(t.source(), "rule has no 'pvd'");
  }

  void loadDefault(const toml::table& t) {
    DefaultDef d;
    d.layer = layer_;
    d.where = ref(t.source());
    bool havePvd = false;
    for (const auto& [k, v] : t) {
      if (k == "pvd") {
        havePvd = true;
        pvdList(v, &d.pvd, &d.pvdWhere);
      } else if (k == "strict") {
        if (auto b = boolean(v, "strict")) d.strict = *b;
      } else {
        unknownKey(k, "[default]", kDefaultKeys);
      }
    }
    if (!havePvd) add(t.source(), "[default] has no 'pvd'");
    result_.doc.defaults = std::move(d);
  }

  void loadFailover(const toml::table& t) {
    FailoverDef f;
    f.layer = layer_;
    f.where = ref(t.source());
    for (const auto& [k, v] : t) {
      if (k == "attempt_delay_ms") {
        auto i = v.as_integer();
        if (!i) {
          wrongType(v, "attempt_delay_ms", "an integer (milliseconds)");
          continue;
        }
        const int64_t ms = i->get();
        if (ms < FailoverDef::kMinAttemptDelayMs || ms > FailoverDef::kMaxAttemptDelayMs) {
          add(v.source(), "attempt_delay_ms " + std::to_string(ms) + " is outside " +
                              std::to_string(FailoverDef::kMinAttemptDelayMs) + "-" +
                              std::to_string(FailoverDef::kMaxAttemptDelayMs) +
                              " (RFC 8305 section 5: a connection attempt delay of at least 100 ms "
                              "and at most 2 s)");
          continue;
        }
        f.attemptDelayMs = static_cast<uint32_t>(ms);
      } else {
        unknownKey(k, "[failover]", kFailoverKeys);
      }
    }
    result_.doc.failover = std::move(f);
  }

  std::string path_;
  FileName file_;  // path_, shared by every SourceRef of the document
  Layer layer_;
  LoadResult result_;
  std::vector<Item> items_;
};

}  // namespace

LoadResult loadString(std::string_view text, const std::string& path, Layer layer) {
  return Loader(path, layer).run(text);
}

// "cannot be read: WHY" (the system's reason, when it gave one).
static std::string unreadable(int err) {
  return err != 0 ? std::string("cannot be read: ") + std::strerror(err) : "cannot be read";
}

LoadResult loadFile(const std::string& path, Layer layer) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.doc.file = path;
    r.doc.layer = layer;
    r.diagnostics.push_back(Diagnostic{Severity::Error, path, 0, 0, unreadable(errno)});
    return r;
  }
  errno = 0;
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (static_cast<std::streamsize>(text.size()) > kMaxFileBytes) {
      LoadResult r;
      r.doc.file = path;
      r.doc.layer = layer;
      r.diagnostics.push_back(Diagnostic{Severity::Error, path, 0, 0, "is larger than 16 MiB; not a policy"});
      return r;
    }
  }
  if (in.bad()) {
    LoadResult r;
    r.doc.file = path;
    r.doc.layer = layer;
    r.diagnostics.push_back(Diagnostic{Severity::Error, path, 0, 0, unreadable(errno)});
    return r;
  }
  return loadString(text, path, layer);
}

std::string systemPolicyPath() { return "/etc/mif/policy.toml"; }

std::string userPolicyPath() {
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x == '/')
    return std::string(x) + "/mif/policy.toml";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.config/mif/policy.toml";
  return {};
}

}  // namespace mif::policy
