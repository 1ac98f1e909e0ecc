#include "mif/view/ra_options.h"

#include <algorithm>
#include <cstring>

namespace mif::view::ra {
namespace {

using policy::Family;
using policy::IpAddress;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

IpAddress v6(const uint8_t* p, size_t n = 16) {
  IpAddress a;
  a.family = Family::V6;
  std::memcpy(a.bytes.data(), p, n);
  return a;
}

policy::Prefix prefix(IpAddress a, unsigned length) {
  for (unsigned bit = length; bit < 128; ++bit) a.bytes[bit / 8] &= ~(0x80u >> (bit % 8));
  return {a, static_cast<uint8_t>(length)};
}

// RFC 4191 2.1: 01 high, 00 medium, 11 low; 10 is reserved.
int preference(unsigned bits) { return bits == 1 ? 1 : bits == 3 ? -1 : 0; }

bool fail(std::string& why, std::string text) {
  why = std::move(text);
  return false;
}

bool rdnss(Bytes o, Options& out, std::string& why) {
  // RFC 8106 5.1: length 1 + 2n, n >= 1 (the minimum is 3).
  if (o.size() < 24 || (o.size() / 8) % 2 == 0)
    return fail(why, "RDNSS: length " + std::to_string(o.size() / 8) + ", must be odd and >= 3");
  Rdnss r;
  r.lifetime = be32(&o[4]);
  for (size_t off = 8; off + 16 <= o.size(); off += 16) r.servers.push_back(v6(&o[off]));
  out.rdnss.push_back(std::move(r));
  return true;
}

bool dnssl(Bytes o, Options& out, std::string& why) {
  if (o.size() < 16) return fail(why, "DNSSL: length 1, must be >= 2");
  Dnssl d;
  d.lifetime = be32(&o[4]);
  Bytes names = o.subspan(8);
  size_t i = 0;
  // Names follow each other; zeros pad the option to its length (RFC 8106 5.2).
  while (i < names.size() && names[i] != 0) {
    size_t used = 0;
    auto name = wireName(names.subspan(i), used, why);
    if (!name) return fail(why, "DNSSL: " + why);
    d.domains.push_back(std::move(*name));
    i += used;
  }
  for (; i < names.size(); ++i)
    if (names[i] != 0) return fail(why, "DNSSL: padding is not zero");
  if (d.domains.empty()) return fail(why, "DNSSL: no domain name");
  out.dnssl.push_back(std::move(d));
  return true;
}

bool pref64(Bytes o, Options& out, std::string& why) {
  // RFC 8781 4: the length is exactly 2; the prefix length code 0-5.
  if (o.size() != 16)
    return fail(why, "PREF64: length " + std::to_string(o.size() / 8) + ", must be 2");
  static constexpr unsigned kLengths[] = {96, 64, 56, 48, 40, 32};
  unsigned word = be16(&o[2]);
  if ((word & 7) > 5)
    return fail(why, "PREF64: prefix length code " + std::to_string(word & 7) + ", must be 0-5");
  out.pref64.push_back({(word >> 3) * 8u, prefix(v6(&o[4], 12), kLengths[word & 7])});
  return true;
}

// RFC 8910 2.3: the URI, padded with NULs to the option's length. Printable ASCII only
// (a URI has nothing else).
bool captive(Bytes o, Options& out, std::string& why) {
  Bytes p = o.subspan(2);
  size_t n = 0;
  while (n < p.size() && p[n] != 0) ++n;
  if (n == 0) return fail(why, "captive portal: no URI");
  for (size_t k = n; k < p.size(); ++k)
    if (p[k] != 0) return fail(why, "captive portal: text after the padding");
  for (size_t k = 0; k < n; ++k)
    if (p[k] <= 0x20 || p[k] >= 0x7f) return fail(why, "captive portal: URI not printable");
  out.captive.emplace_back(reinterpret_cast<const char*>(p.data()), n);
  return true;
}

bool prefixInfo(Bytes o, Options& out, std::string& why) {
  if (o.size() != 32)
    return fail(why, "PIO: length " + std::to_string(o.size() / 8) + ", must be 4");
  if (o[2] > 128) return fail(why, "PIO: prefix length " + std::to_string(o[2]));
  PrefixInfo p;
  p.prefix = prefix(v6(&o[16]), o[2]);
  p.onLink = o[3] & 0x80;
  p.autonomous = o[3] & 0x40;
  p.validLifetime = be32(&o[4]);
  p.preferredLifetime = be32(&o[8]);
  // RFC 4862 5.5.3 c: a preferred lifetime beyond the valid one is an error.
  if (p.preferredLifetime > p.validLifetime)
    return fail(why, "PIO: preferred lifetime beyond the valid lifetime");
  out.prefixes.push_back(p);
  return true;
}

bool routeInfo(Bytes o, Options& out, std::string& why) {
  // RFC 4191 2.3: length 1 (prefix length 0), 2 (up to 64) or 3 (up to 128).
  size_t len = o.size() / 8;
  unsigned plen = o[2];
  if (len > 3) return fail(why, "RIO: length " + std::to_string(len) + ", must be 1-3");
  if (plen > 128 || (len == 1 && plen > 0) || (len == 2 && plen > 64))
    return fail(why, "RIO: prefix length " + std::to_string(plen) + " in length " +
                         std::to_string(len));
  if (((o[3] >> 3) & 3) == 2) return fail(why, "RIO: reserved preference");
  RouteInfo r;
  uint8_t addr[16] = {};
  std::memcpy(addr, &o[8], o.size() - 8);
  r.prefix = prefix(v6(addr), plen);
  r.preference = preference((o[3] >> 3) & 3);
  r.lifetime = be32(&o[4]);
  out.routes.push_back(r);
  return true;
}

bool mtu(Bytes o, Options& out, std::string& why) {
  if (o.size() != 8) return fail(why, "MTU: length " + std::to_string(o.size() / 8) + ", must be 1");
  uint32_t m = be32(&o[4]);
  if (m < 1280) return fail(why, "MTU: " + std::to_string(m) + ", below IPv6's 1280");
  out.mtu = m;
  return true;
}

Header header(const uint8_t* p) {
  Header h;
  h.curHopLimit = p[4];
  h.managed = p[5] & 0x80;
  h.other = p[5] & 0x40;
  h.preference = preference((p[5] >> 3) & 3);
  h.routerLifetime = be16(&p[6]);
  h.reachableTime = be32(&p[8]);
  h.retransTimer = be32(&p[12]);
  return h;
}

}  // namespace

std::optional<std::string> wireName(Bytes wire, size_t& used, std::string& why) {
  std::string name;
  size_t i = 0;
  for (;;) {
    if (i >= wire.size()) {
      why = "name runs past the option";
      return std::nullopt;
    }
    size_t l = wire[i++];
    if (l == 0) break;
    if (l > 63) {
      why = (l & 0xc0) == 0xc0 ? "compressed name" : "label of " + std::to_string(l) + " octets";
      return std::nullopt;
    }
    if (i + l > wire.size()) {
      why = "name runs past the option";
      return std::nullopt;
    }
    if (!name.empty()) name += '.';
    for (size_t k = 0; k < l; ++k) {
      uint8_t c = wire[i + k];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_';
      if (!ok) {
        why = "label with a byte other than a letter, digit, '-' or '_'";
        return std::nullopt;
      }
      name += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    i += l;
  }
  if (i > 255) {  // RFC 1035 2.3.4: 255 octets, length octets and root included
    why = "name longer than 255 octets";
    return std::nullopt;
  }
  used = i;
  return name;
}

std::optional<std::vector<Bytes>> splitOptions(Bytes list, std::string& why) {
  std::vector<Bytes> out;
  size_t off = 0;
  while (off < list.size()) {
    if (list.size() - off < 2) {
      why = "option at octet " + std::to_string(off) + " cut short";
      return std::nullopt;
    }
    size_t size = static_cast<size_t>(list[off + 1]) * 8;
    if (size == 0) {
      why = "option " + std::to_string(list[off]) + " at octet " + std::to_string(off) +
            " has length 0";
      return std::nullopt;
    }
    if (size > list.size() - off) {
      why = "option " + std::to_string(list[off]) + " at octet " + std::to_string(off) +
            " runs past the end (" + std::to_string(size) + " octets, " +
            std::to_string(list.size() - off) + " left)";
      return std::nullopt;
    }
    out.push_back(list.subspan(off, size));
    off += size;
  }
  return out;
}

bool parseOption(Bytes o, Options& out, std::string& why) {
  if (o.size() < 8 || o.size() % 8 != 0 || o[1] * 8u != o.size())
    return fail(why, "option length does not match its octets");
  switch (o[0]) {
    case kRdnss:
      return rdnss(o, out, why);
    case kDnssl:
      return dnssl(o, out, why);
    case kPref64:
      return pref64(o, out, why);
    case kCaptive:
      return captive(o, out, why);
    case kPrefixInfo:
      return prefixInfo(o, out, why);
    case kRouteInfo:
      return routeInfo(o, out, why);
    case kMtu:
      return mtu(o, out, why);
    default:
      return true;
  }
}

bool parsePvdOption(Bytes o, PvdOption& out, std::string& why) {
  if (o.size() < 8 || o.size() % 8 != 0 || o[0] != kPvd || o[1] * 8u != o.size())
    return fail(why, "PvD: not a PvD option of its own length");
  PvdOption p;
  unsigned flags = be16(&o[2]);
  p.http = flags & 0x8000;
  p.legacy = flags & 0x4000;
  bool r = flags & 0x2000;
  p.delay = static_cast<uint8_t>(flags & 0xf);
  p.sequence = be16(&o[4]);
  size_t used = 0;
  auto id = wireName(o.subspan(6), used, why);
  if (!id) return fail(why, "PvD: PvD ID: " + why);
  if (id->empty()) return fail(why, "PvD: PvD ID is the root name");
  p.id = std::move(*id);
  // Zero or more octets pad the name to the next multiple of 8 (from the option's start).
  size_t off = (6 + used + 7) / 8 * 8;
  if (off > o.size()) return fail(why, "PvD: padding runs past the option");
  if (r) {
    if (o.size() - off < 16)
      return fail(why, "PvD: R set but no room for an advertisement header");
    p.header = header(&o[off]);
    off += 16;
  }
  auto nested = splitOptions(o.subspan(off), why);
  if (!nested) return fail(why, "PvD " + p.id + ": " + why);
  for (Bytes n : *nested) {
    // RFC 8801 3.1: a PvD option must not contain a PvD option.
    if (n[0] == kPvd) return fail(why, "PvD " + p.id + ": a PvD option nested in it");
    if (!parseOption(n, p.options, why)) return fail(why, "PvD " + p.id + ": " + why);
  }
  out = std::move(p);
  return true;
}

bool parseAdvertisement(Bytes m, Advertisement& out, std::string& why) {
  if (m.size() < 16) return fail(why, "shorter than an advertisement's header");
  if (m[0] != 134 || m[1] != 0) return fail(why, "not a router advertisement");
  Advertisement a;
  a.header = header(m.data());
  auto opts = splitOptions(m.subspan(16), why);
  if (!opts) return false;
  for (Bytes o : *opts) {
    std::string reason;
    size_t at = static_cast<size_t>(o.data() - m.data());
    auto where = "option " + std::to_string(o[0]) + " at octet " + std::to_string(at) + ": ";
    if (o[0] == kPvd) {
      if (a.pvd) {
        a.rejected.push_back(where + "a second PvD option (RFC 8801 3.1 allows one)");
        continue;
      }
      PvdOption p;
      if (parsePvdOption(o, p, reason)) {
        a.pvd = std::move(p);
      } else {
        a.rejected.push_back(where + reason);
        a.pvdMalformed = true;
      }
    } else if (!parseOption(o, a.options, reason)) {
      a.rejected.push_back(where + reason);
    }
  }
  out = std::move(a);
  return true;
}

}  // namespace mif::view::ra
