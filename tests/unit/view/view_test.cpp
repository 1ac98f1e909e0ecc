// The snapshot against the kernel's own account (`ip -j`), and PvD binding.
#include <linux/rtnetlink.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "mif/view/live_view.h"
#include "mif/view/published_pvds.h"
#include "netns.h"

namespace mif::view::test {
namespace {

// `ip -j` output flattened to one comparable line per address and per route.
constexpr const char* kIpLines = R"PY(
import json, subprocess
def ip(*a):
    return json.loads(subprocess.check_output(["ip", "-j", *a]) or b"[]")
for fam in ("4", "6"):
    for r in ip("-" + fam, "route", "show", "table", "all"):
        dst = r["dst"]
        if dst == "default": dst = "0.0.0.0/0" if fam == "4" else "::/0"
        elif "/" not in dst: dst += "/32" if fam == "4" else "/128"
        print("route", fam, dst, r.get("table", "main"), r.get("dev", "-"), r.get("gateway", "-"),
              r.get("metric", 0), r.get("from", "-"), r.get("type", "unicast"))
for l in ip("addr"):
    for a in l.get("addr_info", []):
        print("addr", l["ifname"], a["local"] + "/" + str(a["prefixlen"]), a["scope"])
)PY";

std::string tableName(uint32_t t) {
  return t == RT_TABLE_MAIN ? "main" : t == RT_TABLE_LOCAL ? "local" : std::to_string(t);
}
std::string typeName(uint8_t t) {
  static const char* names[] = {"unspec",    "unicast",   "local",       "broadcast", "anycast",
                                "multicast", "blackhole", "unreachable", "prohibit",  "throw"};
  return t < std::size(names) ? names[t] : std::to_string(t);
}
std::string scopeName(uint8_t s) {
  return s == RT_SCOPE_UNIVERSE ? "global"
         : s == RT_SCOPE_LINK   ? "link"
         : s == RT_SCOPE_HOST   ? "host"
                                : std::to_string(s);
}

std::multiset<std::string> viewLines(const Snapshot& s) {
  std::multiset<std::string> out;
  for (const auto& r : s.routes) {
    const Interface* i = s.interfaceByIndex(r.ifindex);
    std::ostringstream l;
    l << "route " << (r.family == Family::V4 ? "4 " : "6 ") << r.dst.toString() << " "
      << tableName(r.table) << " " << (i ? i->name : "-") << " "
      << (r.hasGateway ? r.gateway.toString() : "-") << " " << r.metric << " "
      << (r.hasSource ? r.source.toString() : "-") << " " << typeName(r.type);
    out.insert(l.str());
  }
  for (const auto& i : s.interfaces)
    for (const auto& a : i.addresses)
      out.insert("addr " + i.name + " " + a.addr.toString() + "/" + std::to_string(a.prefixLength) +
                 " " + scopeName(a.scope));
  return out;
}

std::multiset<std::string> ipLines() {
  std::multiset<std::string> out;
  std::istringstream in(capture(std::string("python3 -c '") + kIpLines + "'"));
  for (std::string line; std::getline(in, line);) out.insert(line);
  return out;
}

const BoundPvd& pvd(const Snapshot& s, const policy::Policy& p, const char* name) {
  return s.pvds.at(*p.findPvd(name));
}

bool hasWarning(const BoundPvd& b, const std::string& part) {
  return std::any_of(b.warnings.begin(), b.warnings.end(),
                     [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

class ViewTest : public NetnsTest {};

TEST_F(ViewTest, MatchesIpJson) {
  vethPair("va0", "vb0", "192.0.2.10/24 2001:db8:1::10/64");
  vethPair("va1", "vb1", "198.51.100.10/24");
  must("ip route add default via 192.0.2.1 metric 100");
  must("ip route add 203.0.113.0/24 via 198.51.100.1 table 100 metric 5");
  must("ip route add blackhole 203.0.113.128/25 table 200");
  must("ip -6 route add 2001:db8:9::/64 from 2001:db8:1::/64 via 2001:db8:1::1 dev va0");
  must("ip -6 route add default via 2001:db8:1::1 dev va0 table 300 metric 7");
  auto policy = compile("");
  auto snap = LiveView::readOnce(*policy);
  ASSERT_TRUE(snap->error.empty()) << snap->error;
  auto expected = ipLines();
  ASSERT_FALSE(expected.empty()) << "python3 or ip -j gave nothing";
  EXPECT_EQ(viewLines(*snap), expected);

  const Interface* va0 = snap->interfaceByName("va0");
  ASSERT_NE(va0, nullptr);
  EXPECT_EQ(va0->kind, "veth");
  EXPECT_TRUE(va0->adminUp && va0->carrier && va0->operUp);
  EXPECT_EQ(snap->interfaceByName("lo")->kind, "loopback");
  EXPECT_EQ(snap->ownerOf(*policy::IpAddress::parse("198.51.100.10")),
            snap->interfaceByName("va1"));
}

TEST_F(ViewTest, KindsAndLinkStates) {
  vethPair("va0", "vb0");
  must("ip link set vb0 down");  // va0: up, no carrier
  must("ip tuntap add tun0 mode tun");
  auto policy = compile("");
  auto snap = LiveView::readOnce(*policy);
  const Interface* va0 = snap->interfaceByName("va0");
  EXPECT_TRUE(va0->adminUp);
  EXPECT_FALSE(va0->carrier);
  EXPECT_FALSE(va0->linkUsable());
  EXPECT_EQ(snap->interfaceByName("tun0")->kind, "tun");
  EXPECT_FALSE(snap->interfaceByName("tun0")->adminUp);
}

TEST_F(ViewTest, GlobBindsLowestIndexAndWarnsWhenSeveralMatch) {
  vethPair("va0", "vb0", "192.0.2.10/24");
  vethPair("va1", "vb1", "198.51.100.10/24");
  auto policy = compile("[pvd.lan]\ninterface = \"va*\"\n[pvd.wifi]\ninterface = \"wl*\"\n");
  auto snap = LiveView::readOnce(*policy);
  const auto& lan = pvd(*snap, *policy, "lan");
  EXPECT_EQ(lan.ifname, "va0");
  EXPECT_EQ(lan.ifindex, snap->interfaceByName("va0")->index);
  EXPECT_TRUE(lan.state.present && lan.state.v4);
  EXPECT_FALSE(lan.state.v6);
  EXPECT_TRUE(hasWarning(lan, "va* matches va0, va1"));
  const auto& wifi = pvd(*snap, *policy, "wifi");
  EXPECT_FALSE(wifi.state.present);
  EXPECT_TRUE(hasWarning(wifi, "no interface matches wl*"));
  EXPECT_EQ(snap->states.size(), policy->pvds().size());
  EXPECT_TRUE(snap->view().state(lan.id).v4);
}

TEST_F(ViewTest, AdHocPvdBoundByExactNameWithCommandLineDns) {
  vethPair("va0", "vb0", "192.0.2.10/24");
  vethPair("va00", "vb00", "192.0.2.20/24");
  policy::Pin pin;
  pin.pvds = {"va00"};
  pin.dns = {*policy::IpAddress::parse("192.0.2.53")};
  auto policy = compile("", pin);
  auto snap = LiveView::readOnce(*policy);
  const auto& b = pvd(*snap, *policy, "va00");
  EXPECT_EQ(b.ifname, "va00");
  ASSERT_EQ(b.dns.size(), 1u);
  EXPECT_EQ(b.dns[0].addr.toString(), "192.0.2.53");
  EXPECT_EQ(b.dns[0].origin, DnsOrigin::CommandLine);
}

TEST_F(ViewTest, TwoPvdsOnOneInterfaceWithoutSourceWarn) {
  vethPair("va0", "vb0", "192.0.2.10/24");
  auto policy = compile("[pvd.a]\ninterface = \"va0\"\n[pvd.b]\ninterface = \"va0\"\n");
  auto snap = LiveView::readOnce(*policy);
  EXPECT_TRUE(hasWarning(pvd(*snap, *policy, "a"), "two PvDs claim interface va0"));
  EXPECT_TRUE(hasWarning(pvd(*snap, *policy, "b"), "two PvDs claim interface va0"));
  ASSERT_EQ(snap->warnings.size(), 1u);
}

// RFC 6418 4.5: one interface, two routers, two prefixes; `source` splits it.
TEST_F(ViewTest, SourceSplitsOneInterfaceBetweenPvds) {
  vethPair("va0", "vb0", "2001:db8:1::10/64 2001:db8:2::10/64 192.0.2.10/24");
  must("ip -6 route add default via 2001:db8:1::1 dev va0");
  auto policy = compile(
      "[pvd.a]\ninterface = \"va0\"\nsource = [\"2001:db8:1::/64\"]\n"
      "[pvd.b]\ninterface = \"va0\"\nsource = [\"2001:db8:2::/64\"]\n");
  auto snap = LiveView::readOnce(*policy);
  const auto& a = pvd(*snap, *policy, "a");
  const auto& b = pvd(*snap, *policy, "b");
  EXPECT_TRUE(a.state.v6 && b.state.v6);
  EXPECT_FALSE(a.state.v4 || b.state.v4);  // 192.0.2.10 is in neither `source`
  ASSERT_TRUE(a.hasSource6 && b.hasSource6);
  EXPECT_EQ(a.source6.toString(), "2001:db8:1::10");
  EXPECT_EQ(b.source6.toString(), "2001:db8:2::10");
  EXPECT_EQ(snap->pvdOfAddress(*policy::IpAddress::parse("2001:db8:2::10")), b.id);
  EXPECT_EQ(snap->pvdOfAddress(*policy::IpAddress::parse("192.0.2.10")), -1);
  EXPECT_TRUE(snap->warnings.empty());
}

// RFC 6418 4.5 with RFC 8801: the two PvDs on one interface are the explicit PvDs `mif
// discover` published; the policy names them by ID only, and their announced prefixes
// split the interface's addresses. `--pvd ID` (ad hoc) does the same.
TEST_F(ViewTest, ExplicitPvdsNamedByIdSplitOneInterfaceByTheirPrefixes) {
  vethPair("va0", "vb0", "2001:db8:1::10/64 2001:db8:2::10/64");
  must("ip -6 route add default via 2001:db8:1::1 dev va0");
  char dir[] = "/tmp/mif-view-pvds-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string pvds = std::string(dir) + "/pvds";
  must("mkdir " + pvds);
  const std::string now = std::to_string(bootSeconds());
  auto publish = [&](const std::string& id, const std::string& n) {
    must("printf 'version 1\\nid " + id + "\\nrouter fe80::" + n + " dev va0 heard " + now +
         " expires forever\\nprefix 2001:db8:" + n + "::/64 router fe80::" + n +
         " dev va0 expires forever preferred forever flags LA\\ndns 2001:db8:" + n +
         "::53 router fe80::" + n + " dev va0 expires forever\\ndomain " + id + " router fe80::" +
         n + " dev va0 expires forever\\npref64 64:ff9b::/96 router fe80::" + n +
         " dev va0 expires forever\\n' > " + pvds + "/" + id);
  };
  publish("a.example", "1");
  publish("b.example", "2");
  setenv("MIF_RUN_DIR", dir, 1);
  auto policy = compile("[pvd.a]\nid = \"A.Example\"\n[pvd.b]\nid = \"b.example\"\n"
                        "[pvd.c]\nid = \"c.example\"\n");
  auto snap = LiveView::readOnce(*policy);
  const auto& a = pvd(*snap, *policy, "a");
  const auto& b = pvd(*snap, *policy, "b");
  EXPECT_EQ(a.ifname, "va0");
  EXPECT_EQ(b.ifname, "va0");
  ASSERT_TRUE(a.hasSource6 && b.hasSource6);
  EXPECT_EQ(a.source6.toString(), "2001:db8:1::10");
  EXPECT_EQ(b.source6.toString(), "2001:db8:2::10");
  ASSERT_EQ(a.dns.size(), 1u);
  EXPECT_EQ(a.dns[0].addr.toString(), "2001:db8:1::53");
  EXPECT_EQ(a.dns[0].origin, DnsOrigin::RouterAdvertisement);
  EXPECT_EQ(a.domains, std::vector<std::string>{"a.example"});
  ASSERT_EQ(b.pref64.size(), 1u);
  EXPECT_EQ(b.pref64[0].prefix.toString(), "64:ff9b::/96");
  EXPECT_TRUE(snap->warnings.empty()) << snap->warnings.at(0);
  // Not published: absent, and says where it looked.
  const auto& c = pvd(*snap, *policy, "c");
  EXPECT_EQ(c.ifindex, 0);
  EXPECT_FALSE(c.state.anyUsable());
  EXPECT_TRUE(hasWarning(c, "no explicit PvD c.example published")) << c.warnings.at(0);
  // An ad hoc --pvd by ID.
  policy::Pin pin;
  pin.pvds = {"b.example"};
  auto adHoc = compile("", pin);
  ASSERT_TRUE(adHoc);
  auto snap2 = LiveView::readOnce(*adHoc);
  const auto& b2 = pvd(*snap2, *adHoc, "b.example");
  EXPECT_EQ(b2.ifname, "va0");
  EXPECT_EQ(b2.source6.toString(), "2001:db8:2::10");
  unsetenv("MIF_RUN_DIR");
  must("rm -r " + std::string(dir));
}

TEST_F(ViewTest, TentativeAddressIsNotUsable) {
  vethPair("va0", "vb0");
  // DAD runs for about a second after the address is added (no `nodad`).
  must("ip addr add 2001:db8:1::10/64 dev va0");
  auto policy = compile("[pvd.a]\ninterface = \"va0\"\n");
  auto snap = LiveView::readOnce(*policy);
  const Interface* va0 = snap->interfaceByName("va0");
  auto it = std::find_if(va0->addresses.begin(), va0->addresses.end(),
                         [](const Address& a) { return a.addr.toString() == "2001:db8:1::10"; });
  ASSERT_NE(it, va0->addresses.end());
  EXPECT_TRUE(it->tentative());
  EXPECT_FALSE(it->usable());
  EXPECT_FALSE(pvd(*snap, *policy, "a").state.v6);
}

TEST_F(ViewTest, SourceChoicePrefersPreferredGlobalAddress) {
  vethPair("va0", "vb0", "2001:db8:1::20/64");
  must("ip addr add 2001:db8:1::10/64 dev va0 nodad preferred_lft 0");  // deprecated
  must("ip addr add 192.0.2.10/24 dev va0");
  auto policy = compile("[pvd.a]\ninterface = \"va0\"\n");
  auto snap = LiveView::readOnce(*policy);
  const auto& a = pvd(*snap, *policy, "a");
  ASSERT_TRUE(a.hasSource6);
  EXPECT_EQ(a.source6.toString(), "2001:db8:1::20");
  EXPECT_FALSE(a.hasSource4);  // one IPv4 address: the kernel's choice is that one
}

TEST_F(ViewTest, WarnsWhenNoRouteThroughInterfaceAndNoDns) {
  vethPair("va0", "vb0", "192.0.2.10/24");
  vethPair("va1", "vb1", "198.51.100.10/24");
  must("ip route add default via 198.51.100.1 dev va1 table 100");
  auto policy = compile(
      "[pvd.corp]\ninterface = \"va0\"\n"
      "[pvd.wifi]\ninterface = \"va1\"\ndns = [\"198.51.100.53\"]\n");
  auto snap = LiveView::readOnce(*policy);
  const auto& corp = pvd(*snap, *policy, "corp");
  EXPECT_TRUE(hasWarning(
      corp, "corp: no IPv4 route through va0 — pinned sockets reach only on-link hosts"));
  const auto& wifi = pvd(*snap, *policy, "wifi");
  EXPECT_FALSE(hasWarning(wifi, "route through"));  // default route in table 100 counts
  ASSERT_EQ(wifi.dns.size(), 1u);
  EXPECT_EQ(wifi.dns[0].origin, DnsOrigin::Policy);
  EXPECT_FALSE(hasWarning(wifi, "no DNS servers known"));
}

}  // namespace
}  // namespace mif::view::test
