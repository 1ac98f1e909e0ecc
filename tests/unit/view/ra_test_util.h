#pragma once
// What the router advertisement tests (ra_store_test.cpp, ra_state_test.cpp) both need:
// the default route a router's advertisement makes, and a PvD's facts from a store.
#include <linux/rtnetlink.h>

#include "ra_source.h"

namespace mif::view::detail::ratest {

inline Route defaultVia(int ifindex, const char* router) {
  Route r;
  r.family = Family::V6;
  r.dst = *policy::Prefix::parse("::/0").prefix;
  r.hasGateway = true;
  r.gateway = *IpAddress::parse(router);
  r.ifindex = ifindex;
  r.protocol = RTPROT_RA;
  return r;
}

inline BoundPvd factsOf(const RaStore& s, int ifindex, RaStore::Clock::time_point now) {
  BoundPvd b;
  s.facts(ifindex, now, b);
  return b;
}

}  // namespace mif::view::detail::ratest
