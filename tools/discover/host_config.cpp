#include "discover/host_config.h"

#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace mif::discover {
namespace {

constexpr uint32_t kInfinite = 0xffffffffu;

uint32_t lifetime(int64_t end, int64_t now) {
  if (end == view::kForever) return kInfinite;
  return static_cast<uint32_t>(std::clamp<int64_t>(end - now, 0, kInfinite - 1));
}

std::string describe(const WantedRoute& r) {
  return (r.to.length ? r.to.toString() : std::string("default")) + " from " + r.from.toString() +
         " via " + r.via.toString() + " dev " + r.ifname;
}

std::string readSmall(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Sends `m` (freed) and waits for the kernel's answer: 0 or a negative libnl error.
int talk(nl_sock* sock, nl_msg* m) {
  int err = nl_send_auto(sock, m);
  nlmsg_free(m);
  return err < 0 ? err : nl_wait_for_ack(sock);
}

// What a dump found marked as ours.
struct Leftover {
  int type;  // RTM_NEWADDR or RTM_NEWROUTE
  std::vector<uint8_t> message;
};

int collect(nl_msg* m, void* arg) {
  auto* out = static_cast<std::vector<Leftover>*>(arg);
  nlmsghdr* h = nlmsg_hdr(m);
  if (h->nlmsg_type == RTM_NEWADDR) {
    nlattr* tb[IFA_MAX + 1];
    if (nlmsg_parse(h, static_cast<int>(sizeof(ifaddrmsg)), tb, IFA_MAX, nullptr) < 0) return NL_OK;
    if (!tb[IFA_PROTO] || nla_get_u8(tb[IFA_PROTO]) != HostConfig::kProtocol) return NL_OK;
  } else if (h->nlmsg_type == RTM_NEWROUTE) {
    auto* rt = static_cast<rtmsg*>(nlmsg_data(h));
    if (rt->rtm_protocol != HostConfig::kProtocol) return NL_OK;
  } else {
    return NL_OK;
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(h);
  out->push_back({h->nlmsg_type, std::vector<uint8_t>(bytes, bytes + h->nlmsg_len)});
  return NL_OK;
}

struct PermQuery {
  int ifindex = 0;
  std::vector<uint8_t> addr;
};

int permAddress(nl_msg* m, void* arg) {
  auto* q = static_cast<PermQuery*>(arg);
  nlmsghdr* h = nlmsg_hdr(m);
  if (h->nlmsg_type != RTM_NEWLINK) return NL_OK;
  if (static_cast<const ifinfomsg*>(nlmsg_data(h))->ifi_index != q->ifindex) return NL_OK;
  nlattr* tb[IFLA_MAX + 1];
  if (nlmsg_parse(h, static_cast<int>(sizeof(ifinfomsg)), tb, IFLA_MAX, nullptr) < 0) return NL_OK;
  if (tb[IFLA_PERM_ADDRESS]) {
    const auto* b = static_cast<const uint8_t*>(nla_data(tb[IFLA_PERM_ADDRESS]));
    q->addr.assign(b, b + nla_len(tb[IFLA_PERM_ADDRESS]));
  }
  return NL_OK;
}

// The link's stable_secret (an IPv6 address in text), else the namespace default's, as the
// kernel picks it; readable with CAP_NET_ADMIN (the file reads EIO while unset).
std::optional<std::array<uint8_t, 16>> stableSecret(const std::string& ifname) {
  for (const std::string& conf : {ifname, std::string("default")}) {
    std::string text = readSmall("/proc/sys/net/ipv6/conf/" + conf + "/stable_secret");
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::array<uint8_t, 16> secret{};
    if (!text.empty() && inet_pton(AF_INET6, text.c_str(), secret.data()) == 1) return secret;
  }
  return std::nullopt;
}

}  // namespace

HostConfig::~HostConfig() {
  if (sock_) nl_socket_free(sock_);
}

bool HostConfig::open(std::string& why) {
  sock_ = nl_socket_alloc();
  if (!sock_) {
    why = "rtnetlink socket: out of memory";
    return false;
  }
  if (int err = nl_connect(sock_, NETLINK_ROUTE); err < 0) {
    why = std::string("rtnetlink socket: ") + nl_geterror(err);
    nl_socket_free(sock_);
    sock_ = nullptr;
    return false;
  }
  return true;
}

void HostConfig::once(const std::string& key, const std::string& line,
                      std::vector<std::string>& log) {
  if (said_.insert(key).second) log.push_back(line);
}

// The interface identifier the kernel would use on `ifname` for `prefix`
// (docs/discovery.md): under addr_gen_mode 0 (eui64) or 1 (none: no link-local address,
// SLAAC still from the EUI-64), the modified EUI-64 of its MAC address; under 2 or 3
// (stable privacy, RFC 7217; 3 with a secret the kernel drew at random), the kernel's
// stable identifier from the link's secret and permanent hardware address.
bool HostConfig::identifier(const std::string& ifname, const policy::Prefix& prefix, int& ifindex,
                            std::array<uint8_t, 8>& iid, std::vector<std::string>& log) {
  rtnl_link* link = nullptr;
  if (rtnl_link_get_kernel(sock_, 0, ifname.c_str(), &link) < 0 || !link) return false;
  ifindex = rtnl_link_get_ifindex(link);
  nl_addr* mac = rtnl_link_get_addr(link);
  std::optional<std::array<uint8_t, 8>> id;
  size_t macLength = mac ? nl_addr_get_len(mac) : 0;
  if (mac) id = eui64(static_cast<const uint8_t*>(nl_addr_get_binary_addr(mac)), macLength);
  rtnl_link_put(link);  // and `mac` with it
  std::string mode = readSmall("/proc/sys/net/ipv6/conf/" + ifname + "/addr_gen_mode");
  int m = mode.empty() ? 0 : std::atoi(mode.c_str());
  if (m == 2 || m == 3) {
    auto secret = stableSecret(ifname);
    if (!secret) {
      once("secret " + ifname,
           ifname + ": addr_gen_mode " + std::to_string(m) +
               " (stable privacy) but no stable_secret readable: no SLAAC address made "
               "(the kernel makes none either without one)",
           log);
      return false;
    }
    // The permanent hardware address (IFLA_PERM_ADDRESS; absent when it is all zero, as
    // for a veth or any device whose address was drawn at random).
    // A dump, read to its end like libnl's caches (no acknowledgement left behind).
    PermQuery q;
    q.ifindex = ifindex;
    nl_cb* cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (!cb) return false;
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, permAddress, &q);
    rtgenmsg g{};
    g.rtgen_family = AF_UNSPEC;
    int err = nl_send_simple(sock_, RTM_GETLINK, NLM_F_DUMP, &g, sizeof g);
    if (err >= 0) err = nl_recvmsgs(sock_, cb);
    nl_cb_put(cb);
    if (err < 0) return false;
    std::vector<uint8_t>& perm = q.addr;
    if (perm.empty()) perm.assign(macLength, 0);
    id = stablePrivacy(*secret, prefix, perm.data(), perm.size());
    if (!id) {
      once("reserved " + ifname + prefix.toString(),
           ifname + ": every stable identifier for " + prefix.toString() + " is reserved", log);
      return false;
    }
  } else if (m != 0 && m != 1) {
    once("mode " + ifname, ifname + ": addr_gen_mode " + std::to_string(m) + " unknown: no SLAAC address made", log);
    return false;
  }
  if (!id) {
    once("mac " + ifname, ifname + ": no 48-bit MAC address: no SLAAC address made", log);
    return false;
  }
  iid = *id;
  return true;
}

int HostConfig::addAddress(const Address& a, int64_t now, bool renew) {
  nl_msg* m = nlmsg_alloc_simple(RTM_NEWADDR, NLM_F_CREATE | (renew ? NLM_F_REPLACE : NLM_F_EXCL));
  if (!m) return -NLE_NOMEM;
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET6;
  ifa.ifa_prefixlen = 64;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(a.ifindex);
  ifa_cacheinfo ci{};
  ci.ifa_valid = lifetime(a.wanted.expires, now);
  ci.ifa_prefered = std::min(ci.ifa_valid, lifetime(a.wanted.preferred, now));
  // The kernel's prefix route comes with the address only when the prefix is on-link (L).
  uint32_t flags = a.wanted.onLink ? 0 : IFA_F_NOPREFIXROUTE;
  if (nlmsg_append(m, &ifa, sizeof ifa, NLMSG_ALIGNTO) < 0 ||
      nla_put(m, IFA_LOCAL, 16, a.addr.bytes.data()) < 0 ||
      nla_put(m, IFA_ADDRESS, 16, a.addr.bytes.data()) < 0 ||
      nla_put(m, IFA_CACHEINFO, sizeof ci, &ci) < 0 || nla_put_u32(m, IFA_FLAGS, flags) < 0 ||
      nla_put_u8(m, IFA_PROTO, kProtocol) < 0) {
    nlmsg_free(m);
    return -NLE_NOMEM;
  }
  return talk(sock_, m);
}

int HostConfig::deleteAddress(int ifindex, const policy::IpAddress& addr, uint8_t length) {
  nl_msg* m = nlmsg_alloc_simple(RTM_DELADDR, 0);
  if (!m) return -NLE_NOMEM;
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET6;
  ifa.ifa_prefixlen = length;
  ifa.ifa_index = static_cast<uint32_t>(ifindex);
  if (nlmsg_append(m, &ifa, sizeof ifa, NLMSG_ALIGNTO) < 0 ||
      nla_put(m, IFA_LOCAL, 16, addr.bytes.data()) < 0) {
    nlmsg_free(m);
    return -NLE_NOMEM;
  }
  return talk(sock_, m);
}

// Adds (NLM_F_EXCL: never over someone else's) or removes (the kernel matches our protocol:
// never someone else's) one route.
int HostConfig::route(const Route& r, bool add) {
  nl_msg* m = add ? nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL)
                  : nlmsg_alloc_simple(RTM_DELROUTE, 0);
  if (!m) return -NLE_NOMEM;
  rtmsg rt{};
  rt.rtm_family = AF_INET6;
  rt.rtm_dst_len = r.wanted.to.length;
  rt.rtm_src_len = r.wanted.from.length;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = kProtocol;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  bool ok = nlmsg_append(m, &rt, sizeof rt, NLMSG_ALIGNTO) >= 0 &&
            (!r.wanted.to.length || nla_put(m, RTA_DST, 16, r.wanted.to.addr.bytes.data()) >= 0) &&
            (!r.wanted.from.length ||
             nla_put(m, RTA_SRC, 16, r.wanted.from.addr.bytes.data()) >= 0) &&
            nla_put(m, RTA_GATEWAY, 16, r.wanted.via.bytes.data()) >= 0 &&
            nla_put_u32(m, RTA_OIF, static_cast<uint32_t>(r.ifindex)) >= 0 &&
            nla_put_u32(m, RTA_PRIORITY, kMetric) >= 0;
  if (!ok) {
    nlmsg_free(m);
    return -NLE_NOMEM;
  }
  return talk(sock_, m);
}

void HostConfig::removeLeftovers(std::vector<std::string>& log) {
  std::vector<Leftover> found;
  nl_cb* cb = nl_cb_alloc(NL_CB_DEFAULT);
  if (!cb) return;
  nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, collect, &found);
  for (int type : {RTM_GETADDR, RTM_GETROUTE}) {
    rtgenmsg g{};
    g.rtgen_family = AF_INET6;
    if (nl_send_simple(sock_, type, NLM_F_DUMP, &g, sizeof g) >= 0) nl_recvmsgs(sock_, cb);
  }
  nl_cb_put(cb);
  for (const auto& l : found) {
    const auto* h = reinterpret_cast<const nlmsghdr*>(l.message.data());
    if (l.type == RTM_NEWADDR) {
      const auto* ifa = static_cast<const ifaddrmsg*>(nlmsg_data(h));
      nlattr* tb[IFA_MAX + 1];
      if (nlmsg_parse(const_cast<nlmsghdr*>(h), static_cast<int>(sizeof(ifaddrmsg)), tb, IFA_MAX, nullptr) < 0)
        continue;
      nlattr* local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
      if (!local || nla_len(local) != 16) continue;
      policy::IpAddress a;
      a.family = policy::Family::V6;
      std::memcpy(a.bytes.data(), nla_data(local), 16);
      if (deleteAddress(static_cast<int>(ifa->ifa_index), a, ifa->ifa_prefixlen) == 0)
        log.push_back("removed address " + a.toString() + " left by an earlier run");
    } else {
      // The dump's own message, sent back as a delete: the kernel matches every attribute.
      nl_msg* m = nlmsg_alloc_simple(RTM_DELROUTE, 0);
      if (!m) continue;
      size_t body = h->nlmsg_len - NLMSG_HDRLEN;
      if (nlmsg_append(m, const_cast<void*>(nlmsg_data(h)), body, 0) < 0) {
        nlmsg_free(m);
        continue;
      }
      if (talk(sock_, m) == 0) log.push_back("removed a route left by an earlier run");
    }
  }
}

void HostConfig::apply(const HostPlan& plan, int64_t now, std::vector<std::string>& log) {
  // Addresses: renew or add what is wanted, then remove what no longer is.
  std::vector<Address> keep;
  for (const auto& w : plan.addresses) {
    auto mine = std::find_if(addresses_.begin(), addresses_.end(), [&](const Address& a) {
      return a.wanted.ifname == w.ifname && a.wanted.prefix == w.prefix;
    });
    if (mine != addresses_.end()) {
      Address a = *mine;
      bool changed = a.wanted != w;
      a.wanted = w;
      if (changed) {
        int err = addAddress(a, now, true);
        if (err < 0)
          log.push_back("address " + a.addr.toString() + " not renewed: " + nl_geterror(err));
      }
      keep.push_back(a);
      continue;
    }
    Address a;
    std::array<uint8_t, 8> iid{};
    if (!identifier(w.ifname, w.prefix, a.ifindex, iid, log)) continue;
    a.wanted = w;
    a.addr = withIdentifier(w.prefix, iid);
    int err = addAddress(a, now, false);
    std::string what = "address " + a.addr.toString() + "/64 on " + w.ifname;
    if (err == -NLE_EXIST) {
      once("addr " + what, what + " already there: not mif discover's, left alone", log);
    } else if (err < 0) {
      once("addr " + what, what + " not added: " + nl_geterror(err), log);
    } else {
      log.push_back("added " + what);
      keep.push_back(a);
    }
  }
  for (const auto& a : addresses_) {
    bool kept = std::any_of(keep.begin(), keep.end(), [&](const Address& k) {
      return k.ifindex == a.ifindex && k.addr == a.addr;
    });
    if (kept) continue;
    deleteAddress(a.ifindex, a.addr, 64);
    log.push_back("removed address " + a.addr.toString() + "/64 on " + a.wanted.ifname);
  }
  addresses_ = std::move(keep);

  // Routes: no lifetime in the kernel; mif removes each when it ends.
  std::vector<Route> kept;
  auto sameRoute = [](const WantedRoute& a, const WantedRoute& b) {
    return a.ifname == b.ifname && a.to == b.to && a.from == b.from && a.via == b.via;
  };
  for (const auto& w : plan.routes) {
    auto mine = std::find_if(routes_.begin(), routes_.end(),
                             [&](const Route& r) { return sameRoute(r.wanted, w); });
    if (mine != routes_.end()) {
      Route r = *mine;
      r.wanted = w;
      kept.push_back(r);
      continue;
    }
    Route r;
    r.wanted = w;
    unsigned index = 0;
    rtnl_link* link = nullptr;
    if (rtnl_link_get_kernel(sock_, 0, w.ifname.c_str(), &link) >= 0 && link) {
      index = static_cast<unsigned>(rtnl_link_get_ifindex(link));
      rtnl_link_put(link);
    }
    if (!index) continue;
    r.ifindex = static_cast<int>(index);
    int err = route(r, true);
    if (err == -NLE_EXIST) {
      once("route " + describe(w), "route " + describe(w) + " already there: not mif discover's, left alone", log);
    } else if (err < 0) {
      once("route " + describe(w), "route " + describe(w) + " not added: " + nl_geterror(err), log);
    } else {
      log.push_back("added route " + describe(w));
      kept.push_back(r);
    }
  }
  for (const auto& r : routes_) {
    bool still = std::any_of(kept.begin(), kept.end(),
                             [&](const Route& k) { return sameRoute(k.wanted, r.wanted); });
    if (still) continue;
    route(r, false);
    log.push_back("removed route " + describe(r.wanted));
  }
  routes_ = std::move(kept);
}

void HostConfig::removeAll(std::vector<std::string>& log) { apply(HostPlan{}, 0, log); }

}  // namespace mif::discover
