#include "netlink_dump.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace mif::view::detail {
namespace {

struct SockFree {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using SockPtr = std::unique_ptr<nl_sock, SockFree>;
using CachePtr = std::unique_ptr<nl_cache, CacheFree>;

Family familyOf(int af) { return af == AF_INET6 ? Family::V6 : Family::V4; }

IpAddress toIp(nl_addr* a, int af) {
  IpAddress r;
  r.family = familyOf(af);
  if (a) {
    size_t len = std::min<size_t>(nl_addr_get_len(a), r.bytes.size());
    std::memcpy(r.bytes.data(), nl_addr_get_binary_addr(a), len);
  }
  return r;
}

// libnl hands a default route's dst as a zero-length address with prefix length 0.
policy::Prefix toPrefix(nl_addr* a, int af) {
  policy::Prefix p;
  p.addr = toIp(a, af);
  p.length = a ? static_cast<uint8_t>(nl_addr_get_prefixlen(a)) : 0;
  return p;
}

// Reads a small /sys file into `out`; false when it cannot.
bool readSmallFile(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  out.assign(buf, static_cast<size_t>(n));
  return true;
}

// A kind-less ARPHRD_ETHER device is a NIC: ask sysfs whether it is Wi-Fi or a modem.
// /sys/class/net shows the namespace sysfs was mounted in, which need not be ours (a
// process that entered another namespace), so the entry counts only if its ifindex agrees.
std::string etherKind(int index, const char* name) {
  std::string dir = std::string("/sys/class/net/") + name, text;
  if (!readSmallFile(dir + "/ifindex", text) || std::atoi(text.c_str()) != index)
    return "ethernet";
  if (::access((dir + "/wireless").c_str(), F_OK) == 0 ||
      ::access((dir + "/phy80211").c_str(), F_OK) == 0)
    return "wlan";
  if (readSmallFile(dir + "/uevent", text)) {
    if (text.find("DEVTYPE=wlan") != std::string::npos) return "wlan";
    if (text.find("DEVTYPE=wwan") != std::string::npos) return "wwan";
  }
  return "ethernet";
}

std::string linkKind(rtnl_link* l, int index, const char* name) {
  unsigned arp = rtnl_link_get_arptype(l);
  if (arp == ARPHRD_LOOPBACK) return "loopback";
  // IFLA_INFO_KIND names virtual devices exactly: veth, tun (tun and tap), wireguard,
  // bridge, vlan, macvlan, vxlan, ...
  if (const char* type = rtnl_link_get_type(l); type && *type) return type;
  switch (arp) {
    case ARPHRD_ETHER: return etherKind(index, name);
    case ARPHRD_IEEE80211:
    case ARPHRD_IEEE80211_PRISM:
    case ARPHRD_IEEE80211_RADIOTAP: return "wlan";
    case ARPHRD_PPP: return "ppp";
    case ARPHRD_NONE: return "tun";
    case ARPHRD_RAWIP: return "wwan";
    case ARPHRD_INFINIBAND: return "infiniband";
    case ARPHRD_TUNNEL:
    case ARPHRD_TUNNEL6:
    case ARPHRD_SIT: return "ip-tunnel";
    default: return "other";
  }
}

void readLinks(nl_cache* cache, std::vector<Interface>& out) {
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    Interface i;
    i.index = rtnl_link_get_ifindex(l);
    const char* name = rtnl_link_get_name(l);
    i.name = name ? name : "";
    i.flags = rtnl_link_get_flags(l);
    i.arpType = rtnl_link_get_arptype(l);
    i.adminUp = i.flags & IFF_UP;
    i.carrier = rtnl_link_get_carrier(l) != 0;
    i.operState = rtnl_link_get_operstate(l);
    i.operUp = i.operState == IF_OPER_UP || (i.operState == IF_OPER_UNKNOWN && i.carrier);
    i.kind = linkKind(l, i.index, i.name.c_str());
    out.push_back(std::move(i));
  }
  std::sort(out.begin(), out.end(),
            [](const Interface& a, const Interface& b) { return a.index < b.index; });
}

void readAddresses(nl_cache* cache, Snapshot& s) {
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    int af = rtnl_addr_get_family(a);
    if (af != AF_INET && af != AF_INET6) continue;
    // interfaceByIndex() only reads, but the snapshot is still being built: cast is ours.
    auto* ifc = const_cast<Interface*>(s.interfaceByIndex(rtnl_addr_get_ifindex(a)));
    if (!ifc) continue;
    Address ad;
    // IFA_LOCAL: on a point-to-point link IFA_ADDRESS is the peer, not ours.
    ad.addr = toIp(rtnl_addr_get_local(a), af);
    ad.prefixLength = static_cast<uint8_t>(rtnl_addr_get_prefixlen(a));
    ad.scope = static_cast<uint8_t>(rtnl_addr_get_scope(a));
    ad.flags = rtnl_addr_get_flags(a);
    ad.preferredLifetime = rtnl_addr_get_preferred_lifetime(a);
    ad.validLifetime = rtnl_addr_get_valid_lifetime(a);
    ifc->addresses.push_back(ad);
  }
}

void readRoutes(nl_cache* cache, std::vector<Route>& out) {
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    int af = rtnl_route_get_family(r);
    if (af != AF_INET && af != AF_INET6) continue;
    Route base;
    base.family = familyOf(af);
    base.dst = toPrefix(rtnl_route_get_dst(r), af);
    if (nl_addr* src = rtnl_route_get_src(r); src && nl_addr_get_prefixlen(src) > 0) {
      base.hasSource = true;
      base.source = toPrefix(src, af);
    }
    base.metric = rtnl_route_get_priority(r);
    base.table = rtnl_route_get_table(r);
    base.type = rtnl_route_get_type(r);
    base.protocol = rtnl_route_get_protocol(r);
    int n = rtnl_route_get_nnexthops(r);
    if (n == 0) {  // blackhole, unreachable, prohibit
      out.push_back(base);
      continue;
    }
    // A multipath route becomes one Route per next hop: each is a way out of its own
    // interface, which is what PvD binding asks about.
    for (int k = 0; k < n; ++k) {
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, k);
      Route rt = base;
      rt.ifindex = rtnl_route_nh_get_ifindex(nh);
      if (nl_addr* gw = rtnl_route_nh_get_gateway(nh); gw && nl_addr_get_len(gw) > 0) {
        rt.hasGateway = true;
        rt.gateway = toIp(gw, nl_addr_get_family(gw));
      }
      out.push_back(rt);
    }
  }
}

}  // namespace

bool dumpKernel(Snapshot& out, std::string& why) {
  SockPtr sk(nl_socket_alloc());
  if (!sk) {
    why = "mif: netlink: out of memory";
    return false;
  }
  // nl_connect opens its socket with SOCK_CLOEXEC (libnl >= 3.2.26), so a concurrent exec
  // in another thread does not leak it into the new program.
  if (int err = nl_connect(sk.get(), NETLINK_ROUTE); err < 0) {
    why = std::string("mif: netlink: ") + nl_geterror(err);
    return false;
  }
  nl_cache *links = nullptr, *addrs = nullptr, *routes = nullptr;
  int err = rtnl_link_alloc_cache(sk.get(), AF_UNSPEC, &links);
  CachePtr linksPtr(links);
  if (err >= 0) err = rtnl_addr_alloc_cache(sk.get(), &addrs);
  CachePtr addrsPtr(addrs);
  // Flags 0: the kernel's FIB in every table, without the per-destination route cache.
  if (err >= 0) err = rtnl_route_alloc_cache(sk.get(), AF_UNSPEC, 0, &routes);
  CachePtr routesPtr(routes);
  if (err < 0) {
    why = std::string("mif: netlink dump: ") + nl_geterror(err);
    return false;
  }
  readLinks(links, out.interfaces);
  readAddresses(addrs, out);
  readRoutes(routes, out.routes);
  return true;
}

}  // namespace mif::view::detail
