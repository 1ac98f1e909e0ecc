#pragma once
// Where a PvD's DNS servers and search domains come from when the policy does not say.
// Each source is a small object asked per interface; the first source (in the order given
// to bindPvds) that knows servers for a PvD supplies them. More sources plug in here later
// (DHCP leases). Router advertisements: ra_source.h.
#include <memory>
#include <string>
#include <vector>

#include "mif/view/snapshot.h"

namespace mif::view::detail {

struct DnsFacts {
  std::vector<DnsServer> servers;
  std::vector<std::string> domains;  // lower case, no trailing dot, no "~" routing marker
};

class DnsSource {
 public:
  virtual ~DnsSource() = default;
  virtual DnsOrigin origin() const = 0;
  // What this source knows for `ifc`. `holdsDefault`: the PvD on `ifc` carries the
  // preferred default route (system-wide configuration is attributed to that PvD only).
  virtual void lookup(const Interface& ifc, bool holdsDefault, DnsFacts& out) const = 0;
  // What routers told `ifc` besides DNS (NAT64 prefixes, captive portal, whether its
  // routers left); asked of every source, whichever supplied the servers.
  virtual void routerFacts(const Interface&, BoundPvd&) const {}
};

// systemd-resolved's per-link state (/run/systemd/resolve/netif/IFINDEX, written for links
// configured over D-Bus, e.g. by NetworkManager) and systemd-networkd's
// (/run/systemd/netif/links/IFINDEX). Both describe the host's first network namespace: in
// any other namespace the source stays silent, since the same index names another link
// (`anyNamespace` lifts that, for tests).
std::unique_ptr<DnsSource> makeResolvedSource(std::string runDir = "/run/systemd",
                                              bool anyNamespace = false);

// /etc/resolv.conf, for the PvD holding the preferred default route. Loopback servers (a
// local stub such as resolved's 127.0.0.53) are skipped: a socket bound to the PvD's
// interface cannot reach them.
std::unique_ptr<DnsSource> makeResolvConfSource(std::string path = "/etc/resolv.conf");

// The default list, in precedence order.
std::vector<std::unique_ptr<DnsSource>> defaultDnsSources();

// "192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53", "fe80::1%3", "192.0.2.1#dns.example"
// -> server; false when not an address.
bool parseServer(std::string_view text, DnsOrigin origin, DnsServer& out);

}  // namespace mif::view::detail
