#pragma once
// What `mif discover` configures on the host for the options nested in a PvD option, which
// the kernel does for a plain advertisement but never sees here (docs/discovery.md): a
// SLAAC address in each nested prefix with the A flag (RFC 4862), and source-specific
// routes toward the announcing router (RFC 8028). Pure: the PvDs in, the addresses and
// routes wanted out; host_config.h makes the host match, and undoes it.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mif/view/published_pvds.h"

namespace mif::discover {

// A SLAAC address wanted in `prefix` (a /64) on `ifname`, for as long as its lifetimes say
// (boot seconds, view::kForever). `onLink`: the prefix's L flag (the kernel's prefix route
// comes with the address only then).
struct WantedAddress {
  std::string ifname;
  policy::Prefix prefix;
  int64_t expires = 0, preferred = 0;
  bool onLink = false;
  auto operator<=>(const WantedAddress&) const = default;
};

// A route to `to` (::/0 for the default) for packets from `from`, via the router's
// link-local address `via` on `ifname`, until `expires`.
struct WantedRoute {
  std::string ifname;
  policy::Prefix to, from;
  policy::IpAddress via;
  int64_t expires = 0;
  auto operator<=>(const WantedRoute&) const = default;
};

struct HostPlan {
  std::vector<WantedAddress> addresses;  // sorted, one per (interface, prefix)
  std::vector<WantedRoute> routes;       // sorted, one per (interface, to, from, via)
};

// What the PvDs heard call for at `now`:
// - an address per prefix whose A flag is set and whose length is 64 (RFC 4862 5.5.3: the
//   interface identifier is 64 bits long on every link mif configures), valid while its
//   valid lifetime lasts; announced by several routers, the longest lifetimes count;
// - per router still a default router (router lifetime left): `default from P via ROUTER`
//   for each prefix P that router announced in its PvD, until its router lifetime ends;
// - per route (RIO) a router announced: `ROUTE from P via ROUTER` for each such P, until
//   the RIO's lifetime ends. A PvD without prefixes gets no route: nothing to restrict it to.
HostPlan planHost(const std::vector<view::PublishedPvd>& pvds, int64_t now);

// RFC 4291 appendix A: the modified EUI-64 interface identifier of a 48-bit MAC address
// (ff:fe in the middle, the universal/local bit flipped). nullopt for another length.
std::optional<std::array<uint8_t, 8>> eui64(const uint8_t* mac, size_t length);

// The stable-privacy identifier the kernel makes under addr_gen_mode 2 (RFC 7217;
// net/ipv6/addrconf.c, ipv6_generate_stable_address): one SHA-1 block, unpadded, over the
// link's stable_secret, the prefix's first 64 bits, the device's permanent hardware
// address (zero-padded to 32 octets) and the DAD counter; the first two words of the
// state, in host order, are the identifier. A reserved identifier (RFC 5453) takes the
// next counter, up to `retries` (idgen_retries); nullopt after that.
std::optional<std::array<uint8_t, 8>> stablePrivacy(const std::array<uint8_t, 16>& secret,
                                                    const policy::Prefix& prefix,
                                                    const uint8_t* hwaddr, size_t length,
                                                    int retries = 3);

// `prefix`'s first 64 bits and `iid`.
policy::IpAddress withIdentifier(const policy::Prefix& prefix, const std::array<uint8_t, 8>& iid);

}  // namespace mif::discover
