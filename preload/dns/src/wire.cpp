#include "mif/dns/wire.h"

#include <ares.h>
#include <sys/random.h>

#include <algorithm>
#include <cstring>

namespace mif::dns::wire {
namespace {

uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

bool sameName(std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Expands a possibly compressed name at `p`; advances `p` past it. c-ares does the
// pointer-loop checks.
bool expand(const uint8_t*& p, std::span<const uint8_t> msg, std::string* out) {
  char* name = nullptr;
  long len = 0;
  if (p >= msg.data() + msg.size()) return false;
  if (ares_expand_name(p, msg.data(), int(msg.size()), &name, &len) != ARES_SUCCESS) return false;
  if (out) *out = name;
  ares_free_string(name);
  p += len;
  return true;
}

}  // namespace

uint16_t randomId() {
  thread_local uint64_t state = 0;
  if (state == 0) {
    while (getrandom(&state, sizeof state, 0) != sizeof state) {
    }
    state |= 1;
  }
  // xorshift64*: cheap and good enough to spread IDs; the seed is what makes them secret.
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return uint16_t((state * 0x2545f4914f6cdd1dULL) >> 48);
}

std::vector<uint8_t> buildQuery(std::string_view name, uint16_t type, uint16_t id, uint16_t cls) {
  std::vector<uint8_t> q;
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return q;
  q.reserve(18 + name.size());
  const uint8_t header[12] = {uint8_t(id >> 8), uint8_t(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  q.insert(q.end(), header, header + 12);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    size_t len = dot - start;
    if (len == 0 || len > 63) return {};
    q.push_back(uint8_t(len));
    q.insert(q.end(), name.begin() + start, name.begin() + dot);
    start = dot + 1;
  }
  q.push_back(0);
  q.push_back(uint8_t(type >> 8));
  q.push_back(uint8_t(type));
  q.push_back(uint8_t(cls >> 8));
  q.push_back(uint8_t(cls));
  return q;
}

Response parse(std::span<const uint8_t> msg, std::string_view qname, uint16_t qtype) {
  Response r;
  if (msg.size() < 12) return r;
  const uint8_t* p = msg.data();
  const uint8_t* end = msg.data() + msg.size();
  r.rcode = p[3] & 0x0f;
  r.truncated = p[2] & 0x02;
  uint16_t qd = rd16(p + 4), an = rd16(p + 6), ns = rd16(p + 8);
  r.ancount = an;
  p += 12;
  for (uint16_t i = 0; i < qd; ++i) {
    if (!expand(p, msg, nullptr) || p + 4 > end) return r;
    p += 4;
  }
  r.ok = true;
  std::string current(qname);
  if (!current.empty() && current.back() == '.') current.pop_back();
  uint32_t ttl = UINT32_MAX;
  bool any = false;
  for (uint32_t i = 0; i < uint32_t(an) + ns; ++i) {
    std::string owner;
    if (!expand(p, msg, &owner) || p + 10 > end) break;
    uint16_t type = rd16(p), cls = rd16(p + 2);
    uint32_t rttl = rd32(p + 4);
    if (rttl > 0x7fffffff) rttl = 0;  // RFC 2181 8: treat as zero
    uint16_t rdlen = rd16(p + 8);
    p += 10;
    if (p + rdlen > end) break;
    const uint8_t* rdata = p;
    p += rdlen;
    if (cls != 1) continue;
    if (i >= an) {  // authority section
      if (type == kTypeSoa && !r.hasSoa) {
        const uint8_t* q = rdata;
        if (!expand(q, msg, nullptr) || !expand(q, msg, nullptr) || q + 20 > rdata + rdlen)
          continue;
        r.hasSoa = true;
        r.negativeTtl = std::min(rttl, rd32(q + 16));
      }
      continue;
    }
    if (!sameName(owner, current)) continue;
    if (type == kTypeCname && qtype != kTypeCname) {
      const uint8_t* q = rdata;
      std::string target;
      if (!expand(q, msg, &target)) continue;
      current = target;
      ttl = std::min(ttl, rttl);
      continue;
    }
    if (type != qtype) continue;
    if (type == kTypeA && rdlen == 4) {
      policy::IpAddress a;
      a.family = policy::Family::V4;
      std::memcpy(a.bytes.data(), rdata, 4);
      r.addresses.push_back(a);
    } else if (type == kTypeAaaa && rdlen == 16) {
      policy::IpAddress a;
      a.family = policy::Family::V6;
      std::memcpy(a.bytes.data(), rdata, 16);
      r.addresses.push_back(a);
    } else if (type == kTypePtr) {
      const uint8_t* q = rdata;
      std::string target;
      if (!expand(q, msg, &target)) continue;
      r.names.push_back(target);
    } else {
      continue;
    }
    if (!any) r.owner = owner;
    any = true;
    ttl = std::min(ttl, rttl);
  }
  r.ttl = any ? ttl : 0;
  return r;
}

bool question(std::span<const uint8_t> msg, std::string* name, uint16_t* type, uint16_t* cls) {
  if (msg.size() < 12 || rd16(msg.data() + 4) == 0) return false;
  const uint8_t* p = msg.data() + 12;
  if (!expand(p, msg, name) || p + 4 > msg.data() + msg.size()) return false;
  *type = rd16(p);
  *cls = rd16(p + 2);
  return true;
}

std::string normalise(std::string_view name) {
  std::string s(name);
  if (s.size() > 1 && s.back() == '.') s.pop_back();
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

std::string reverseName(const policy::IpAddress& a) {
  std::string s;
  static const char* hex = "0123456789abcdef";
  if (a.family == policy::Family::V4) {
    for (int i = 3; i >= 0; --i) s += std::to_string(a.bytes[size_t(i)]) + ".";
    return s + "in-addr.arpa";
  }
  for (int i = 15; i >= 0; --i) {
    s += hex[a.bytes[size_t(i)] & 0xf];
    s += '.';
    s += hex[a.bytes[size_t(i)] >> 4];
    s += '.';
  }
  return s + "ip6.arpa";
}

}  // namespace mif::dns::wire
