#include "discover/host_plan.h"

#include <algorithm>

namespace mif::discover {
namespace {

bool sameOrigin(const view::PublishedOrigin& a, const view::PublishedOrigin& b) {
  return a.ifname == b.ifname && a.router == b.router;
}

policy::Prefix defaultRoute() {
  policy::Prefix p;
  p.addr.family = policy::Family::V6;
  return p;
}

}  // namespace

HostPlan planHost(const std::vector<view::PublishedPvd>& pvds, int64_t now) {
  HostPlan plan;
  for (const auto& pvd : pvds) {
    for (const auto& p : pvd.prefixes) {
      if (!p.autonomous || p.prefix.length != 64 || p.expires <= now ||
          p.prefix.addr.family != policy::Family::V6)
        continue;
      auto same = [&](const WantedAddress& w) { return w.ifname == p.ifname && w.prefix == p.prefix; };
      auto it = std::find_if(plan.addresses.begin(), plan.addresses.end(), same);
      if (it == plan.addresses.end()) {
        plan.addresses.push_back({p.ifname, p.prefix, p.expires, std::min(p.preferred, p.expires),
                                  p.onLink});
      } else {
        it->expires = std::max(it->expires, p.expires);
        it->preferred = std::max(it->preferred, std::min(p.preferred, p.expires));
        it->onLink |= p.onLink;
      }
    }
    for (const auto& r : pvd.routers) {
      std::vector<policy::Prefix> from;
      for (const auto& p : pvd.prefixes)
        if (sameOrigin(p, r) && p.expires > now && p.prefix.addr.family == policy::Family::V6)
          from.push_back(p.prefix);
      for (const auto& f : from) {
        if (r.defaultUntil > now)
          plan.routes.push_back({r.ifname, defaultRoute(), f, r.router, r.defaultUntil});
        for (const auto& rio : pvd.routes)
          if (sameOrigin(rio, r) && rio.expires > now &&
              rio.prefix.addr.family == policy::Family::V6)
            plan.routes.push_back({r.ifname, rio.prefix, f, r.router, rio.expires});
      }
    }
  }
  std::sort(plan.addresses.begin(), plan.addresses.end());
  std::sort(plan.routes.begin(), plan.routes.end());
  // One route per key: a RIO for ::/0 and the router lifetime give the same route.
  auto key = [](const WantedRoute& a, const WantedRoute& b) {
    return a.ifname == b.ifname && a.to == b.to && a.from == b.from && a.via == b.via;
  };
  std::vector<WantedRoute> unique;
  for (const auto& r : plan.routes) {
    if (!unique.empty() && key(unique.back(), r))
      unique.back().expires = std::max(unique.back().expires, r.expires);
    else
      unique.push_back(r);
  }
  plan.routes = std::move(unique);
  return plan;
}

std::optional<std::array<uint8_t, 8>> eui64(const uint8_t* mac, size_t length) {
  if (length != 6) return std::nullopt;
  return std::array<uint8_t, 8>{static_cast<uint8_t>(mac[0] ^ 0x02), mac[1], mac[2], 0xff, 0xfe,
                                mac[3], mac[4], mac[5]};
}

policy::IpAddress withIdentifier(const policy::Prefix& prefix, const std::array<uint8_t, 8>& iid) {
  policy::IpAddress a = prefix.addr;
  std::copy(iid.begin(), iid.end(), a.bytes.begin() + 8);
  return a;
}

}  // namespace mif::discover

namespace mif::discover {
namespace {

uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

// FIPS 180-4's SHA-1 compression of one 64-octet block (big-endian words) into `h`.
void sha1Block(uint32_t h[5], const uint8_t block[64]) {
  uint32_t w[80];
  for (int i = 0; i < 16; ++i)
    w[i] = static_cast<uint32_t>(block[4 * i]) << 24 | static_cast<uint32_t>(block[4 * i + 1]) << 16 |
           static_cast<uint32_t>(block[4 * i + 2]) << 8 | block[4 * i + 3];
  for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; ++i) {
    uint32_t f, k;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rol(b, 30);
    b = a;
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

// The kernel's ipv6_reserved_interfaceid (RFC 5453): the subnet-router anycast identifier
// (zero), 0200:5eff:fe00:0-0200:5eff:ffff:ffff and fdff:ffff:ffff:ff80-fdff:ffff:ffff:ffff.
bool reserved(const std::array<uint8_t, 8>& id) {
  if (std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; })) return true;
  if (id[0] == 0x02 && id[1] == 0x00 && id[2] == 0x5e && id[3] == 0xff && (id[4] & 0xfe) == 0xfe)
    return true;
  return id[0] == 0xfd && id[1] == 0xff && id[2] == 0xff && id[3] == 0xff && id[4] == 0xff &&
         id[5] == 0xff && id[6] == 0xff && (id[7] & 0x80) == 0x80;
}

}  // namespace

std::optional<std::array<uint8_t, 8>> stablePrivacy(const std::array<uint8_t, 16>& secret,
                                                    const policy::Prefix& prefix,
                                                    const uint8_t* hwaddr, size_t length,
                                                    int retries) {
  for (int dad = 0; dad <= retries; ++dad) {
    uint8_t block[64] = {};
    std::copy(secret.begin(), secret.end(), block);
    std::copy(prefix.addr.bytes.begin(), prefix.addr.bytes.begin() + 8, block + 16);
    std::copy(hwaddr, hwaddr + std::min<size_t>(length, 32), block + 24);
    block[56] = static_cast<uint8_t>(dad);
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    sha1Block(h, block);
    std::array<uint8_t, 8> id{};
    // The kernel copies the state words as they lie in memory: little-endian on x86 and
    // arm64, the machines this has been checked on.
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 4; ++j) id[static_cast<size_t>(4 * i + j)] = static_cast<uint8_t>(h[i] >> (8 * j));
    if (!reserved(id)) return id;
  }
  return std::nullopt;
}

}  // namespace mif::discover
