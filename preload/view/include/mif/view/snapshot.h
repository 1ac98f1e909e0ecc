#pragma once
// The live provisioning-domain view: an immutable snapshot of the host's interfaces,
// addresses and routes (from netlink), with each policy PvD bound to its interface.
// Readers hold a `const Snapshot*`; a new snapshot replaces it atomically when netlink
// says something changed (see live_view.h). Nothing here touches sockets of the program.
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mif/policy/address.h"
#include "mif/policy/policy.h"

namespace mif::view {

using policy::Family;
using policy::IpAddress;

struct Address {
  IpAddress addr;
  uint8_t prefixLength = 0;
  uint8_t scope = 0;            // RT_SCOPE_*
  uint32_t flags = 0;           // IFA_F_*
  uint32_t preferredLifetime = 0xffffffff, validLifetime = 0xffffffff;  // seconds
  bool tentative() const;
  bool deprecated() const;
  bool temporary() const;
  bool usable() const;          // not tentative, not dadfailed, global or site scope
};

struct Route {
  Family family = Family::V4;
  policy::Prefix dst;            // 0.0.0.0/0 or ::/0 for a default route
  bool hasGateway = false;
  IpAddress gateway;
  bool hasSource = false;        // "from PREFIX" (IPv6 source-specific routes)
  policy::Prefix source;
  uint32_t metric = 0;
  uint32_t table = 254;
  int ifindex = 0;
  uint8_t type = 1;              // RTN_* (1 = RTN_UNICAST; local, broadcast, blackhole...)
  uint8_t protocol = 0;          // RTPROT_* (kernel, boot, static, ra, dhcp...)
  bool isDefault() const { return dst.length == 0; }
};

struct Interface {
  int index = 0;
  std::string name;
  std::string kind;              // "ethernet", "wlan", "tun", "wireguard", "veth", "loopback", ...
  bool adminUp = false;
  bool operUp = false;           // IF_OPER_UP (or UNKNOWN with carrier, as tun reports)
  bool carrier = false;
  uint8_t operState = 0;         // IF_OPER_* as the kernel reports it
  unsigned flags = 0;            // IFF_* (IFF_POINTOPOINT: "on-link" reaches everything)
  unsigned arpType = 0;          // ARPHRD_*
  std::vector<Address> addresses;
  // Up, carrier, operationally UP or UNKNOWN (tun, loopback): can carry traffic at all.
  bool linkUsable() const;
};

enum class DnsOrigin : uint8_t {
  Policy,
  CommandLine,
  Resolved,
  ResolvConf,
  RouterAdvertisement,  // RDNSS/DNSSL options (RFC 8106) heard by a LiveView
};
const char* dnsOriginName(DnsOrigin);

struct DnsServer {
  IpAddress addr;
  uint16_t port = 53;
  DnsOrigin origin = DnsOrigin::Policy;
};

// Facts a router advertisement gave the interface (heard by a LiveView as
// RTM_NEWNDUSEROPT; the kernel keeps none of them). Each came from one router (its
// link-local address) and holds until `expires` (steady clock; time_point::max() for an
// infinite lifetime), or until that router stops being a default router (docs/architecture.md).
using RaClock = std::chrono::steady_clock;
// `heard`: when the advertisement that last gave it arrived (by this process, or by the mif
// process that recorded it under /run/mif: see mif/view/ra_state.h).
struct Nat64Prefix {              // PREF64, RFC 8781 (option 38)
  policy::Prefix prefix;          // /96, /64, /56, /48, /40 or /32
  IpAddress router;
  RaClock::time_point expires = RaClock::time_point::max();
  RaClock::time_point heard{};
};
struct CaptivePortal {            // captive portal URI, RFC 8910 (option 37)
  std::string uri;
  IpAddress router;
  RaClock::time_point expires = RaClock::time_point::max();
  RaClock::time_point heard{};
  // Captive until `mif probe` found the portal open (recorded under /run/mif); `checked`:
  // when it last looked (time_point{} = never).
  bool open = false;
  RaClock::time_point checked{};
};

// A policy PvD bound to the live interface matching its name or glob.
struct BoundPvd {
  policy::PvdId id = 0;
  int ifindex = 0;               // 0 = no interface matches
  std::string ifname;            // bind by name (SO_BINDTODEVICE): follows a VPN reconnect
  policy::PvdState state;        // present / usable per family
  // The source address to bind per family when the PvD needs one (its `source` set, or
  // several usable addresses on the interface); hasSource* false = let the kernel choose.
  bool hasSource4 = false, hasSource6 = false;
  IpAddress source4, source6;
  std::vector<IpAddress> addresses;   // the interface addresses that belong to this PvD
  std::vector<DnsServer> dns;
  std::vector<std::string> domains;
  std::vector<DnsOrigin> domainOrigins;  // parallel to domains
  std::vector<std::string> warnings;  // "no route through tun0 - ..." (for `mif show`)
  // From router advertisements on the interface (empty for readOnce() unless the caller
  // listened): the PvD's NAT64 prefixes, and its captive portal.
  std::vector<Nat64Prefix> pref64;
  std::vector<CaptivePortal> captive;
  // Every router that announced itself as a default router on the interface since the
  // view listened has left (router lifetime 0); with no IPv6 route left through the
  // interface the PvD is then not usable for IPv6.
  bool routerLeft = false;
};

struct Snapshot {
  uint64_t generation = 0;       // increases with every refresh
  std::vector<Interface> interfaces;
  std::vector<Route> routes;     // every table, both families
  std::vector<BoundPvd> pvds;    // indexed by PvdId
  std::vector<policy::PvdState> states;  // indexed by PvdId, for policy::View
  // Problems that belong to no single PvD; and why the snapshot is empty when netlink
  // could not be read (a sandbox without NETLINK_ROUTE): "" when the dump succeeded.
  std::vector<std::string> warnings;
  std::string error;
  policy::View view() const { return policy::View{states}; }

  const Interface* interfaceByIndex(int index) const;
  const Interface* interfaceByName(std::string_view name) const;
  // The interface that holds `a` (strong host model: a bound source pins its socket there).
  const Interface* ownerOf(const IpAddress& a) const;
  // The PvD an interface address belongs to (respecting `source`), or -1.
  int pvdOfAddress(const IpAddress& a) const;
};

}  // namespace mif::view
