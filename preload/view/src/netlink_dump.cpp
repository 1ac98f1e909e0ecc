#include "netlink_dump.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/object.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rtnl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace mif::view::detail {
namespace {

struct SockFree {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
using SockPtr = std::unique_ptr<nl_sock, SockFree>;

Family familyOf(int af) { return af == AF_INET6 ? Family::V6 : Family::V4; }

// A prefix length the family can hold. The kernel never sends more, but everything
// downstream (Prefix::contains, source selection) indexes bytes by it: a message that says
// otherwise is not read (found by fuzz_view_netlink).
bool validLength(unsigned length, int af) { return length <= (af == AF_INET6 ? 128u : 32u); }

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
  if (!readSmallFile(dir + "/ifindex", text) || std::atoi(text.c_str()) != index) return "ethernet";
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
    case ARPHRD_ETHER:
      return etherKind(index, name);
    case ARPHRD_IEEE80211:
    case ARPHRD_IEEE80211_PRISM:
    case ARPHRD_IEEE80211_RADIOTAP:
      return "wlan";
    case ARPHRD_PPP:
      return "ppp";
    case ARPHRD_NONE:
      return "tun";
    case ARPHRD_RAWIP:
      return "wwan";
    case ARPHRD_INFINIBAND:
      return "infiniband";
    case ARPHRD_TUNNEL:
    case ARPHRD_TUNNEL6:
    case ARPHRD_SIT:
      return "ip-tunnel";
    default:
      return "other";
  }
}

void readLink(rtnl_link* l, std::vector<Interface>& out) {
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

void readAddress(rtnl_addr* a, Snapshot& s) {
  int af = rtnl_addr_get_family(a);
  if (af != AF_INET && af != AF_INET6) return;
  // interfaceByIndex() only reads, but the snapshot is still being built: the cast is ours.
  auto* ifc = const_cast<Interface*>(s.interfaceByIndex(rtnl_addr_get_ifindex(a)));
  if (!ifc || !validLength(rtnl_addr_get_prefixlen(a), af)) return;
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

void readRoute(rtnl_route* r, std::vector<Route>& out) {
  int af = rtnl_route_get_family(r);
  if (af != AF_INET && af != AF_INET6) return;
  nl_addr* dst = rtnl_route_get_dst(r);
  nl_addr* src = rtnl_route_get_src(r);
  if ((dst && !validLength(nl_addr_get_prefixlen(dst), af)) ||
      (src && !validLength(nl_addr_get_prefixlen(src), af)))
    return;
  Route base;
  base.family = familyOf(af);
  base.dst = toPrefix(dst, af);
  if (src && nl_addr_get_prefixlen(src) > 0) {
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
    return;
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

struct DumpState {
  Snapshot* snap = nullptr;
  bool failed = false;  // out of memory inside a libnl callback (no exception may cross C)
};

void onObject(nl_object* o, void* arg) {
  auto* st = static_cast<DumpState*>(arg);
  if (st->failed) return;
  try {
    std::string_view type = nl_object_get_type(o);
    if (type == "route/link")
      readLink(reinterpret_cast<rtnl_link*>(o), st->snap->interfaces);
    else if (type == "route/addr")
      readAddress(reinterpret_cast<rtnl_addr*>(o), *st->snap);
    else if (type == "route/route")
      readRoute(reinterpret_cast<rtnl_route*>(o), st->snap->routes);
  } catch (...) {
    st->failed = true;
  }
}

// nl_msg_parse finds the parser of a message type among the cache operations that libnl
// registers from constructors in link.c, addr.c and route.c. Linked from the static
// archives, an object file is only pulled in when one of its symbols is used: these
// references make sure the three are, and with them their constructors.
[[maybe_unused]] void* const volatile kKeepParsers[] = {
    reinterpret_cast<void*>(&rtnl_link_alloc_cache),
    reinterpret_cast<void*>(&rtnl_addr_alloc_cache),
    reinterpret_cast<void*>(&rtnl_route_alloc_cache)};

int onMessage(nl_msg* msg, void* arg) {
  nl_msg_parse(msg, onObject, arg);
  return NL_OK;
}

// One dump request and its whole answer. libnl's caches are not used on purpose: they key
// IPv6 routes by destination and table and merge routes that differ only in their device
// (fe80::/64 on every link becomes one), and their hashing costs time we do not need.
int dumpOne(nl_sock* sk, int type) {
  int err = nl_rtgen_request(sk, type, AF_UNSPEC, NLM_F_DUMP);
  return err < 0 ? err : nl_recvmsgs_default(sk);
}

// Links: ask the kernel to leave out the counters (RTEXT_FILTER_SKIP_STATS, Linux 4.19+;
// older kernels ignore the bit). Filling per-link and per-link IPv6 statistics was most of
// the dump's kernel time, and nothing here reads them.
int dumpLinks(nl_sock* sk) {
  nl_msg* msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
  if (!msg) return -NLE_NOMEM;
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  int err = nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO);
  if (err >= 0) err = nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  if (err >= 0) err = nl_send_auto(sk, msg);
  nlmsg_free(msg);
  return err < 0 ? err : nl_recvmsgs_default(sk);
}

}  // namespace

bool parseDumpMessage(const void* data, size_t len, Snapshot& out) {
  if (len < sizeof(nlmsghdr)) return false;
  nlmsghdr h;
  std::memcpy(&h, data, sizeof h);
  if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len) return false;
  // nlmsg_convert copies the message into a buffer of its own, aligned as libnl expects.
  std::vector<uint8_t> copy(static_cast<const uint8_t*>(data),
                            static_cast<const uint8_t*>(data) + h.nlmsg_len);
  nl_msg* msg = nlmsg_convert(reinterpret_cast<nlmsghdr*>(copy.data()));
  if (msg == nullptr) return false;
  nlmsg_set_proto(msg, NETLINK_ROUTE);
  DumpState st;
  st.snap = &out;
  const int err = nl_msg_parse(msg, onObject, &st);
  nlmsg_free(msg);
  return err >= 0 && !st.failed;
}

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
  // Dump answers come in skbs of up to 32 KiB; a buffer that size needs no MSG_PEEK round.
  nl_socket_set_msg_buf_size(sk.get(), 32768);
  DumpState st;
  st.snap = &out;
  nl_socket_modify_cb(sk.get(), NL_CB_VALID, NL_CB_CUSTOM, onMessage, &st);
  int err = 0;
  // A dump the kernel marks interrupted (NLM_F_DUMP_INTR: the tables changed meanwhile) is
  // started over; the change notification will trigger another refresh anyway.
  for (int attempt = 0; attempt < 3; ++attempt) {
    out.interfaces.clear();
    out.routes.clear();
    err = dumpLinks(sk.get());
    if (err >= 0) {
      std::sort(out.interfaces.begin(), out.interfaces.end(),
                [](const Interface& a, const Interface& b) { return a.index < b.index; });
      err = dumpOne(sk.get(), RTM_GETADDR);
    }
    if (err >= 0) err = dumpOne(sk.get(), RTM_GETROUTE);
    if (err != -NLE_DUMP_INTR) break;
  }
  if (err < 0 || st.failed) {
    why = std::string("mif: netlink dump: ") + (st.failed ? "out of memory" : nl_geterror(err));
    return false;
  }
  return true;
}

}  // namespace mif::view::detail
