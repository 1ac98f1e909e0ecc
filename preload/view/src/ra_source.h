#pragma once
// DNS servers and search domains from IPv6 router advertisements: RDNSS (option 25) and
// DNSSL (option 31), RFC 8106. The kernel hands them to userspace as RTM_NEWNDUSEROPT on
// RTNLGRP_ND_USEROPT; they cannot be dumped, only heard when they arrive, so a LiveView
// records them here while draining its socket. readOnce() has none.
#include <linux/netlink.h>

#include <chrono>
#include <memory>
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

 private:
  struct Entry {
    int ifindex = 0;
    bool server = true;  // else a search domain
    DnsServer dns;
    std::string domain;
    Clock::time_point expires;
  };
  void put(Entry e, uint32_t lifetime, Clock::time_point now);
  std::vector<Entry> entries_;
};

std::unique_ptr<DnsSource> makeRaSource(std::shared_ptr<const RaStore> store);

}  // namespace mif::view::detail
