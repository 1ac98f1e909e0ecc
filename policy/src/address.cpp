// Text <-> IpAddress/Prefix. Written by hand rather than with inet_pton so that policy/
// stays free of libc networking and so that ambiguous forms (octal-looking "010.0.0.1",
// scope ids) are rejected the same way everywhere.
#include "mif/policy/address.h"

#include <charconv>

#include "mif/policy/model.h"

#include <cstdio>

namespace mif::policy {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Dotted quad into out[0..3]. Leading zeros are refused: some parsers read them as octal.
bool parseV4(std::string_view s, uint8_t* out) {
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    if (i >= s.size() || !isDigit(s[i])) return false;
    unsigned v = 0;
    size_t start = i;
    while (i < s.size() && isDigit(s[i])) {
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
      if (v > 255 || i - start >= 3) return false;
      ++i;
    }
    if (i - start > 1 && s[start] == '0') return false;
    out[part++] = static_cast<uint8_t>(v);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

bool parseV6(std::string_view s, uint8_t* out) {
  uint16_t groups[8] = {};
  int n = 0;           // groups written
  int gap = -1;        // index where "::" was seen
  size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
    if (i == s.size()) {
      for (int k = 0; k < 16; ++k) out[k] = 0;
      return true;
    }
  } else if (!s.empty() && s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    if (n >= 8) return false;
    // An embedded dotted quad may end the address (::ffff:192.0.2.1).
    size_t end = i;
    while (end < s.size() && s[end] != ':') ++end;
    std::string_view token = s.substr(i, end - i);
    if (token.find('.') != std::string_view::npos) {
      if (end != s.size() || n > 6) return false;
      uint8_t v4[4];
      if (!parseV4(token, v4)) return false;
      groups[n++] = static_cast<uint16_t>(v4[0] << 8 | v4[1]);
      groups[n++] = static_cast<uint16_t>(v4[2] << 8 | v4[3]);
      i = end;
      break;
    }
    if (token.empty() || token.size() > 4) return false;
    unsigned v = 0;
    for (char c : token) {
      int h = hexValue(c);
      if (h < 0) return false;
      v = v << 4 | static_cast<unsigned>(h);
    }
    groups[n++] = static_cast<uint16_t>(v);
    i = end;
    if (i == s.size()) break;
    ++i;  // the ':'
    if (i < s.size() && s[i] == ':') {
      if (gap >= 0) return false;  // a second "::"
      gap = n;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;  // trailing single ':'
    }
  }
  if (gap < 0 && n != 8) return false;
  if (gap >= 0 && n > 7) return false;
  uint16_t full[8] = {};
  if (gap < 0) {
    for (int k = 0; k < 8; ++k) full[k] = groups[k];
  } else {
    int tail = n - gap;
    for (int k = 0; k < gap; ++k) full[k] = groups[k];
    for (int k = 0; k < tail; ++k) full[8 - tail + k] = groups[gap + k];
  }
  for (int k = 0; k < 8; ++k) {
    out[2 * k] = static_cast<uint8_t>(full[k] >> 8);
    out[2 * k + 1] = static_cast<uint8_t>(full[k] & 0xff);
  }
  return true;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  IpAddress a;
  if (text.find(':') != std::string_view::npos) {
    a.family = Family::V6;
    if (!parseV6(text, a.bytes.data())) return std::nullopt;
    return a;
  }
  a.family = Family::V4;
  if (!parseV4(text, a.bytes.data())) return std::nullopt;
  return a;
}

IpAddress IpAddress::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress r;
  r.family = Family::V4;
  r.bytes[0] = a;
  r.bytes[1] = b;
  r.bytes[2] = c;
  r.bytes[3] = d;
  return r;
}

bool IpAddress::isV4Mapped() const {
  if (family != Family::V6) return false;
  for (int i = 0; i < 10; ++i)
    if (bytes[i] != 0) return false;
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

IpAddress IpAddress::unmapped() const {
  if (!isV4Mapped()) return *this;
  return v4(bytes[12], bytes[13], bytes[14], bytes[15]);
}

std::string IpAddress::toString() const {
  char buf[64];
  if (family == Family::V4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bytes[0], bytes[1], bytes[2], bytes[3]);
    return buf;
  }
  if (isV4Mapped()) {
    std::snprintf(buf, sizeof buf, "::ffff:%u.%u.%u.%u", bytes[12], bytes[13], bytes[14],
                  bytes[15]);
    return buf;
  }
  // RFC 5952: lower case, the longest run (>= 2) of zero groups shortened to "::", the
  // first one on a tie.
  unsigned g[8];
  for (int k = 0; k < 8; ++k) g[k] = static_cast<unsigned>(bytes[2 * k] << 8 | bytes[2 * k + 1]);
  int bestStart = -1, bestLen = 0;
  for (int k = 0; k < 8;) {
    if (g[k] != 0) {
      ++k;
      continue;
    }
    int start = k;
    while (k < 8 && g[k] == 0) ++k;
    if (k - start > bestLen) {
      bestLen = k - start;
      bestStart = start;
    }
  }
  if (bestLen < 2) bestStart = -1;
  std::string out;
  for (int k = 0; k < 8; ++k) {
    if (k == bestStart) {
      out += "::";
      k += bestLen - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[k]);
    out += buf;
  }
  return out;
}

Prefix::ParseResult Prefix::parse(std::string_view text) {
  ParseResult r;
  std::string_view addrText = text;
  std::optional<unsigned> length;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addrText = text.substr(0, slash);
    std::string_view lenText = text.substr(slash + 1);
    if (lenText.empty() || lenText.size() > 3) {
      r.error = "'" + std::string(text) + "': the prefix length after '/' must be a number";
      return r;
    }
    unsigned v = 0;
    for (char c : lenText) {
      if (!isDigit(c)) {
        r.error = "'" + std::string(text) + "': the prefix length after '/' must be a number";
        return r;
      }
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    length = v;
  }
  auto addr = IpAddress::parse(addrText);
  if (!addr) {
    r.error = "'" + std::string(text) + "': '" + std::string(addrText) +
              "' is not an IPv4 or IPv6 address";
    return r;
  }
  unsigned bits = addr->bitLength();
  if (length && *length > bits) {
    r.error = "'" + std::string(text) + "': prefix length " + std::to_string(*length) +
              " is longer than the " + std::to_string(bits) + " bits of an " +
              (bits == 32 ? "IPv4" : "IPv6") + " address";
    return r;
  }
  Prefix p;
  p.length = static_cast<uint8_t>(length ? *length : bits);
  p.addr = *addr;
  // Host bits, a byte at a time: the byte the prefix ends in, then every byte after it.
  for (unsigned byte = p.length / 8; byte < bits / 8; ++byte) {
    const unsigned kept = byte == p.length / 8 ? p.length % 8 : 0;
    const auto hostMask = static_cast<uint8_t>(0xffu >> kept);
    if (p.addr.bytes[byte] & hostMask) {
      r.hostBitsSet = true;
      p.addr.bytes[byte] = static_cast<uint8_t>(p.addr.bytes[byte] & ~hostMask);
    }
  }
  r.prefix = p;
  return r;
}

bool Prefix::contains(const IpAddress& a) const {
  if (a.family != addr.family) return false;
  unsigned full = length / 8;
  for (unsigned i = 0; i < full; ++i)
    if (a.bytes[i] != addr.bytes[i]) return false;
  unsigned rest = length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == addr.bytes[full];
}

std::string Prefix::toString() const { return addr.toString() + "/" + std::to_string(length); }

std::string HostPort::toString() const {
  const std::string a = addr.toString();
  return (addr.family == Family::V6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

std::string parseHostPort(std::string_view t, HostPort* out) {
  std::string_view host, port;
  if (!t.empty() && t[0] == '[') {
    const size_t close = t.find(']');
    if (close == std::string_view::npos) return "'[' without ']'";
    host = t.substr(1, close - 1);
    if (close + 1 >= t.size() || t[close + 1] != ':') return "expected ':PORT' after ']'";
    port = t.substr(close + 2);
  } else {
    const size_t colon = t.rfind(':');
    if (colon == std::string_view::npos) return "expected ADDRESS:PORT";
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return "an IPv6 target is written [ADDRESS]:PORT";
  }
  const auto a = IpAddress::parse(host);
  if (!a) {
    return "'" + std::string(host) +
           "' is not an IP address (a name would first have to be resolved through each PvD)";
  }
  unsigned long v = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || v < 1 || v > 65535)
    return "port '" + std::string(port) + "' is not 1-65535";
  out->addr = a->unmapped();
  out->port = static_cast<uint16_t>(v);
  return {};
}

}  // namespace mif::policy
