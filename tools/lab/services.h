#pragma once
// The lab's processes: one dnsmasq per PvD, one `mif lab serve` per namespace that has
// hosts, and one `mif lab delay` per PvD with a delay. Each records its PID in the state directory; `down` kills by that PID and by
// scanning for any process left in the lab's namespaces.
#include <string>
#include <vector>

#include "lab/lab.h"

namespace mif::lab {

// Starts what is not running (in parallel); restarts the DNS servers of PvDs whose link
// was just (re)created, since their sockets were bound to addresses of the old link.
bool startServices(const Topology& t, const std::vector<std::string>& recreated,
                   std::string& error);

// The router's policy rules of one family (BCP 38 for IPv6, captive portal), as a batch
// for `ip -4|-6 -force -batch`.
std::string routerRules(const Topology& t, const Pvd& p, bool v6);

// State files.
std::string dnsConfPath(const Topology& t, const Pvd& p);
std::string dnsLogPath(const Topology& t, const Pvd& p);
std::string dnsPidPath(const Topology& t, const Pvd& p);
std::string servePidPath(const Topology& t, const std::string& role);
std::string serveLogPath(const Topology& t, const std::string& role);
std::string delayPidPath(const Topology& t, const Pvd& p);

}  // namespace mif::lab
