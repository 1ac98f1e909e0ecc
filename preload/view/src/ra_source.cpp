#include "ra_source.h"

#include "mif/view/ra_options.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>

#include <algorithm>
#include <cstring>

namespace mif::view::detail {
namespace {

constexpr size_t kMaxEntries = 256;  // a flood of advertisements must not grow us forever

class RaSource final : public DnsSource {
 public:
  explicit RaSource(std::shared_ptr<const RaStore> s) : store_(std::move(s)) {}
  DnsOrigin origin() const override { return DnsOrigin::RouterAdvertisement; }
  void lookup(const Interface& ifc, bool, DnsFacts& out) const override {
    store_->lookup(ifc.index, RaStore::Clock::now(), out);
  }
  void routerFacts(const Interface& ifc, BoundPvd& out) const override {
    store_->facts(ifc.index, RaStore::Clock::now(), out);
    out.routerLeft = store_->routerLeft(ifc.index);
  }

 private:
  std::shared_ptr<const RaStore> store_;
};

}  // namespace

RaStore::Router* RaStore::router(int ifindex, const IpAddress& a) {
  for (auto& r : routers_)
    if (r.ifindex == ifindex && r.addr == a) return &r;
  return nullptr;
}

void RaStore::put(Entry e, uint32_t lifetime, Clock::time_point now) {
  auto same = [&](const Entry& x) {
    if (x.ifindex != e.ifindex || x.kind != e.kind) return false;
    switch (e.kind) {
      case Kind::Server:
        return x.dns.addr == e.dns.addr;
      case Kind::Domain:
        return x.text == e.text;
      case Kind::Pref64:  // per router (RFC 8781 5: a host may hear several)
        return x.router == e.router && x.prefix == e.prefix;
      case Kind::Captive:  // one URI per router: a new one replaces it
        return x.router == e.router;
    }
    return false;
  };
  // A portal announced again keeps what `mif probe` found of it (RFC 8910: a router keeps
  // announcing its portal after the user got through; only its API knows).
  for (const auto& x : entries_)
    if (e.kind == Kind::Captive && same(x) && x.text == e.text) {
      e.open = x.open;
      e.checked = x.checked;
    }
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), same), entries_.end());
  if (lifetime == 0) return;  // RFC 8106 5.1, RFC 8781 4: lifetime 0 withdraws the entry
  e.heard = now;
  e.expires =
      lifetime == 0xffffffffu ? Clock::time_point::max() : now + std::chrono::seconds(lifetime);
  if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
  entries_.push_back(std::move(e));
}

void RaStore::record(const nlmsghdr* h, Clock::time_point now) {
  if (h->nlmsg_type != RTM_NEWNDUSEROPT || h->nlmsg_len < NLMSG_LENGTH(sizeof(nduseroptmsg)))
    return;
  const auto* m = static_cast<const nduseroptmsg*>(NLMSG_DATA(h));
  if (m->nduseropt_family != AF_INET6 || m->nduseropt_icmp_type != ND_ROUTER_ADVERT) return;
  size_t len = m->nduseropt_opts_len;
  if (NLMSG_LENGTH(sizeof *m + len) > h->nlmsg_len) return;
  const auto* p = reinterpret_cast<const uint8_t*>(m + 1);
  // The router's address follows the options as NDUSEROPT_SRCADDR.
  IpAddress router;
  {
    size_t off = NLMSG_ALIGN(sizeof *m + len);
    size_t total = h->nlmsg_len - NLMSG_HDRLEN;
    const auto* base = static_cast<const uint8_t*>(NLMSG_DATA(h));
    while (off + sizeof(rtattr) <= total) {
      rtattr a;
      std::memcpy(&a, base + off, sizeof a);
      if (a.rta_len < sizeof a || off + a.rta_len > total) break;
      if (a.rta_type == NDUSEROPT_SRCADDR && a.rta_len == RTA_LENGTH(16)) {
        router.family = Family::V6;
        std::memcpy(router.bytes.data(), base + off + RTA_LENGTH(0), 16);
      }
      off += RTA_ALIGN(a.rta_len);
    }
  }
  // Each option on its own (the kernel sends one per message): one that is malformed is
  // skipped, as the kernel skips it; a zero or overlong length ends the list.
  std::string why;
  auto opts = ra::splitOptions(ra::Bytes(p, len), why);
  if (!opts) return;
  for (ra::Bytes o : *opts) {
    ra::Options parsed;
    if (!ra::parseOption(o, parsed, why)) continue;
    Entry base;
    base.ifindex = m->nduseropt_ifindex;
    base.router = router;
    for (const auto& r : parsed.rdnss)
      for (const auto& addr : r.servers) {
        Entry e = base;
        e.kind = Kind::Server;
        e.dns.addr = addr;
        e.dns.origin = DnsOrigin::RouterAdvertisement;
        put(std::move(e), r.lifetime, now);
      }
    for (const auto& d : parsed.dnssl)
      for (const auto& name : d.domains) {
        Entry e = base;
        e.kind = Kind::Domain;
        e.text = name;
        put(std::move(e), d.lifetime, now);
      }
    for (const auto& pf : parsed.pref64) {
      Entry e = base;
      e.kind = Kind::Pref64;
      e.prefix = pf.prefix;
      put(std::move(e), pf.lifetime, now);
    }
    for (const auto& uri : parsed.captive) {
      Entry e = base;
      e.kind = Kind::Captive;
      e.text = uri;
      // RFC 8910 2: this URI says there is no portal.
      bool none = e.text == "urn:ietf:params:capport:unrestricted";
      put(std::move(e), none ? 0 : 0xffffffffu, now);
    }
  }
}

void RaStore::lookup(int ifindex, Clock::time_point now, DnsFacts& out) const {
  for (const auto& e : entries_) {
    if (e.ifindex != ifindex || e.expires <= now) continue;
    if (e.kind == Kind::Server)
      out.servers.push_back(e.dns);
    else if (e.kind == Kind::Domain &&
             std::find(out.domains.begin(), out.domains.end(), e.text) == out.domains.end())
      out.domains.push_back(e.text);
  }
}

void RaStore::facts(int ifindex, Clock::time_point now, BoundPvd& out) const {
  for (const auto& e : entries_) {
    if (e.ifindex != ifindex || e.expires <= now) continue;
    if (e.kind == Kind::Pref64)
      out.pref64.push_back({e.prefix, e.router, e.expires, e.heard});
    else if (e.kind == Kind::Captive)
      out.captive.push_back({e.text, e.router, e.expires, e.heard, e.open, e.checked});
  }
}

void RaStore::routesSeen(const std::vector<Route>& routes) {
  auto hasDefault = [&](int ifindex, const IpAddress& a) {
    return std::any_of(routes.begin(), routes.end(), [&](const Route& r) {
      return r.ifindex == ifindex && r.isDefault() && r.hasGateway && r.gateway == a &&
             r.family == Family::V6 && r.protocol == RTPROT_RA;
    });
  };
  for (const auto& e : entries_)
    if (e.router.family == Family::V6 && !router(e.ifindex, e.router)) {
      if (routers_.size() >= kMaxEntries) routers_.erase(routers_.begin());
      routers_.push_back({e.ifindex, e.router, false, false});
    }
  for (auto& r : routers_) {
    bool now = hasDefault(r.ifindex, r.addr);
    if (now) {
      r.isDefault = true;
      r.left = false;
    } else if (r.isDefault) {
      r.isDefault = false;
      r.left = true;
    }
  }
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) {
                                  const Router* r = router(e.ifindex, e.router);
                                  if (r && r->left) return true;
                                  // A recorded fact: only while the kernel says its
                                  // router is a default router (mif/view/ra_state.h).
                                  if (e.recorded && !(r && r->isDefault)) return true;
                                  // A portal has no lifetime of its own: its router's.
                                  return e.kind == Kind::Captive && !(r && r->isDefault);
                                }),
                 entries_.end());
}

RaStore::Clock::time_point RaStore::nextExpiry(Clock::time_point now) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.expires <= now; }),
                 entries_.end());
  auto next = Clock::time_point::max();
  for (const auto& e : entries_) next = std::min(next, e.expires);
  return next;
}

bool RaStore::routerLeft(int ifindex) const {
  bool left = false;
  for (const auto& r : routers_) {
    if (r.ifindex != ifindex) continue;
    if (r.isDefault) return false;
    left = left || r.left;
  }
  return left;
}

std::unique_ptr<DnsSource> makeRaSource(std::shared_ptr<const RaStore> store) {
  return std::make_unique<RaSource>(std::move(store));
}

}  // namespace mif::view::detail
