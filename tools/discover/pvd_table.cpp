#include "discover/pvd_table.h"

#include <algorithm>
#include <map>

namespace mif::discover {
namespace {

using view::kForever;
using view::PublishedPvd;

int64_t until(int64_t now, uint32_t lifetime) {
  return lifetime == view::ra::kInfinite ? kForever : now + lifetime;
}

// Renews, adds or (lifetime 0) withdraws the item that `same` finds.
template <class T, class Same>
void update(std::vector<T>& v, T item, Same same) {
  auto it = std::find_if(v.begin(), v.end(), same);
  if (item.expires == 0) {  // withdrawn
    if (it != v.end()) v.erase(it);
    return;
  }
  if (it != v.end()) {
    *it = std::move(item);
  } else if (v.size() < PvdTable::kMaxItems) {
    v.push_back(std::move(item));
  }
}

template <class T>
bool dropEnded(std::vector<T>& v, int64_t now) {
  size_t before = v.size();
  v.erase(std::remove_if(v.begin(), v.end(), [&](const T& x) { return x.expires <= now; }),
          v.end());
  return v.size() != before;
}

template <class T>
void stamp(std::vector<T>& v, const std::string& ifname, const policy::IpAddress& router) {
  for (auto& x : v) {
    x.ifname = ifname;
    x.router = router;
  }
}

// Renews (or withdraws, lifetime 0) the items of `o` in `items`, heard at `now`.
void take(const view::ra::Options& o, PublishedPvd& items, int64_t routerExpires, int64_t now) {
  for (const auto& x : o.prefixes) {
    PublishedPvd::Prefix i;
    i.prefix = x.prefix;
    i.expires = x.validLifetime ? until(now, x.validLifetime) : 0;
    i.preferred = until(now, x.preferredLifetime);
    i.onLink = x.onLink;
    i.autonomous = x.autonomous;
    update(items.prefixes, i, [&](const auto& y) { return y.prefix == x.prefix; });
  }
  for (const auto& x : o.routes) {
    PublishedPvd::Route i;
    i.prefix = x.prefix;
    i.preference = x.preference;
    i.expires = x.lifetime ? until(now, x.lifetime) : 0;
    update(items.routes, i, [&](const auto& y) { return y.prefix == x.prefix; });
  }
  for (const auto& r : o.rdnss)
    for (const auto& a : r.servers) {
      PublishedPvd::Server i;
      i.addr = a;
      i.expires = r.lifetime ? until(now, r.lifetime) : 0;
      update(items.dns, i, [&](const auto& y) { return y.addr == a; });
    }
  for (const auto& d : o.dnssl)
    for (const auto& n : d.domains) {
      PublishedPvd::Domain i;
      i.name = n;
      i.expires = d.lifetime ? until(now, d.lifetime) : 0;
      update(items.domains, i, [&](const auto& y) { return y.name == n; });
    }
  for (const auto& x : o.pref64) {
    PublishedPvd::Nat64 i;
    i.prefix = x.prefix;
    i.expires = x.lifetime ? until(now, x.lifetime) : 0;
    update(items.pref64, i, [&](const auto& y) { return y.prefix == x.prefix; });
  }
  if (o.mtu) {  // no lifetime of its own: the router's
    PublishedPvd::Mtu i;
    i.mtu = *o.mtu;
    i.expires = routerExpires;
    items.mtu.clear();
    if (i.expires) items.mtu.push_back(i);
  }
}

}  // namespace

int64_t PvdTable::Entry::end() const { return std::max(routerExpires, items.expires()); }

std::string PvdTable::heard(const std::string& ifname, const policy::IpAddress& router,
                            const view::ra::Advertisement& ra, int64_t now) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.ifname == ifname && e.router == router;
  });
  std::string note;
  if (it != entries_.end() && (!ra.pvd || ra.pvd->id != it->id)) {
    note = "PvD " + it->id + " no longer announced by " + router.toString() + " on " + ifname;
    entries_.erase(it);
    it = entries_.end();
  }
  if (!ra.pvd) return note;
  const auto& p = *ra.pvd;
  // A lifetime 0 for a PvD not yet known: nothing to withdraw, nothing to add.
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxRouters) return "ignored PvD " + p.id + ": too many routers";
    Entry e;
    e.ifname = ifname;
    e.router = router;
    e.id = p.id;
    entries_.push_back(std::move(e));
    it = entries_.end() - 1;
    note = "PvD " + p.id + " announced by " + router.toString() + " on " + ifname;
  } else if (it->sequence != p.sequence) {
    note = "PvD " + p.id + " sequence " + std::to_string(it->sequence) + " -> " +
           std::to_string(p.sequence);
  }
  Entry& e = *it;
  e.sequence = p.sequence;
  e.http = p.http;
  e.legacy = p.legacy;
  e.delay = p.delay;
  e.heard = now;
  uint16_t lifetime = p.header ? p.header->routerLifetime : ra.header.routerLifetime;
  e.routerExpires = lifetime ? now + lifetime : 0;
  auto& items = e.items;
  // RFC 8801 3.4: everything the advertisement carries belongs to the explicit PvD of
  // its PvD option, its own options (outside the PvD option) as well as the nested ones;
  // the nested ones last, so that they win where both carry the same item.
  take(ra.options, items, e.routerExpires, now);
  take(p.options, items, e.routerExpires, now);
  stamp(items.prefixes, ifname, router);
  stamp(items.routes, ifname, router);
  stamp(items.dns, ifname, router);
  stamp(items.domains, ifname, router);
  stamp(items.pref64, ifname, router);
  stamp(items.mtu, ifname, router);
  if (e.end() <= now) {
    note = "PvD " + e.id + " withdrawn by " + router.toString() + " on " + ifname;
    entries_.erase(it);
  }
  return note;
}

bool PvdTable::expire(int64_t now) {
  bool changed = false;
  for (auto& e : entries_) {
    auto& i = e.items;
    changed |= dropEnded(i.prefixes, now) | dropEnded(i.routes, now) | dropEnded(i.dns, now) |
               dropEnded(i.domains, now) | dropEnded(i.pref64, now) | dropEnded(i.mtu, now);
  }
  size_t before = entries_.size();
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.end() <= now; }),
                 entries_.end());
  return changed || entries_.size() != before;
}

bool PvdTable::forgetInterface(const std::string& ifname) {
  size_t before = entries_.size();
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.ifname == ifname; }),
                 entries_.end());
  return entries_.size() != before;
}

int64_t PvdTable::nextExpiry() const {
  int64_t next = kForever;
  auto consider = [&](const auto& v) {
    for (const auto& x : v) next = std::min(next, x.expires);
  };
  for (const auto& e : entries_) {
    if (e.routerExpires) next = std::min(next, e.routerExpires);
    consider(e.items.prefixes);
    consider(e.items.routes);
    consider(e.items.dns);
    consider(e.items.domains);
    consider(e.items.pref64);
    consider(e.items.mtu);
  }
  return next;
}

std::vector<view::PublishedPvd> PvdTable::pvds() const {
  std::map<std::string, PublishedPvd> byId;
  for (const auto& e : entries_) {
    auto [it, fresh] = byId.try_emplace(e.id);
    PublishedPvd& p = it->second;
    // Routers may disagree on the flags and sequence: the last heard speaks for the PvD.
    int64_t last = 0;
    for (const auto& r : p.routers) last = std::max(last, r.heard);
    if (fresh || e.heard >= last) {
      p.id = e.id;
      p.sequence = e.sequence;
      p.http = e.http;
      p.legacy = e.legacy;
      p.delay = e.delay;
    }
    PublishedPvd::Router r;
    r.ifname = e.ifname;
    r.router = e.router;
    r.heard = e.heard;
    r.expires = e.end();
    r.defaultUntil = e.routerExpires;
    p.routers.push_back(r);
    auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    append(p.prefixes, e.items.prefixes);
    append(p.routes, e.items.routes);
    append(p.dns, e.items.dns);
    append(p.domains, e.items.domains);
    append(p.pref64, e.items.pref64);
    append(p.mtu, e.items.mtu);
  }
  std::vector<PublishedPvd> out;
  for (auto& [id, p] : byId) out.push_back(std::move(p));
  return out;
}

}  // namespace mif::discover
