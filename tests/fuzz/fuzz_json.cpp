// libFuzzer: the one JSON writer (mif/policy/json.h) against a small, separate JSON reader.
// The input is cut at 0x00 bytes into strings: the first few become the string members of
// a trace-like object (name, note, status), the rest its "pvds" array (at most 16, as the
// hooks write at most policy::kMaxListed), and two bytes pick the numbers. The object is
// written twice, as the library and the command line write them:
// - over a std::string: it must be valid JSON (RFC 8259, strictly: raw bytes valid UTF-8,
//   no raw control bytes) and every string must decode to the exact original bytes, \udcXX
//   standing for the byte XX (surrogateescape);
// - over the trace line's fixed buffer (2,047 bytes): it must be valid JSON that fits, and
//   each string either the original or, when the object says "truncated":true, a prefix
//   of it followed by "...".
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/json.h"

namespace {

// A strict reader for what the writer produces: objects of strings, numbers, booleans,
// null and arrays of strings. Returns the strings in document order (keys included).
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool document(std::vector<std::string>& strings) {
    out_ = &strings;
    if (!value()) return false;
    return i_ == s_.size();
  }

 private:
  bool value() {
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"') {
      std::string v;
      if (!string(v)) return false;
      out_->push_back(std::move(v));
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    for (std::string_view w : {"true", "false", "null"})
      if (s_.substr(i_, w.size()) == w) return i_ += w.size(), true;
    return false;
  }
  bool object() {
    ++i_;
    if (peek() == '}') return ++i_, true;
    for (;;) {
      std::string k;
      if (peek() != '"' || !string(k)) return false;
      out_->push_back(std::move(k));
      if (peek() != ':') return false;
      ++i_;
      if (!value()) return false;
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == '}') return ++i_, true;
      return false;
    }
  }
  bool array() {
    ++i_;
    if (peek() == ']') return ++i_, true;
    for (;;) {
      if (!value()) return false;
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == ']') return ++i_, true;
      return false;
    }
  }
  bool number() {
    if (peek() == '-') ++i_;
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return false;
    if (s_[i_] == '0' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9') return false;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return true;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  std::optional<unsigned> hex4() {
    if (i_ + 4 > s_.size()) return std::nullopt;
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
      else return std::nullopt;
    }
    return v;
  }
  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xc0 | cp >> 6), out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += char(0xe0 | cp >> 12), out += char(0x80 | (cp >> 6 & 0x3f)), out += char(0x80 | (cp & 0x3f));
    } else {
      out += char(0xf0 | cp >> 18), out += char(0x80 | (cp >> 12 & 0x3f));
      out += char(0x80 | (cp >> 6 & 0x3f)), out += char(0x80 | (cp & 0x3f));
    }
  }
  // Length of a well-formed UTF-8 sequence at i_ (Unicode table 3-7), or 0.
  size_t wellFormed() const {
    auto b = [&](size_t k) -> unsigned { return i_ + k < s_.size() ? uint8_t(s_[i_ + k]) : 0x100; };
    auto in = [&](size_t k, unsigned lo, unsigned hi) { return b(k) >= lo && b(k) <= hi; };
    unsigned c = b(0);
    if (c >= 0xc2 && c <= 0xdf) return in(1, 0x80, 0xbf) ? 2 : 0;
    if (c == 0xe0) return in(1, 0xa0, 0xbf) && in(2, 0x80, 0xbf) ? 3 : 0;
    if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return in(1, 0x80, 0xbf) && in(2, 0x80, 0xbf) ? 3 : 0;
    if (c == 0xed) return in(1, 0x80, 0x9f) && in(2, 0x80, 0xbf) ? 3 : 0;
    if (c == 0xf0) return in(1, 0x90, 0xbf) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
    if (c >= 0xf1 && c <= 0xf3) return in(1, 0x80, 0xbf) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
    if (c == 0xf4) return in(1, 0x80, 0x8f) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
    return 0;
  }
  bool string(std::string& v) {
    ++i_;
    for (;;) {
      if (i_ >= s_.size()) return false;
      const auto c = uint8_t(s_[i_]);
      if (c == '"') return ++i_, true;
      if (c < 0x20) return false;
      if (c >= 0x80) {
        size_t n = wellFormed();
        if (n == 0) return false;
        v.append(s_.substr(i_, n));
        i_ += n;
        continue;
      }
      if (c != '\\') {
        v += char(c);
        ++i_;
        continue;
      }
      if (++i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"': v += '"'; break;
        case '\\': v += '\\'; break;
        case '/': v += '/'; break;
        case 'b': v += '\b'; break;
        case 'f': v += '\f'; break;
        case 'n': v += '\n'; break;
        case 'r': v += '\r'; break;
        case 't': v += '\t'; break;
        case 'u': {
          auto cp = hex4();
          if (!cp) return false;
          if (*cp >= 0xdc80 && *cp <= 0xdcff) {
            v += char(*cp & 0xff);  // surrogateescape: the original byte
          } else if (*cp >= 0xd800 && *cp <= 0xdbff) {
            if (s_.substr(i_, 2) != "\\u") return false;
            i_ += 2;
            auto lo = hex4();
            if (!lo || *lo < 0xdc00 || *lo > 0xdfff) return false;
            utf8(v, 0x10000 + ((*cp - 0xd800) << 10) + (*lo - 0xdc00));
          } else if (*cp >= 0xdc00 && *cp <= 0xdfff) {
            return false;
          } else {
            utf8(v, *cp);
          }
          break;
        }
        default:
          return false;
      }
    }
  }
  std::string_view s_;
  size_t i_ = 0;
  std::vector<std::string>* out_ = nullptr;
};

template <typename Sink>
void write(Sink& sink, const std::vector<std::string_view>& parts, long long us, bool strict) {
  mif::json::Object<Sink> o(sink);
  o.str("time", "2026-01-01T12:00:00.123456Z").num("pid", 4194304).str("call", "getaddrinfo");
  o.str("name", parts[0]).str("note", parts[1]).str("status", parts[2]);
  std::vector<std::string_view> pvds(parts.begin() + 3, parts.end());
  o.strings("pvds", pvds);
  o.boolean("strict", strict).str("step_name", "rule").num("us", us).null("none");
  o.close();
}

// The strings a reader must find, in order (keys included).
std::vector<std::string> expected(const std::vector<std::string_view>& parts) {
  std::vector<std::string> e = {"time", "2026-01-01T12:00:00.123456Z", "pid", "call", "getaddrinfo",
                                "name", std::string(parts[0]), "note", std::string(parts[1]),
                                "status", std::string(parts[2]), "pvds"};
  for (size_t k = 3; k < parts.size(); ++k) e.emplace_back(parts[k]);
  for (const char* s : {"strict", "step_name", "rule", "us", "none"}) e.emplace_back(s);
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const long long us = (static_cast<long long>(int8_t(data[0])) << 56) | data[1];
  const bool strict = data[0] & 1;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  std::vector<std::string_view> parts;
  for (;;) {
    size_t z = rest.find('\0');
    parts.push_back(rest.substr(0, z));
    if (z == std::string_view::npos || parts.size() == 3 + 16) break;
    rest.remove_prefix(z + 1);
  }
  while (parts.size() < 3) parts.push_back({});
  const auto want = expected(parts);

  // Over a std::string: everything, exactly.
  std::string line;
  mif::json::StringSink ss(&line);
  write(ss, parts, us, strict);
  std::vector<std::string> got;
  if (!Reader(line).document(got) || got != want) __builtin_trap();
  if (mif::json::quote(parts[0]) != line.substr(line.find("\"name\":") + 7,
                                                 mif::json::quote(parts[0]).size()))
    __builtin_trap();

  // Over the trace line's fixed buffer: valid, fits, and cut strings end in "...".
  static char buf[2047];
  mif::json::FixedSink fs(buf, sizeof buf);
  write(fs, parts, us, strict);
  std::string_view fixed(fs.data(), fs.size());
  if (fs.size() == sizeof buf && fixed.back() != '}') __builtin_trap();  // cut by the buffer
  got.clear();
  if (!Reader(fixed).document(got)) __builtin_trap();
  const bool truncated = fixed.ends_with(",\"truncated\":true}");
  if (!truncated) {
    if (got != want) __builtin_trap();
    return 0;
  }
  // Members (and array elements) that no longer fit are left out whole: what is there
  // comes in order, each string whole or cut short with "...".
  if (got.empty() || got.back() != "truncated") __builtin_trap();
  got.pop_back();
  size_t w = 0;
  for (const auto& g : got) {
    for (;; ++w) {
      if (w == want.size()) __builtin_trap();
      if (g == want[w]) break;
      if (g.ends_with("...") &&
          std::string_view(want[w]).starts_with(std::string_view(g.data(), g.size() - 3)))
        break;
    }
    ++w;
  }
  return 0;
}
