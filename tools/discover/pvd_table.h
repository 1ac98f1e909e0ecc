#pragma once
// What `mif discover` keeps of the explicit PvDs it heard: per interface and per router,
// the PvD that router last announced (RFC 8801: at most one per advertisement), with each
// option's lifetime: the options nested in the PvD option and, RFC 8801 3.4, those of the
// advertisement that carries it. Pure: advertisements and times in, PublishedPvds out; the
// listener (listener.h) owns the socket and the clock.
//
// Lifetimes (docs/discovery.md): each item (prefix, route, DNS server, domain, NAT64
// prefix) ends with its own lifetime, renewed or withdrawn (lifetime 0) by the next
// advertisement that carries it, and kept as it was by one that does not (RFC 4861 6.3.4).
// The router holds for its router lifetime (the PvD option's own header when R is set,
// else the advertisement's). A router's PvD ends when neither the router nor any of its
// items is left; a router that announces another PvD ID, or none, ends the one before.
#include <cstdint>
#include <string>
#include <vector>

#include "mif/view/published_pvds.h"
#include "mif/view/ra_options.h"

namespace mif::discover {

class PvdTable {
 public:
  // An advertisement from `router` (link-local) on `ifname`, heard at `now` (boot
  // seconds). Returns what changed, for the log ("" when nothing did).
  std::string heard(const std::string& ifname, const policy::IpAddress& router,
                    const view::ra::Advertisement& ra, int64_t now);
  // Drops what ended by `now`; true when something did.
  bool expire(int64_t now);
  // The interface went away: everything heard on it ends.
  bool forgetInterface(const std::string& ifname);
  // When the next item or router ends (kForever: nothing will).
  int64_t nextExpiry() const;
  // The PvDs, one per PvD ID, in ID order, each with the items of every router announcing it.
  std::vector<view::PublishedPvd> pvds() const;
  size_t routers() const { return entries_.size(); }

  // Bounds against a flood of advertisements (each from a spoofable link-local source).
  static constexpr size_t kMaxRouters = 64;
  static constexpr size_t kMaxItems = 64;  // per router and kind

 private:
  struct Entry {
    std::string ifname;
    policy::IpAddress router;
    std::string id;
    uint16_t sequence = 0;
    bool http = false, legacy = false;
    uint8_t delay = 0;
    int64_t heard = 0, routerExpires = 0;
    view::PublishedPvd items;  // only its item vectors are used
    int64_t end() const;
  };
  std::vector<Entry> entries_;
};

}  // namespace mif::discover
