#pragma once
// What IPv6 router advertisements hand userspace: RDNSS (option 25) and DNSSL (31), RFC
// 8106; the captive portal URI (37), RFC 8910; PREF64 (38), RFC 8781. The kernel passes
// each option as one RTM_NEWNDUSEROPT on RTNLGRP_ND_USEROPT (with the router's address in
// NDUSEROPT_SRCADDR) and keeps none of them: they cannot be dumped, only heard when they
// arrive, so a LiveView records them here while draining its socket. readOnce() has none
// unless its caller listened (mif show).
//
// Lifetimes: an entry holds until its own lifetime ends (RDNSS, DNSSL, PREF64; 0 withdraws
// it at once), or until its router stops being a default router: a router seen with a
// default route of the kernel's (protocol "ra") whose route is gone has left, and every
// entry it gave the interface goes with it; a captive portal (which has no lifetime field)
// holds only while its router has that route. nextExpiry() says when the next entry ends,
// so the view can rebuild then without any netlink event.
#include <linux/netlink.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns_sources.h"

namespace mif::view::detail {

// Used under the LiveView's refresh lock only (recorded while draining, read while
// building the next snapshot).
class RaStore {
 public:
  using Clock = std::chrono::steady_clock;
  // The options of one RTM_NEWNDUSEROPT message; lifetime 0 removes an entry.
  void record(const nlmsghdr* h, Clock::time_point now);
  void lookup(int ifindex, Clock::time_point now, DnsFacts& out) const;
  // The PvD's NAT64 prefixes and captive portal on `ifindex`.
  void facts(int ifindex, Clock::time_point now, BoundPvd& out) const;
  // The routes of a fresh dump: applies the "router left" rule above.
  void routesSeen(const std::vector<Route>& routes);
  // When the next entry with a finite lifetime ends (time_point::max(): none), after
  // dropping those already ended.
  Clock::time_point nextExpiry(Clock::time_point now);
  // Did a router that gave this interface facts leave it (since this store listened)?
  bool routerLeft(int ifindex) const;
  size_t size() const { return entries_.size(); }

  // The state file under /run/mif (ra_state.cpp; format in mif/view/ra_state.h). `bootNow`:
  // CLOCK_BOOTTIME (ms) at `now`, the file's time base (it counts suspended time, as
  // lifetimes do, and means the same in every process). load() adds the facts of `text`
  // that have not ended, marked as recorded: a recorded fact holds only while its router is
  // a default router now (routesSeen), so a file can never outlive what the kernel knows,
  // and anything heard here later replaces it. False when `text` is not a state file of a
  // version this build reads (nothing added).
  bool load(std::string_view text, Clock::time_point now, int64_t bootNow);
  std::string serialize(Clock::time_point now, int64_t bootNow) const;
  // `mif probe`'s verdict on the portal `uri` of `router` on `ifindex` (false: no such
  // portal is known).
  bool markPortal(int ifindex, const IpAddress& router, std::string_view uri, bool open,
                  Clock::time_point now);

 private:
  enum class Kind : uint8_t { Server, Domain, Pref64, Captive };
  struct Entry {
    int ifindex = 0;
    Kind kind = Kind::Server;
    IpAddress router;  // the RA's source (link-local); unspecified when not given
    DnsServer dns;
    std::string text;  // a search domain or the portal's URI
    policy::Prefix prefix;
    Clock::time_point expires = Clock::time_point::max();
    Clock::time_point heard{};
    bool recorded = false;  // from the state file, not heard by this process
    bool open = false;      // Captive: found open by `mif probe`
    Clock::time_point checked{};
  };
  struct Router {
    int ifindex = 0;
    IpAddress addr;
    bool isDefault = false;  // seen with a default route of protocol ra
    bool left = false;       // was a default router, is not any more
  };
  void put(Entry e, uint32_t lifetime, Clock::time_point now);
  Router* router(int ifindex, const IpAddress& a);
  std::vector<Entry> entries_;
  std::vector<Router> routers_;
};

std::unique_ptr<DnsSource> makeRaSource(std::shared_ptr<const RaStore> store);

// The state file (ra_state.cpp, mif/view/ra_state.h).
int64_t bootClockMs();
// `path`'s text when it is a file this process may trust: regular, owned by root or by
// the effective user, writable by nobody else, at most 256 KiB.
bool readRaState(const std::string& path, std::string& out);
// readRaState + RaStore::load; nothing when the file is absent or not trusted.
void loadRaState(RaStore& store, const std::string& path);
// `text` to `path`: a temporary file beside it (mode 0644), renamed over it; the
// directories made (0755) when missing. False with `why` when it cannot be written.
bool writeRaState(const std::string& path, const std::string& text, std::string* why);

}  // namespace mif::view::detail
