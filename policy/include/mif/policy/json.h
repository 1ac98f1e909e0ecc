#pragma once
// The one JSON writer of mif: the library's trace lines (preload/src/trace.cpp, the
// resolver's lines) and the command line's --json output are all written through it, so
// every string is escaped the same way (docs/trace.md):
// - '"' and '\' are escaped; \b \f \n \r \t by their short forms; every other byte below
//   0x20, and 0x7f, as \u00XX;
// - valid UTF-8 is copied as it is;
// - a byte that is not part of valid UTF-8 (a stray continuation byte, a truncated or
//   overlong sequence, an encoded surrogate, anything above U+10FFFF) is written as
//   \udcXX, XX being the byte: the "surrogateescape" convention, so the line stays valid
//   JSON and the original bytes come back exactly (Python:
//   json.loads(line)["name"].encode("utf-8", "surrogateescape")).
//
// Two sinks: a fixed buffer (no allocation; the hooks write their trace lines with it) and
// a std::string. A fixed buffer never overflows and never cuts a line into invalid JSON: a
// string that does not fit is cut short, and the object says so with "truncated":true.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mif::json {

// A fixed buffer; `room` is what is left of it.
class FixedSink {
 public:
  FixedSink(char* buf, size_t cap) noexcept : buf_(buf), cap_(cap) {}
  void put(char c) noexcept {
    if (len_ < cap_) buf_[len_++] = c;
  }
  void append(const char* s, size_t n) noexcept {
    for (size_t i = 0; i < n; ++i) put(s[i]);
  }
  size_t room() const noexcept { return cap_ - len_; }
  size_t size() const noexcept { return len_; }
  // Takes back what was written after the first `len` bytes.
  void rewind(size_t len) noexcept {
    if (len < len_) len_ = len;
  }
  const char* data() const noexcept { return buf_; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
};

class StringSink {
 public:
  explicit StringSink(std::string* out) noexcept : out_(out) {}
  void put(char c) { out_->push_back(c); }
  void append(const char* s, size_t n) { out_->append(s, n); }
  size_t room() const noexcept { return SIZE_MAX; }
  size_t size() const noexcept { return out_->size(); }
  void rewind(size_t len) { out_->resize(len); }

 private:
  std::string* out_;
};

// The escaped form of one byte sequence, without quotes. Writes at most `limit` bytes of
// output (whole escapes only) and returns false when it had to stop early.
template <typename Sink>
bool escapeInto(Sink& sink, std::string_view s, size_t limit = SIZE_MAX);

// "s" as a JSON string literal, quotes included.
std::string quote(std::string_view s);

long long currentPid() noexcept;

// One JSON object, written member by member. For a fixed sink, each string is cut short
// (keeping kReserve bytes for the members after it and the closing brace) rather than
// overflow, and close() adds "truncated":true. A member (or an element of strings()) that
// would still leave less than kClose bytes, room for ',"truncated":true}', is taken back
// whole, and so is every member after it: however many members follow a cut string, the
// object stays valid JSON within the buffer.
template <typename Sink>
class Object {
 public:
  static constexpr size_t kReserve = 160;
  static constexpr size_t kClose = 18;
  explicit Object(Sink& sink) : sink_(sink) { sink_.put('{'); }
  Object& str(std::string_view key, std::string_view value);
  Object& num(std::string_view key, long long value);
  Object& unum(std::string_view key, unsigned long long value);
  Object& boolean(std::string_view key, bool value);
  Object& null(std::string_view key);
  // An array of strings from any range of things convertible to string_view.
  template <typename Range>
  Object& strings(std::string_view key, const Range& values);
  // A member whose value is JSON already written by this writer (a nested object).
  Object& raw(std::string_view key, std::string_view json);
  // Closes the object ("}"), after "truncated":true if a string was cut.
  void close();

 private:
  void key(std::string_view k);
  void quoted(std::string_view v);
  // Around each member: false once a member was taken back (the rest are left out).
  bool begin();
  void end();
  Sink& sink_;
  bool first_ = true;
  bool truncated_ = false;
  bool full_ = false;
  size_t mark_ = 0;
  bool markFirst_ = true;
};

// One JSON array, written element by element: strings, JSON already written by this
// writer, or an object written in place:
//   Array<StringSink> a(sink);
//   { Object<StringSink> o(a.element()); o.str("name", n); o.close(); }
//   a.close();
// Over a fixed sink a string element is cut short as an Object's is ("..." at the end).
template <typename Sink>
class Array {
 public:
  explicit Array(Sink& sink) : sink_(sink) { sink_.put('['); }
  Array& str(std::string_view value);
  Array& raw(std::string_view json);
  // Starts the next element ("," before every one but the first); the caller writes it
  // into the sink returned.
  Sink& element();
  void close() { sink_.put(']'); }

 private:
  Sink& sink_;
  bool first_ = true;
};

// The members every trace line starts with (docs/trace.md): "time" (UTC, microseconds:
// "2026-01-01T12:00:00.123456Z"), "pid" and "call".
template <typename Sink>
void traceHeader(Object<Sink>& o, std::string_view call);
// The same for a line about another process (the --enforce supervisor's lines name the
// supervised program's pid).
template <typename Sink>
void traceHeader(Object<Sink>& o, std::string_view call, long long pid);
// The current time in that form, into `out` (at least 32 bytes); its length.
size_t isoTime(char* out, size_t size) noexcept;

// ---- implementation ----

template <typename Sink>
void traceHeader(Object<Sink>& o, std::string_view call, long long pid) {
  char when[40];
  const size_t n = isoTime(when, sizeof when);
  o.str("time", std::string_view(when, n)).num("pid", pid).str("call", call);
}

template <typename Sink>
void traceHeader(Object<Sink>& o, std::string_view call) {
  traceHeader(o, call, currentPid());
}

namespace detail {
// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 when s[i] does not
// start one (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8Sequence(std::string_view s, size_t i) noexcept;
}  // namespace detail

template <typename Sink>
bool escapeInto(Sink& sink, std::string_view s, size_t limit) {
  static const char kHex[] = "0123456789abcdef";
  size_t written = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    char esc[8];
    size_t n = 0, consumed = 1;
    const char* from = esc;
    switch (c) {
      case '"': esc[0] = '\\', esc[1] = '"', n = 2; break;
      case '\\': esc[0] = '\\', esc[1] = '\\', n = 2; break;
      case '\b': esc[0] = '\\', esc[1] = 'b', n = 2; break;
      case '\f': esc[0] = '\\', esc[1] = 'f', n = 2; break;
      case '\n': esc[0] = '\\', esc[1] = 'n', n = 2; break;
      case '\r': esc[0] = '\\', esc[1] = 'r', n = 2; break;
      case '\t': esc[0] = '\\', esc[1] = 't', n = 2; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0';
          esc[4] = kHex[c >> 4], esc[5] = kHex[c & 15], n = 6;
        } else if (c < 0x80) {
          esc[0] = static_cast<char>(c), n = 1;
        } else if (size_t len = detail::utf8Sequence(s, i); len > 0) {
          from = s.data() + i, n = len, consumed = len;
        } else {
          esc[0] = '\\', esc[1] = 'u', esc[2] = 'd', esc[3] = 'c';
          esc[4] = kHex[c >> 4], esc[5] = kHex[c & 15], n = 6;
        }
    }
    if (written + n > limit) return false;
    sink.append(from, n);
    written += n;
    i += consumed;
  }
  return true;
}

template <typename Sink>
void Object<Sink>::key(std::string_view k) {
  if (!first_) sink_.put(',');
  first_ = false;
  sink_.put('"');
  escapeInto(sink_, k);
  sink_.put('"');
  sink_.put(':');
}

template <typename Sink>
void Object<Sink>::quoted(std::string_view v) {
  sink_.put('"');
  const size_t room = sink_.room();
  const size_t limit = room > kReserve + 4 ? room - kReserve - 4 : 0;
  if (!escapeInto(sink_, v, limit)) {
    truncated_ = true;
    sink_.append("...", 3);
  }
  sink_.put('"');
}

template <typename Sink>
bool Object<Sink>::begin() {
  if (full_) return false;
  mark_ = sink_.size();
  markFirst_ = first_;
  return true;
}

template <typename Sink>
void Object<Sink>::end() {
  if (sink_.room() >= kClose) return;
  sink_.rewind(mark_);
  first_ = markFirst_;
  truncated_ = full_ = true;
}

template <typename Sink>
Object<Sink>& Object<Sink>::str(std::string_view k, std::string_view value) {
  if (!begin()) return *this;
  key(k);
  quoted(value);
  end();
  return *this;
}

template <typename Sink>
Object<Sink>& Object<Sink>::num(std::string_view k, long long value) {
  if (!begin()) return *this;
  key(k);
  char buf[24];
  size_t n = 0;
  unsigned long long v = value < 0 ? 0ULL - static_cast<unsigned long long>(value)
                                   : static_cast<unsigned long long>(value);
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (value < 0) sink_.put('-');
  while (n > 0) sink_.put(buf[--n]);
  end();
  return *this;
}

template <typename Sink>
Object<Sink>& Object<Sink>::unum(std::string_view k, unsigned long long value) {
  if (!begin()) return *this;
  key(k);
  char buf[24];
  size_t n = 0;
  do {
    buf[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) sink_.put(buf[--n]);
  end();
  return *this;
}

template <typename Sink>
Object<Sink>& Object<Sink>::boolean(std::string_view k, bool value) {
  if (!begin()) return *this;
  key(k);
  if (value)
    sink_.append("true", 4);
  else
    sink_.append("false", 5);
  end();
  return *this;
}

template <typename Sink>
Object<Sink>& Object<Sink>::null(std::string_view k) {
  if (!begin()) return *this;
  key(k);
  sink_.append("null", 4);
  end();
  return *this;
}

template <typename Sink>
template <typename Range>
Object<Sink>& Object<Sink>::strings(std::string_view k, const Range& values) {
  if (!begin()) return *this;
  key(k);
  sink_.put('[');
  bool first = true;
  for (const auto& v : values) {
    const size_t before = sink_.size();
    if (!first) sink_.put(',');
    quoted(std::string_view(v));
    if (sink_.room() < kClose + 1) {  // this element and the rest are left out
      sink_.rewind(before);
      truncated_ = true;
      break;
    }
    first = false;
  }
  sink_.put(']');
  end();
  return *this;
}

template <typename Sink>
Object<Sink>& Object<Sink>::raw(std::string_view k, std::string_view json) {
  if (!begin()) return *this;
  key(k);
  sink_.append(json.data(), json.size());
  end();
  return *this;
}

template <typename Sink>
void Object<Sink>::close() {
  if (truncated_) {
    if (!first_) sink_.put(',');
    sink_.append("\"truncated\":true", 16);
  }
  sink_.put('}');
}

template <typename Sink>
Sink& Array<Sink>::element() {
  if (!first_) sink_.put(',');
  first_ = false;
  return sink_;
}

template <typename Sink>
Array<Sink>& Array<Sink>::str(std::string_view value) {
  element();
  sink_.put('"');
  const size_t room = sink_.room();
  const size_t limit = room > Object<Sink>::kReserve + 4 ? room - Object<Sink>::kReserve - 4 : 0;
  if (!escapeInto(sink_, value, limit)) sink_.append("...", 3);
  sink_.put('"');
  return *this;
}

template <typename Sink>
Array<Sink>& Array<Sink>::raw(std::string_view json) {
  element();
  sink_.append(json.data(), json.size());
  return *this;
}

}  // namespace mif::json
