#include "discover/pvd_info.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

// nlohmann/json (Debian's nlohmann-json3-dev, header-only): a well-tested parser for a
// document from the network (README.md says why it is a dependency). Its exceptions stay
// in this file: parse errors and type errors become the reason the document is refused.
#include <nlohmann/json.hpp>

namespace mif::discover {
namespace {

using Json = nlohmann::json;

// The deepest nesting of arrays and objects, counted outside strings; stops counting past
// `limit` (the parser itself recurses per level: a document of 100,000 '[' would not
// fail gracefully everywhere).
int depthOf(std::string_view s, int limit) {
  int depth = 0, deepest = 0;
  bool inString = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A DNS name in text form: labels of letters, digits, '-' and '_', 1 to 63 bytes each,
// at most 253 bytes, an optional trailing dot (dropped); returned in lower case.
bool dnsName(std::string_view s, std::string& out) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  if (label == 0) return false;
  out = lower(s);
  return true;
}

bool covered(const policy::Prefix& inner, const policy::Prefix& outer) {
  return outer.length <= inner.length && outer.contains(inner.addr);
}

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

bool parseRfc3339(std::string_view s, int64_t& unixSeconds) {
  // full-date "T" partial-time time-offset (RFC 3339 5.6); T and Z in either case.
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second))
    return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 ||
      day > kDays[month - 1] + (month == 2 && leap ? 1 : 0) || hour > 23 || minute > 59 ||
      second > 60)  // 60: a leap second
    return false;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  int offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !digits(s, i + 4, 2, om) || oh > 23 || om > 59)
      return false;
    offset = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  unixSeconds = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                hour * 3600 + minute * 60 + std::min(second, 59) - offset;
  return true;
}

std::string formatRfc3339(int64_t t) {
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t rest = t - days * 86400;
  // civil_from_days
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  const int secs = static_cast<int>(rest);  // 0..86399
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y),
                m, d, secs / 3600, secs / 60 % 60, secs % 60);
  return buf;
}

bool coversAnnounced(const std::vector<policy::Prefix>& info,
                     const std::vector<policy::Prefix>& announced, std::string& why) {
  for (const auto& a : announced) {
    if (std::none_of(info.begin(), info.end(), [&](const policy::Prefix& p) { return covered(a, p); })) {
      why = "announced prefix " + a.toString() + " is not covered by the document's prefixes";
      return false;
    }
  }
  return true;
}

bool parsePvdInfo(std::string_view text, std::string_view id,
                  const std::vector<policy::Prefix>& announced, int64_t nowUnix,
                  int64_t nowBoot, view::PublishedPvd::Info& out, std::string& why) {
  if (text.size() > kMaxPvdInfoBytes)
    return why = "document of " + std::to_string(text.size()) + " bytes (at most " +
                 std::to_string(kMaxPvdInfoBytes) + ")",
           false;
  if (depthOf(text, kMaxPvdInfoDepth) > kMaxPvdInfoDepth)
    return why = "nested more than " + std::to_string(kMaxPvdInfoDepth) + " deep", false;
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." without the tag.
    std::string what = e.what();
    auto close = what.find("] ");
    why = "not JSON: " + (close == std::string::npos ? what : what.substr(close + 2));
    return false;
  }
  if (!doc.is_object()) return why = "not a JSON object", false;
  view::PublishedPvd::Info info;

  auto it = doc.find("identifier");
  if (it == doc.end() || !it->is_string()) return why = "no \"identifier\" string", false;
  std::string ident;
  const std::string& identText = it->get_ref<const std::string&>();
  if (!dnsName(identText, ident)) return why = "\"identifier\" is not a DNS name", false;
  std::string want = lower(id);
  if (!want.empty() && want.back() == '.') want.pop_back();
  if (ident != want)
    return why = "\"identifier\" " + ident + " is not the PvD ID " + want, false;

  it = doc.find("expires");
  if (it == doc.end() || !it->is_string()) return why = "no \"expires\" string", false;
  int64_t expires = 0;
  if (!parseRfc3339(it->get_ref<const std::string&>(), expires))
    return why = "\"expires\" is not an RFC 3339 date-time", false;
  if (expires <= nowUnix)
    return why = "expired at " + formatRfc3339(expires) + " (now " + formatRfc3339(nowUnix) + ")",
           false;
  info.expiresUtc = formatRfc3339(expires);
  info.expires = nowBoot + (expires - nowUnix);

  it = doc.find("prefixes");
  if (it == doc.end() || !it->is_array()) return why = "no \"prefixes\" array", false;
  if (it->size() > kMaxPvdInfoItems)
    return why = "more than " + std::to_string(kMaxPvdInfoItems) + " \"prefixes\"", false;
  for (const auto& p : *it) {
    if (!p.is_string()) return why = "\"prefixes\" holds a non-string", false;
    auto r = policy::Prefix::parse(p.get_ref<const std::string&>());
    if (!r.prefix || r.prefix->addr.family != policy::Family::V6 || r.hostBitsSet ||
        p.get_ref<const std::string&>().find('/') == std::string::npos)
      return why = "\"prefixes\": not an IPv6 prefix: " + p.dump(-1, ' ', true), false;
    info.prefixes.push_back(*r.prefix);
  }
  if (!coversAnnounced(info.prefixes, announced, why)) return false;

  auto boolean = [&](const char* key, bool& value, bool& present) {
    auto k = doc.find(key);
    present = k != doc.end();
    if (!present) return true;
    if (!k->is_boolean()) return why = std::string("\"") + key + "\" is not a boolean", false;
    value = k->get<bool>();
    return true;
  };
  bool present = false, value = false;
  if (!boolean("noInternet", info.noInternet, present)) return false;
  if (!boolean("metered", value, present)) return false;
  if (present) info.metered = value;

  it = doc.find("name");
  if (it != doc.end()) {
    if (!it->is_string()) return why = "\"name\" is not a string", false;
    const std::string& n = it->get_ref<const std::string&>();
    if (n.size() > 255) return why = "\"name\" longer than 255 bytes", false;
    if (std::any_of(n.begin(), n.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
      return why = "\"name\" holds a control character", false;
    info.name = n;  // valid UTF-8: the parser checked
  }
  it = doc.find("dnsZones");
  if (it != doc.end()) {
    if (!it->is_array()) return why = "\"dnsZones\" is not an array", false;
    if (it->size() > kMaxPvdInfoItems)
      return why = "more than " + std::to_string(kMaxPvdInfoItems) + " \"dnsZones\"", false;
    for (const auto& z : *it) {
      std::string zone;
      if (!z.is_string() || !dnsName(z.get_ref<const std::string&>(), zone))
        return why = "\"dnsZones\": not a DNS name: " + z.dump(-1, ' ', true), false;
      info.dnsZones.push_back(zone);
    }
  }
  out = std::move(info);
  return true;
}

}  // namespace mif::discover
