#include "mif/view/snapshot.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <algorithm>

namespace mif::view {

// Optimistic DAD (RFC 4429) marks an address OPTIMISTIC and TENTATIVE at once; the kernel
// lets it be used as a source meanwhile, so it is not "tentative" for our purposes.
bool Address::tentative() const { return (flags & IFA_F_TENTATIVE) && !(flags & IFA_F_OPTIMISTIC); }
bool Address::deprecated() const { return flags & IFA_F_DEPRECATED; }
bool Address::temporary() const { return flags & IFA_F_TEMPORARY; }
bool Address::usable() const {
  if (tentative() || (flags & IFA_F_DADFAILED)) return false;
  return scope == RT_SCOPE_UNIVERSE || scope == RT_SCOPE_SITE;
}

bool Interface::linkUsable() const {
  // tun and loopback never report IF_OPER_UP: UNKNOWN with carrier is their "up".
  return adminUp && carrier && (operState == IF_OPER_UP || operState == IF_OPER_UNKNOWN);
}

const char* dnsOriginName(DnsOrigin o) {
  switch (o) {
    case DnsOrigin::Policy:
      return "policy";
    case DnsOrigin::CommandLine:
      return "command-line";
    case DnsOrigin::Resolved:
      return "systemd-resolved";
    case DnsOrigin::ResolvConf:
      return "resolv.conf";
    case DnsOrigin::RouterAdvertisement:
      return "router-advertisement";
  }
  return "unknown";
}

const Interface* Snapshot::interfaceByIndex(int index) const {
  // Sorted by index when built (netlink_dump.cpp).
  auto it = std::lower_bound(interfaces.begin(), interfaces.end(), index,
                             [](const Interface& i, int v) { return i.index < v; });
  return it != interfaces.end() && it->index == index ? &*it : nullptr;
}

const Interface* Snapshot::interfaceByName(std::string_view name) const {
  for (const auto& i : interfaces)
    if (i.name == name) return &i;
  return nullptr;
}

const Interface* Snapshot::ownerOf(const IpAddress& a) const {
  for (const auto& i : interfaces)
    for (const auto& ad : i.addresses)
      if (ad.addr == a) return &i;
  return nullptr;
}

int Snapshot::pvdOfAddress(const IpAddress& a) const {
  const Interface* owner = ownerOf(a);
  if (!owner) return -1;
  for (const auto& p : pvds) {
    if (p.ifindex != owner->index) continue;
    if (std::find(p.addresses.begin(), p.addresses.end(), a) != p.addresses.end()) return p.id;
  }
  return -1;
}

}  // namespace mif::view
