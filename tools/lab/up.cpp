// `mif lab up`: builds a topology, or completes one that is partly there (idempotent).
// Every step either checks what exists (namespaces, links, running services) or uses
// `replace` semantics, so running it again restores what a test deleted (a PvD's link,
// a killed dnsmasq) and changes nothing else.
//
// Speed: one `ip -batch` per namespace and phase, all namespaces in parallel; sysctls
// written in-process after setns; services started in parallel.
#include <sys/stat.h>
#include <net/if.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "cli.h"
#include "lab/lab.h"
#include "lab/services.h"
#include "lab/system.h"

namespace mif::lab {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The router's interface towards the node, and the internet's towards each router.
constexpr const char* kRouterNodeLink = "node";
constexpr const char* kRouterInetLink = "inet";
std::string inetSideLink(const Pvd& p) { return "r-" + p.name; }

// A PvD with a delay: the TUN devices of its router that `mif lab delay` relays (delay.cpp),
// and the routing table that sends packets for the node's prefixes to `to-node`.
constexpr const char* kDelayFromNode = "from-node";
constexpr const char* kDelayToNode = "to-node";
constexpr int kDelayTable = 90;

// Transit link router <-> internet: 169.254.<n>.1 (internet side) and .2 (router side),
// link-local so that nothing of it looks like a real network; IPv6 uses fe80::1 / fe80::2.
std::string transit4(const Pvd& p, int host) {
  return "169.254." + std::to_string(p.index + 1) + "." + std::to_string(host);
}

bool linkExists(const std::string& ns, const std::string& link) {
  bool found = false;
  sys::inNamespace(ns, [&] { found = ::if_nametoindex(link.c_str()) != 0; });
  return found;
}

void sysctl(const std::string& key, const std::string& value) {
  std::string path = "/proc/sys/" + key;
  for (char& c : path)
    if (c == '.') c = '/';
  sys::writeFile(path, value);
}

std::string gatewayOf(const Pvd& p, bool v6) {
  for (const auto& r : p.router)
    if (isIpv6(r) == v6) return bareAddress(r);
  return {};
}

// Node routes through PvD p, as ip commands.
void nodeRoutes(const Pvd& p, std::string& batch) {
  for (const auto& r : p.routes) {
    std::vector<std::pair<std::string, bool>> targets;  // (destination, v6)
    if (r.to == "default") {
      if (!gatewayOf(p, false).empty() && r.from.empty()) targets.emplace_back("default", false);
      if (!gatewayOf(p, true).empty()) targets.emplace_back("default", true);
    } else {
      targets.emplace_back(r.to, isIpv6(r.to));
    }
    for (const auto& [to, v6] : targets) {
      std::string via = r.via.empty() ? gatewayOf(p, v6) : r.via;
      if (via.empty() || isIpv6(via) != v6) continue;
      // Batch lines cannot carry -6: the family comes from the addresses, and "::/0"
      // stands for an IPv6 default.
      batch += "route replace " + (v6 && to == "default" ? std::string("::/0") : to) +
               (r.from.empty() || !v6 ? "" : " from " + r.from) + " via " + via + " dev " +
               p.link + (r.metric ? " metric " + std::to_string(r.metric) : "") + "\n";
    }
  }
}

void addAddress(const std::string& cidr, const std::string& dev, std::string& batch) {
  // nodad: no second of tentative state before the address can be used.
  batch += "addr replace " + cidr + " dev " + dev + (isIpv6(cidr) ? " nodad" : "") +
           "\n";
}

std::string hostCidr(const std::string& a) { return a + (isIpv6(a) ? "/128" : "/32"); }

// BCP 38 on the router's node link. IPv4: strict rp_filter. IPv6 has none, so rules send
// packets from the node link with a source of this PvD (or link-local, or ::, or to
// multicast for neighbour discovery) on to the normal lookups and prohibit the rest. The
// local table moves behind them, otherwise a wrong source would still reach the router's
// own addresses (its DNS server, the hosts on its lo). A captive portal not yet passed
// prohibits forwarding from the node link: only the router's own addresses answer.
}  // namespace

//
// A PvD with a delay (delayRules) has its node's packets come back from the relay on
// `from-node`, where the same checks apply (IPv4 too, by rules: rp_filter cannot judge a
// packet arriving on a device other than the node's), and sends what is routed to the
// node's prefixes through `to-node` (pref 150, behind the local table, so the router's
// own addresses stay local); what comes back from `to-node` takes the main table.
std::string routerRules(const Topology& t, const Pvd& p, bool v6) {
  // The local rule is deleted before the flush: after a flush in the same batch,
  // iproute2 6.1 leaves a fresh namespace's pref 0 rule in place. On a second run the
  // delete fails (-force goes on) and the flush removes what the first run added.
  const bool delayed = p.delayUs > 0;
  std::string b = v6 || delayed ? "rule del pref 0\nrule flush\n" : "rule flush\n";
  std::vector<std::string> from;  // where the node's packets arrive
  if (v6) from.push_back(kRouterNodeLink);
  if (delayed) {
    from.push_back(kDelayFromNode);
    b += std::string("rule add pref 1 iif ") + kDelayToNode + " lookup main\n";
  }
  for (const auto& dev : from) {
    for (const auto& c : p.router)
      if (isIpv6(c) == v6) b += "rule add pref 10 iif " + dev + " from " + networkOf(c) + " goto 100\n";
  }
  if (v6) {
    b += "rule add pref 10 iif node from fe80::/10 goto 100\n";
    b += "rule add pref 10 iif node from ::/128 goto 100\n";
    b += "rule add pref 11 iif node to ff00::/8 goto 100\n";
  }
  for (const auto& dev : from) b += "rule add pref 20 iif " + dev + " prohibit\n";
  if (v6 || delayed) b += "rule add pref 100 lookup local\n";
  if (!p.portal.empty() && !portalAuthenticated(t, p.name))
    for (const char* dev : {kRouterNodeLink, delayed ? kDelayFromNode : nullptr})
      if (dev) b += std::string("rule add pref 101 iif ") + dev + " prohibit\n";
  if (delayed) {
    for (const auto& c : p.node)
      if (isIpv6(c) == v6)
        b += "rule add pref 150 to " + networkOf(c) + " lookup " + std::to_string(kDelayTable) + "\n";
  }
  b += "rule add pref 32766 lookup main\n";
  if (!v6) b += "rule add pref 32767 lookup default\n";
  return b;
}

namespace {

// Loss without netem (this kernel has none): an htb root whose second class ends in a
// pfifo of length 0, and a classic BPF classifier sending a random loss% of packets
// there: ld proto; ARP passes; ld rand; mod 100; A >= loss ? class 1:1 : class 1:2.
// ARP is spared so that a lossy IPv4 path loses packets, not its neighbour entry for
// seconds at a time (which would make the loss rate meaningless to measure).
std::string lossCommands(const std::string& dev, int loss) {
  std::string bytecode = "7,32 0 0 4294963200,21 3 0 2054,32 0 0 4294963256,148 0 0 100,53 0 1 " +
                         std::to_string(loss) + ",6 0 0 65537,6 0 0 65538";
  return "qdisc add dev " + dev + " root handle 1: htb default 1 r2q 100000\n" +
         "class add dev " + dev + " parent 1: classid 1:1 htb rate 10gbit\n" +
         "class add dev " + dev + " parent 1: classid 1:2 htb rate 10gbit\n" +
         "qdisc add dev " + dev + " parent 1:2 handle 2: pfifo limit 0\n" +
         "filter add dev " + dev + " parent 1: protocol all prio 1 bpf bytecode \"" + bytecode +
         "\"\n";
}

// Delay (no netem either): on the router's `node` interface, an ingress filter redirects
// the node's IP packets to the TUN device `from-node`, where the relay holds them; IPv6
// neighbour discovery (ICMPv6 with hop limit 255) stays on the link, as do IPv6 packets
// from outside the PvD's prefixes (link-local, or a wrong source the rules then refuse).
// ARP is not IP and is never redirected. The way back is a route (routerRules).
std::string delayCommands(const Pvd& p) {
  const std::string dev = kRouterNodeLink;
  const std::string redirect =
      std::string(" action mirred egress redirect dev ") + kDelayFromNode + "\n";
  std::string c = "qdisc del dev " + dev + " ingress\nqdisc add dev " + dev + " ingress\n";
  c += "filter add dev " + dev +
       " parent ffff: protocol ipv6 prio 1 u32 match u8 58 0xff at 6 match u8 255 0xff at 7"
       " flowid ffff:1\n";
  for (const auto& r : p.router)
    if (isIpv6(r))
      c += "filter add dev " + dev + " parent ffff: protocol ipv6 prio 2 u32 match ip6 src " +
           networkOf(r) + redirect;
  c += "filter add dev " + dev + " parent ffff: protocol ip prio 3 u32 match u32 0 0" + redirect;
  return c;
}

struct Plan {
  std::map<std::string, std::string> links;   // ns -> batch creating missing links
  std::map<std::string, std::string> config;   // ns -> strict batch
  std::map<std::string, std::string> routes;   // ns -> strict batch, after config
  std::map<std::string, std::string> rules4;   // ns -> forced batch (rule reset)
  std::map<std::string, std::string> rules6;
  struct Shaping {
    std::string ns, dev, commands;
    std::string show;    // what `tc ... show dev DEV` reads back
    std::string expect;  // and must find there
  };
  std::vector<Shaping> shaping;
  std::vector<std::string> recreated;          // PvDs whose link was (re)made
};

Plan plan(const Topology& t) {
  Plan pl;
  const std::string node = t.nsNode();
  const std::string inet = t.nsInternet();
  pl.config[node] = "link set lo up\n";
  for (const auto& seg : t.segments()) {
    std::string sw = t.nsSwitch(seg);
    std::string& b = pl.config[sw];
    if (!linkExists(sw, "br0"))
      pl.links[sw] += "link add br0 type bridge mcast_snooping 0\n";
    b += "link set lo up\nlink set br0 up\n";
  }
  if (t.hasInternet()) {
    std::string& b = pl.config[inet];
    b += "link set lo up\n";
    for (const auto& h : t.hosts)
      if (h.behind == "internet")
        for (const auto& a : h.addrs) addAddress(hostCidr(a), "lo", b);
  }
  std::set<std::string> segmentsDone;
  for (const auto& p : t.pvds) {
    const std::string router = t.nsRouter(p.name);
    bool fresh = false;
    if (p.segment.empty()) {
      if (!linkExists(node, p.link)) {
        pl.links[node] += "link add " + p.link + " type veth peer name " + kRouterNodeLink +
                          " netns " + router + "\n";
        fresh = true;
      }
    } else {
      std::string sw = t.nsSwitch(p.segment);
      if (segmentsDone.insert(p.segment).second) {
        if (!linkExists(node, p.link))
          pl.links[node] += "link add " + p.link + " type veth peer name node netns " + sw + "\n";
        pl.config[sw] += "link set node master br0\nlink set node up\n";
      }
      if (!linkExists(router, kRouterNodeLink)) {
        pl.links[router] += std::string("link add ") + kRouterNodeLink + " type veth peer name " +
                            inetSideLink(p) + " netns " + sw + "\n";
        fresh = true;
      }
      pl.config[sw] += "link set " + inetSideLink(p) + " master br0\nlink set " + inetSideLink(p) +
                       " up\n";
    }
    if (fresh) pl.recreated.push_back(p.name);

    std::string& nb = pl.config[node];
    for (const auto& a : p.node) addAddress(a, p.link, nb);
    nb += "link set " + p.link + " up\n";

    std::string& rb = pl.config[router];
    rb += "link set lo up\n";
    for (const auto& a : p.router) addAddress(a, kRouterNodeLink, rb);
    rb += std::string("link set ") + kRouterNodeLink + " up\n";
    for (const auto& h : t.hosts)
      if (h.behind == p.name)
        for (const auto& a : h.addrs) addAddress(hostCidr(a), "lo", rb);
    for (const auto& d : p.dnsServers) {
      bool onLink = false;
      for (const auto& r : p.router) onLink |= bareAddress(r) == d;
      if (!onLink) addAddress(hostCidr(d), "lo", rb);
    }
    pl.rules4[router] = routerRules(t, p, false);
    pl.rules6[router] = routerRules(t, p, true);
    if (p.internet) {
      if (!linkExists(router, kRouterInetLink))
        pl.links[router] += std::string("link add ") + kRouterInetLink + " type veth peer name " +
                            inetSideLink(p) + " netns " + inet + "\n";
      addAddress(transit4(p, 2) + "/30", kRouterInetLink, rb);
      addAddress("fe80::2/64", kRouterInetLink, rb);
      rb += std::string("link set ") + kRouterInetLink + " up\n";
      rb += "route replace default via " + transit4(p, 1) + " dev inet onlink\n";
      rb += "route replace ::/0 via fe80::1 dev inet onlink\n";
      std::string& ib = pl.config[inet];
      addAddress(transit4(p, 1) + "/30", inetSideLink(p), ib);
      addAddress("fe80::1/64", inetSideLink(p), ib);
      ib += "link set " + inetSideLink(p) + " up\n";
      // No NAT: the internet routes each PvD's prefixes back through that PvD's router,
      // so a server there sees which PvD a client came through.
      for (const auto& a : p.node) {
        if (isIpv6(a))
          ib += "route replace " + networkOf(a) + " via fe80::2 dev " + inetSideLink(p) + "\n";
        else
          ib += "route replace " + networkOf(a) + " via " + transit4(p, 2) + " dev " +
                inetSideLink(p) + " onlink\n";
      }
    }
    if (p.lossPercent) {
      // Both directions of the radio link: the node's egress and the router's. The root
      // qdisc is replaced as a whole (an error when there is none, hence -force).
      for (const auto& [ns, dev] : {std::pair{node, p.link}, std::pair{router, std::string(kRouterNodeLink)}})
        pl.shaping.push_back({ns, dev, "qdisc del dev " + dev + " root\n" + lossCommands(dev, p.lossPercent),
                              "qdisc", "htb"});
    }
    if (p.delayUs) {
      for (const char* tun : {kDelayFromNode, kDelayToNode}) {
        if (!linkExists(router, tun)) pl.links[router] += std::string("tuntap add dev ") + tun + " mode tun\n";
        rb += std::string("link set ") + tun + " up\n";
      }
      const std::string table = " table " + std::to_string(kDelayTable) + "\n";
      rb += std::string("route replace default dev ") + kDelayToNode + table;
      rb += std::string("route replace ::/0 dev ") + kDelayToNode + table;
      pl.shaping.push_back({router, kRouterNodeLink, delayCommands(p), "filter", "mirred"});
    }
  }
  // The node's routes come in a phase of their own, once both ends of every link are up:
  // IPv6 refuses a gateway it cannot yet see on-link, and `onlink` would make the routes
  // look unlike those of a real host.
  for (const auto& p : t.pvds) nodeRoutes(p, pl.routes[node]);
  return pl;
}

bool runBatches(const std::map<std::string, std::string>& batches, const char* tool, bool force,
                std::string& error, const char* family = nullptr) {
  std::vector<sys::Job> jobs;
  std::vector<std::string> names;
  for (const auto& [ns, batch] : batches) {
    if (batch.empty()) continue;
    std::vector<std::string> argv{tool, "-n", ns};
    if (family) argv.push_back(family);
    if (force) argv.push_back("-force");
    argv.insert(argv.end(), {"-batch", "-"});
    jobs.push_back({argv, batch, ""});
    names.push_back(ns);
  }
  auto results = sys::runAll(jobs);
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok() && !force) {
      error = std::string(tool) + " in " + names[i] + ": " + results[i].err;
      while (!error.empty() && error.back() == '\n') error.pop_back();
      return false;
    }
  }
  return true;
}

// Shaping is replaced as a whole (each batch deletes what it replaces first, an error
// when there is none, hence -force), then read back to report a kernel without the
// qdiscs, classifiers and actions it needs.
bool shape(const Plan& pl, std::string& error) {
  std::vector<sys::Job> jobs;
  for (const auto& s : pl.shaping) jobs.push_back({{"tc", "-n", s.ns, "-force", "-batch", "-"}, s.commands, ""});
  auto results = sys::runAll(jobs);
  for (size_t i = 0; i < pl.shaping.size(); ++i) {
    const auto& s = pl.shaping[i];
    std::vector<std::string> argv{"tc", "-n", s.ns, s.show, "show", "dev", s.dev};
    if (s.show == "filter") argv.push_back("ingress");
    auto r = sys::run({argv, "", ""});
    if (r.out.find(s.expect) == std::string::npos) {
      error = "cannot shape " + s.dev + " in " + s.ns + " (loss needs the htb qdisc and the bpf " +
              "classifier; delay the ingress qdisc, the u32 classifier and the mirred action): " +
              results[i].err;
      while (!error.empty() && error.back() == '\n') error.pop_back();
      return false;
    }
  }
  return true;
}

// A PvD with a delay: its router's rp_filter is off (the node's packets come back from the
// relay on `from-node`, whose reverse route is the node link; the rules check their source
// instead, routerRules), and `to-node` accepts the router's own addresses as sources (its
// DNS server's and hosts' answers come back through it).
void delaySysctls(const Topology& t) {
  for (const auto& p : t.pvds) {
    if (!p.delayUs) continue;
    sys::inNamespace(t.nsRouter(p.name), [&] {
      for (const char* dev : {"all", "default", kRouterNodeLink, kRouterInetLink, kDelayFromNode, kDelayToNode})
        sysctl(std::string("net.ipv4.conf.") + dev + ".rp_filter", "0");
      sysctl(std::string("net.ipv4.conf.") + kDelayToNode + ".accept_local", "1");
    });
  }
}

void setSysctls(const Topology& t) {
  for (const auto& ns : t.namespaces()) {
    bool router = ns.rfind(t.ns("r-"), 0) == 0;
    bool inet = ns == t.nsInternet();
    sys::inNamespace(ns, [&] {
      // Nothing in the lab sends router advertisements; a host that listened would only
      // pick up the lab's own routers' link-local noise.
      sysctl("net.ipv6.conf.all.accept_ra", "0");
      sysctl("net.ipv6.conf.default.accept_ra", "0");
      // Kill-switch tests set links down and up: keep IPv6 addresses as IPv4 does.
      sysctl("net.ipv6.conf.all.keep_addr_on_down", "1");
      sysctl("net.ipv6.conf.default.keep_addr_on_down", "1");
      std::string rp = router || inet ? "1" : "0";
      sysctl("net.ipv4.conf.all.rp_filter", rp);
      sysctl("net.ipv4.conf.default.rp_filter", rp);
      if (router) {
        sysctl("net.ipv4.ip_forward", "1");
        sysctl("net.ipv6.conf.all.forwarding", "1");
      }
    });
  }
}

}  // namespace

std::string factsText(const Topology& t) {
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  std::string f = "name=" + t.name + "\n";
  f += "file=" + t.file + "\n";
  f += "state=" + t.stateDir() + "\n";
  f += "policy=" + t.stateDir() + "/policy.toml\n";
  f += "ns.node=" + t.nsNode() + "\n";
  if (t.hasInternet()) f += "ns.internet=" + t.nsInternet() + "\n";
  for (const auto& s : t.segments()) f += "ns.switch." + s + "=" + t.nsSwitch(s) + "\n";
  std::vector<std::string> names;
  for (const auto& p : t.pvds) names.push_back(p.name);
  f += "pvds=" + join(names) + "\n";
  for (const auto& p : t.pvds) {
    std::string k = "pvd." + p.name + ".";
    f += "ns.router." + p.name + "=" + t.nsRouter(p.name) + "\n";
    f += k + "link=" + p.link + "\n";
    std::vector<std::string> addrs, p4, p6;
    std::string a4, a6;
    for (const auto& a : p.node) {
      addrs.push_back(bareAddress(a));
      if (isIpv6(a)) {
        if (a6.empty()) a6 = bareAddress(a);
        p6.push_back(networkOf(a));
      } else {
        if (a4.empty()) a4 = bareAddress(a);
        p4.push_back(networkOf(a));
      }
    }
    f += k + "addrs=" + join(addrs) + "\n";
    f += k + "addr4=" + a4 + "\n" + k + "addr6=" + a6 + "\n";
    f += k + "prefix4=" + join(p4) + "\n" + k + "prefix6=" + join(p6) + "\n";
    f += k + "gateway4=" + gatewayOf(p, false) + "\n" + k + "gateway6=" + gatewayOf(p, true) + "\n";
    f += k + "dns=" + join(p.dnsServers) + "\n";
    f += k + "domains=" + join(p.domains) + "\n";
    f += k + "internet=" + (p.internet ? "true" : "false") + "\n";
    if (!p.segment.empty()) f += k + "segment=" + p.segment + "\n";
    if (!p.portal.empty()) f += k + "portal=" + p.portal + "\n";
    if (p.lossPercent) f += k + "loss=" + std::to_string(p.lossPercent) + "\n";
    if (p.delayUs) f += k + "delay_us=" + std::to_string(p.delayUs) + "\n";
  }
  std::vector<std::string> hosts;
  for (const auto& h : t.hosts) hosts.push_back(h.name);
  f += "hosts=" + join(hosts) + "\n";
  for (const auto& h : t.hosts) {
    std::string k = "host." + h.name + ".";
    f += k + "pvd=" + h.behind + "\n";
    std::string a4, a6;
    for (const auto& a : h.addrs) {
      std::string& slot = isIpv6(a) ? a6 : a4;
      if (slot.empty()) slot = a;
    }
    f += k + "addr4=" + a4 + "\n" + k + "addr6=" + a6 + "\n";
    f += k + "ns=" + (h.behind == "internet" ? t.nsInternet() : t.nsRouter(h.behind)) + "\n";
  }
  return f;
}

std::string policyText(const Topology& t) {
  auto list = [](const std::vector<std::string>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
    return s + "]";
  };
  std::string f = "# Written by `mif lab up " + t.name +
                  "`: the node's PvDs as a mif policy (mif run --policy THIS).\n";
  const Pvd* primary = nullptr;
  int best = 0;
  for (const auto& p : t.pvds) {
    f += "\n[pvd." + p.name + "]\ninterface = \"" + p.link + "\"\n";
    if (!p.dnsServers.empty()) f += "dns = " + list(p.dnsServers) + "\n";
    if (!p.domains.empty()) f += "domains = " + list(p.domains) + "\n";
    std::vector<std::string> prefixes, sources;
    for (const auto& r : p.routes) {
      if (r.to == "default" || r.to == "0.0.0.0/0" || r.to == "::/0") {
        if (!primary || r.metric < best) {
          primary = &p;
          best = r.metric;
        }
      } else {
        prefixes.push_back(r.to);
      }
    }
    for (const auto& a : p.node) sources.push_back(networkOf(a));
    if (!prefixes.empty()) f += "prefixes = " + list(prefixes) + "\n";
    f += "source = " + list(sources) + "\n";
  }
  if (primary) f += "\n[default]\npvd = \"" + primary->name + "\"\n";
  return f;
}

int up(const Topology& t, bool quiet) {
  auto started = Clock::now();
  std::error_code ec;
  fs::create_directories(t.stateDir(), ec);
  if (ec) {
    cli::error("lab up", t.stateDir() + ": " + ec.message());
    return cli::kExitFailure;
  }
  // Written before anything is created, so that `down` finds all of it even when this
  // process is killed half-way.
  std::string nsList;
  for (const auto& ns : t.namespaces()) nsList += ns + "\n";
  sys::replaceFile(t.stateDir() + "/namespaces", nsList);
  sys::replaceFile(t.stateDir() + "/facts", factsText(t));
  sys::replaceFile(t.stateDir() + "/policy.toml", policyText(t));
  sys::replaceFile(t.stateDir() + "/source", t.file + "\n");

  std::vector<sys::Job> create;
  for (const auto& ns : t.namespaces())
    if (!sys::namespaceExists(ns)) {
      sys::deleteNamespace(ns);  // a stale file would make `ip netns add` fail
      create.push_back({{"ip", "netns", "add", ns}, "", ""});
    }
  for (const auto& r : sys::runAll(create)) {
    if (!r.ok()) {
      cli::error("lab up", "ip netns add: " + r.err);
      return cli::kExitFailure;
    }
  }
  setSysctls(t);

  Plan pl = plan(t);
  std::string error;
  if (!runBatches(pl.links, "ip", false, error)) {
    cli::error("lab up", error);
    return cli::kExitFailure;
  }
  delaySysctls(t);
  if (!runBatches(pl.config, "ip", false, error) ||
      !runBatches(pl.routes, "ip", false, error) ||
      !runBatches(pl.rules4, "ip", true, error, "-4") ||
      !runBatches(pl.rules6, "ip", true, error, "-6") || !shape(pl, error)) {
    cli::error("lab up", error);
    return cli::kExitFailure;
  }
  if (!startServices(t, pl.recreated, error)) {
    cli::error("lab up", error);
    return cli::kExitFailure;
  }
  double secs = std::chrono::duration<double>(Clock::now() - started).count();
  if (!quiet)
    std::printf("mif lab: %s up in %.2f s (%zu namespaces, state in %s)\n", t.name.c_str(), secs,
                t.namespaces().size(), t.stateDir().c_str());
  return cli::kExitOk;
}

int facts(const Topology& t) {
  std::fputs(factsText(t).c_str(), stdout);
  return cli::kExitOk;
}

}  // namespace mif::lab
