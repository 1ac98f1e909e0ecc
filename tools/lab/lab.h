#pragma once
// `mif lab`: multi-PvD test networks built from network namespaces (docs/lab.md).
//
// A topology has one node namespace (the multi-homed host), one router namespace per PvD
// (with that PvD's dnsmasq and the hosts behind it as addresses on its lo), optionally a
// shared "internet" namespace reached through several routers without NAT, and one switch
// namespace (a bridge) per link that several PvDs share (RFC 6418 4.5). Nothing is put in
// the root namespace. Everything a topology owns is named after it: namespaces
// "miflab-<topology>-<role>", state under /run/mif-lab/<topology>/.
#include <string>
#include <string_view>
#include <vector>

namespace mif::lab {

inline constexpr std::string_view kNsPrefix = "miflab-";
inline constexpr std::string_view kStateRoot = "/run/mif-lab";
inline constexpr int kHttpPort = 80;
inline constexpr int kUdpEchoPort = 7;
// Topology (instance) names: namespace names grow by "miflab-" and "-r-<pvd>".
inline constexpr size_t kMaxNameLength = 40;

// A route the node gets through a PvD. to is a prefix or "default" (both families the
// PvD has); via defaults to the PvD's router address of the same family; from (IPv6 only)
// makes it source-specific.
struct Route {
  std::string to;
  std::string via;
  std::string from;
  int metric = 0;
};

// One DNS record. Exactly one of: a/aaaa (addresses of name), host (a/aaaa taken from a
// host of the topology), cname (name is an alias of cname), ptr (an address whose reverse
// name answers with name).
struct Record {
  std::string name;
  std::vector<std::string> a;
  std::vector<std::string> aaaa;
  std::string host;
  std::string cname;
  std::string ptr;
};

// A host with small services (HTTP on port 80, UDP echo on port 7) answering with its
// identity and the client's source address. behind is a PvD name or "internet".
struct Host {
  std::string name;
  std::string behind;
  std::vector<std::string> addrs;  // without prefix length
};

struct Pvd {
  std::string name;
  std::string link;                      // the node's interface
  std::string segment;                   // shared link ("" = a veth of its own)
  std::vector<std::string> node;         // the node's addresses, with prefix length
  std::vector<std::string> router;       // the router's addresses on the link, with length
  std::vector<Route> routes;
  bool internet = false;
  int lossPercent = 0;                   // each direction
  long delayUs = 0;                      // added to the round trip, half each way (0 = none)
  std::vector<std::string> dnsServers;   // addresses the PvD's dnsmasq listens on
  std::vector<std::string> domains;      // zones its server is authoritative for
  std::vector<Record> records;
  std::string portal;                    // captive portal host ("" = none)
  int index = 0;                         // position, for transit addressing
};

struct Topology {
  std::string name;
  std::string description;
  std::string file;
  std::vector<Pvd> pvds;
  std::vector<Host> hosts;
  std::vector<Record> internetRecords;  // unused by dnsmasq; documented for tools
  bool hasInternet() const;
  const Pvd* pvd(std::string_view name) const;
  const Host* host(std::string_view name) const;
  std::vector<std::string> segments() const;

  std::string nsNode() const { return ns("node"); }
  std::string nsRouter(std::string_view pvd) const { return ns("r-" + std::string(pvd)); }
  std::string nsInternet() const { return ns("inet"); }
  std::string nsSwitch(std::string_view seg) const { return ns("sw-" + std::string(seg)); }
  std::string ns(std::string_view role) const {
    return std::string(kNsPrefix) + name + "-" + std::string(role);
  }
  // Every namespace the topology needs, node first.
  std::vector<std::string> namespaces() const;
  std::string stateDir() const { return std::string(kStateRoot) + "/" + name; }
};

// Loads FILE, or a built-in topology by NAME; on failure returns false and sets error
// to "FILE:LINE:COL: why" or a sentence.
bool loadTopology(std::string_view fileOrName, Topology& out, std::string& error);
// Also accepted: the name of an instance brought up with `up FILE --as NAME` (its state
// directory records the file).
bool validInstanceName(std::string_view name);
// Where built-in topologies are looked up, in order.
std::vector<std::string> topologyDirs();
// Names of the built-in topologies.
std::vector<std::string> builtinTopologies();
// The topology name an argument refers to without loading it (for `down` after the file
// is gone): the file's `name` key, or the file's stem, or the argument itself.
std::string topologyName(std::string_view fileOrName);

// Strips "/len" from an address.
std::string bareAddress(std::string_view cidr);
bool isIpv6(std::string_view address);
// The network of ADDR/LEN ("192.0.2.10/24" -> "192.0.2.0/24"); "" when not valid.
std::string networkOf(std::string_view cidr);

// --- commands (each returns an exit status) ---
int up(const Topology& t, bool quiet);
int down(std::string_view fileOrName, bool quiet);
int downAll(bool quiet);
int status(bool json);
int facts(const Topology& t);
int exec(const Topology& t, std::string_view role, char** argv);
int portal(const Topology& t, std::string_view pvd, std::string_view action);
// INSTANCE: the lab's name ("" = the topology's own, wifi-vpn).
int demo(const std::string& instance);
int serve(int argc, char** argv);
// `mif lab delay` (hidden): the userspace relay that holds every packet of a PvD's link
// (docs/lab.md "Poor links"); started by up in the PvD's router namespace.
int delayRelay(int argc, char** argv);

// Writes the PvD's dnsmasq config and (re)starts it; used by up and portal.
bool startDns(const Topology& t, const Pvd& p, std::string& error);
bool portalAuthenticated(const Topology& t, std::string_view pvd);
// The facts file (key=value lines) that `mif lab facts` prints and tests read.
std::string factsText(const Topology& t);
// A mif policy describing the node's PvDs (interface, DNS servers, domains, prefixes,
// source prefixes; the default is the PvD with the best default route).
std::string policyText(const Topology& t);

}  // namespace mif::lab
