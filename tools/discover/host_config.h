#pragma once
// Makes the host hold what host_plan.h wants, through rtnetlink (libnl), and undoes it:
// the SLAAC addresses and RFC 8028 source-specific routes of the prefixes nested in PvD
// options (docs/discovery.md). Needs CAP_NET_ADMIN.
//
// Its own, and only its own: every address it adds carries IFA_PROTO kProtocol and every
// route rtm_protocol kProtocol (`ip -6 route` shows `proto 109`); an address or route that
// already exists when it would add one (EEXIST) belongs to someone else and is left alone,
// never renewed, never removed. It removes what it added when no longer wanted, at exit,
// and at start anything marked kProtocol that an earlier run left (one that was killed).
// Not thread-safe; owned by the listener's loop.
#include <set>
#include <string>
#include <vector>

#include "discover/host_plan.h"

struct nl_sock;

namespace mif::discover {

class HostConfig {
 public:
  // 109 is in no iproute2 table of protocols (rt_protos: 0-18, 42, 99, 186-192).
  static constexpr uint8_t kProtocol = 109;
  static constexpr uint32_t kMetric = 1024;  // the kernel's for a router advertisement's routes

  HostConfig() = default;
  HostConfig(const HostConfig&) = delete;
  HostConfig& operator=(const HostConfig&) = delete;
  ~HostConfig();

  // Opens the rtnetlink socket; false with `why`.
  bool open(std::string& why);
  // Removes addresses and routes marked kProtocol (left by an earlier run).
  void removeLeftovers(std::vector<std::string>& log);
  // Adds what `plan` wants and is missing, renews the lifetimes of the addresses it added,
  // removes what it added that `plan` no longer wants.
  void apply(const HostPlan& plan, int64_t now, std::vector<std::string>& log);
  // Removes everything it added (the listener stops).
  void removeAll(std::vector<std::string>& log);

  size_t addresses() const { return addresses_.size(); }
  size_t routes() const { return routes_.size(); }

 private:
  struct Address {
    int ifindex = 0;
    WantedAddress wanted;
    policy::IpAddress addr;
  };
  struct Route {
    int ifindex = 0;
    WantedRoute wanted;
  };
  bool identifier(const std::string& ifname, const policy::Prefix& prefix, int& ifindex,
                  std::array<uint8_t, 8>& iid, std::vector<std::string>& log);
  int addAddress(const Address& a, int64_t now, bool renew);
  int deleteAddress(int ifindex, const policy::IpAddress& addr, uint8_t length);
  int route(const Route& r, bool add);
  void once(const std::string& key, const std::string& line, std::vector<std::string>& log);

  nl_sock* sock_ = nullptr;
  std::vector<Address> addresses_;
  std::vector<Route> routes_;
  std::set<std::string> said_;  // problems already logged (each once)
};

}  // namespace mif::discover
