#include "mif/policy/json.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace mif::json {

namespace detail {

size_t utf8Sequence(std::string_view s, size_t i) noexcept {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;  // overlong
    if (c == 0xed && b(1) >= 0xa0) return 0;  // a UTF-16 surrogate, encoded
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xf4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;  // a continuation byte, 0xc0/0xc1 (overlong), or 0xf5 and above
}

}  // namespace detail

long long currentPid() noexcept { return static_cast<long long>(::getpid()); }

size_t isoTime(char* out, size_t size) noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  const int n = std::snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", t.tm_year + 1900,
                              t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                              static_cast<long>(ts.tv_nsec / 1000) % 1000000);
  return n < 0 ? 0 : static_cast<size_t>(n) < size ? static_cast<size_t>(n) : size - 1;
}

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  StringSink sink(&out);
  sink.put('"');
  escapeInto(sink, s);
  sink.put('"');
  return out;
}

}  // namespace mif::json
