#pragma once
// From interfaces and routes to PvDs: binds each policy PvD to its live interface, decides
// whether it is usable per family and which source address it needs, attaches its DNS
// servers and domains, and writes the warnings `mif show` prints.
#include <memory>
#include <vector>

#include "dns_sources.h"
#include "mif/policy/policy.h"
#include "mif/view/snapshot.h"

namespace mif::view::detail {

class RaStore;

void bindPvds(const policy::Policy& policy, const std::vector<std::unique_ptr<DnsSource>>& sources,
              Snapshot& s);

// Everything readOnce() and a refresh do: dump, bind, DNS. `ra`: the router
// advertisement facts heard so far, told the routes of the dump before binding. Never null; on a netlink
// failure the snapshot is empty with `error` set and every PvD absent.
std::unique_ptr<Snapshot> buildSnapshot(const policy::Policy& policy,
                                        const std::vector<std::unique_ptr<DnsSource>>& sources,
                                        uint64_t generation, RaStore* ra = nullptr);

}  // namespace mif::view::detail
