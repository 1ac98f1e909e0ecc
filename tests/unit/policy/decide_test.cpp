// Every step of DESIGN.md's precedence, and the conflicts between layers.
#include <gtest/gtest.h>

#include "mif/policy/loader.h"
#include "mif/policy/policy.h"

namespace mif::policy {
namespace {

struct Fixture {
  Policy policy;
  std::vector<PvdState> states;

  Decision decide(Query q) {
    View v{states};
    Explanation e;
    Decision fast = policy.decide(q, v);
    Decision slow = policy.decide(q, v, &e);
    // The indexed path and the scanning (explained) path must agree.
    EXPECT_EQ(fast.count, slow.count);
    EXPECT_EQ(fast.step, slow.step);
    EXPECT_EQ(fast.rule, slow.rule);
    EXPECT_EQ(fast.strict, slow.strict);
    for (int i = 0; i < fast.count && i < slow.count; ++i) EXPECT_EQ(fast.pvds[i], slow.pvds[i]);
    return fast;
  }
  PvdId id(const char* name) { return *policy.findPvd(name); }
  void up(const char* name, bool v4 = true, bool v6 = true) {
    PvdId i = id(name);
    if (states.size() <= i) states.resize(i + 1u);
    states[i] = PvdState{true, v4, v6};
  }
  void down(const char* name) { states[id(name)] = PvdState{}; }
};

// Loads the given layers (text, layer) and compiles them; fails the test on any error.
Fixture make(std::vector<std::pair<std::string, Layer>> files, Pin pin = {}) {
  std::vector<PolicyDoc> docs;
  int n = 0;
  for (auto& [text, layer] : files) {
    std::string name = std::string(layerName(layer)) + std::to_string(n++) + ".toml";
    auto r = loadString(text, name, layer);
    for (const auto& d : r.diagnostics) ADD_FAILURE() << d.format();
    docs.push_back(std::move(r.doc));
  }
  auto c = Policy::compile(std::move(docs), pin);
  for (const auto& d : c.diagnostics) ADD_FAILURE() << d.format();
  if (!c.policy) std::abort();
  Fixture f{std::move(*c.policy), {}};
  for (size_t i = 0; i < f.policy.pvds().size(); ++i) f.states.push_back(PvdState{true, true, true});
  return f;
}

Query connect(const char* addr, uint16_t port = 443, const char* app = "curl", const char* name = "") {
  Query q;
  q.kind = Query::Kind::Connect;
  q.hasAddress = true;
  q.address = *IpAddress::parse(addr);
  q.port = port;
  q.proto = Proto::Tcp;
  q.app = app;
  q.name = name;
  return q;
}
Query resolve(const char* name, const char* app = "curl") {
  Query q;
  q.kind = Query::Kind::Resolve;
  q.name = name;
  q.app = app;
  return q;
}

const char* kBase = R"(
[pvd.wifi]
interface = "wl*"
[pvd.cell]
interface = "wwan0"
[pvd.corp]
interface = "tun0"
dns = ["198.51.100.53"]
domains = ["corp.example"]
prefixes = ["10.0.0.0/8", "2001:db8:c::/48"]
[pvd.lab]
interface = "eth1"
domains = ["lab.corp.example"]
prefixes = ["10.1.0.0/16"]
source = ["192.0.2.0/24"]
)";

TEST(Decide, NothingMatchedIsUnmanaged) {
  auto f = make({{kBase, Layer::System}});
  auto d = f.decide(connect("203.0.113.5"));
  EXPECT_TRUE(d.unmanaged());
  EXPECT_EQ(stepNumber(d.step), 7);
  EXPECT_EQ(d.count, 0);
}

TEST(Decide, DefaultThenNonStrictPin) {
  auto f = make({{std::string(kBase) + "[default]\npvd = [\"wifi\", \"cell\"]\n", Layer::System}});
  auto d = f.decide(connect("203.0.113.5"));
  EXPECT_EQ(d.step, Step::Default);
  ASSERT_EQ(d.count, 2);
  EXPECT_EQ(d.pvds[0], f.id("wifi"));
  EXPECT_EQ(d.pvds[1], f.id("cell"));
  f.down("wifi");
  d = f.decide(connect("203.0.113.5"));
  ASSERT_EQ(d.count, 1);
  EXPECT_EQ(d.pvds[0], f.id("cell"));

  Pin pin;
  pin.pvds = {"cell"};
  auto g = make({{std::string(kBase) + "[default]\npvd = \"wifi\"\n", Layer::System}}, pin);
  d = g.decide(connect("203.0.113.5"));
  EXPECT_EQ(d.step, Step::Pin);
  EXPECT_EQ(stepNumber(d.step), 6);
  EXPECT_EQ(d.pvds[0], g.id("cell"));
  EXPECT_FALSE(d.strict);
  g.down("cell");  // a non-strict pin falls through to [default]
  d = g.decide(connect("203.0.113.5"));
  EXPECT_EQ(d.step, Step::Default);
  EXPECT_EQ(d.pvds[0], g.id("wifi"));
}

TEST(Decide, StrictDefaultBlocks) {
  auto f = make({{std::string(kBase) + "[default]\npvd = \"wifi\"\nstrict = true\n", Layer::System}});
  f.down("wifi");
  auto d = f.decide(connect("203.0.113.5"));
  EXPECT_TRUE(d.blocked());
  EXPECT_EQ(d.step, Step::Default);
}

TEST(Decide, PvdPrefixLongestWins) {
  auto f = make({{kBase, Layer::System}});
  auto d = f.decide(connect("10.1.2.3"));
  EXPECT_EQ(d.step, Step::PvdPrefix);
  EXPECT_EQ(stepNumber(d.step), 5);
  EXPECT_EQ(d.pvds[0], f.id("lab"));
  d = f.decide(connect("10.2.0.1"));
  EXPECT_EQ(d.pvds[0], f.id("corp"));
  d = f.decide(connect("2001:db8:c::1"));
  EXPECT_EQ(d.pvds[0], f.id("corp"));
  // v4-mapped addresses are judged as IPv4.
  d = f.decide(connect("::ffff:10.2.0.1"));
  EXPECT_EQ(d.pvds[0], f.id("corp"));
  // The longer prefix's PvD is unusable for IPv4: the shorter one takes it.
  f.up("lab", false, true);
  d = f.decide(connect("10.1.2.3"));
  EXPECT_EQ(d.pvds[0], f.id("corp"));
}

TEST(Decide, PvdDomainLongestSuffixWins) {
  auto f = make({{kBase, Layer::System}});
  auto d = f.decide(resolve("WIKI.Corp.Example."));
  EXPECT_EQ(d.step, Step::PvdDomain);
  EXPECT_EQ(d.pvds[0], f.id("corp"));
  d = f.decide(resolve("host.lab.corp.example"));
  EXPECT_EQ(d.pvds[0], f.id("lab"));
  d = f.decide(resolve("notcorp.example"));
  EXPECT_TRUE(d.unmanaged());
  // An address whose name is known is judged by the name first (step 5, domains).
  d = f.decide(connect("203.0.113.9", 443, "curl", "wiki.corp.example"));
  EXPECT_EQ(d.step, Step::PvdDomain);
  EXPECT_EQ(d.pvds[0], f.id("corp"));
}

TEST(Decide, DnsTagBeatsDomainsAndPrefixes) {
  auto f = make({{kBase, Layer::System}});
  auto q = connect("10.1.2.3", 443, "curl", "x.lab.corp.example");
  q.taggedPvd = f.id("wifi");
  auto d = f.decide(q);
  EXPECT_EQ(d.step, Step::DnsTag);
  EXPECT_EQ(stepNumber(d.step), 4);
  EXPECT_EQ(d.pvds[0], f.id("wifi"));
  f.up("wifi", false, true);  // not usable for IPv4: falls through
  d = f.decide(q);
  EXPECT_EQ(d.step, Step::PvdDomain);
  EXPECT_EQ(d.pvds[0], f.id("lab"));
}

// Issue 29: the tag's PvD first, then the PvDs the precedence would have given without the
// tag, in their order (failover re-resolves the name through each, docs/architecture.md).
TEST(Decide, DnsTagListGoesOnWithTheOrderWithoutTheTag) {
  Pin pin;
  pin.pvds = {"cell", "wifi", "corp"};
  auto f = make({{kBase, Layer::System}}, pin);
  auto q = connect("203.0.113.10", 8080, "curl", "www.example");
  q.taggedPvd = f.id("wifi");
  auto d = f.decide(q);
  EXPECT_EQ(d.step, Step::DnsTag);
  EXPECT_FALSE(d.strict);
  ASSERT_EQ(d.count, 3);
  EXPECT_EQ(d.pvds[0], f.id("wifi"));
  EXPECT_EQ(d.pvds[1], f.id("cell"));  // the pin's order, the tag's PvD once
  EXPECT_EQ(d.pvds[2], f.id("corp"));
  f.up("cell", false, true);  // not usable for IPv4: left out, as without the tag
  d = f.decide(q);
  ASSERT_EQ(d.count, 2);
  EXPECT_EQ(d.pvds[1], f.id("corp"));
  // A PvD domain below the tag gives the rest (step 5 before the pin).
  auto g = make({{kBase, Layer::System}}, pin);
  auto r = connect("10.1.2.3", 443, "curl", "x.lab.corp.example");
  r.taggedPvd = g.id("cell");
  d = g.decide(r);
  EXPECT_EQ(d.step, Step::DnsTag);
  ASSERT_EQ(d.count, 2);
  EXPECT_EQ(d.pvds[0], g.id("cell"));
  EXPECT_EQ(d.pvds[1], g.id("lab"));
  // The tag's PvD not usable: the order without the tag, as before.
  g.up("cell", false, true);
  d = g.decide(r);
  EXPECT_EQ(d.step, Step::PvdDomain);
  ASSERT_EQ(d.count, 1);
  EXPECT_EQ(d.pvds[0], g.id("lab"));
}

// A strict list never gains a PvD from a tag: a strict pin (step 2) or a strict rule
// (step 3) decides before the tag, with its own list only.
TEST(Decide, StrictListNeverGainsTheTagsPvd) {
  Pin pin;
  pin.pvds = {"wifi"};
  pin.strict = true;
  auto f = make({{kBase, Layer::System}}, pin);
  auto q = connect("203.0.113.10", 8080, "curl", "www.example");
  q.taggedPvd = f.id("cell");
  auto d = f.decide(q);
  EXPECT_EQ(d.step, Step::StrictPin);
  EXPECT_TRUE(d.strict);
  ASSERT_EQ(d.count, 1);
  EXPECT_EQ(d.pvds[0], f.id("wifi"));
  auto g = make({{std::string(kBase) + R"(
[[rule]]
app = "curl"
pvd = ["corp", "wifi"]
strict = true
)",
                  Layer::System}});
  auto r = connect("203.0.113.10", 8080, "curl", "www.example");
  r.taggedPvd = g.id("cell");
  d = g.decide(r);
  EXPECT_EQ(d.step, Step::Rule);
  ASSERT_EQ(d.count, 2);
  EXPECT_EQ(d.pvds[0], g.id("corp"));
  EXPECT_EQ(d.pvds[1], g.id("wifi"));
  g.down("corp");
  g.down("wifi");
  d = g.decide(r);
  EXPECT_TRUE(d.blocked());  // strict and nothing usable: never the tag's PvD
}

TEST(Decide, RulesFirstMatchWinsInFileOrder) {
  auto f = make({{std::string(kBase) + R"(
[[rule]]
app = "curl"
port = "8000-8100"
pvd = "cell"
[[rule]]
app = "curl"
pvd = ["corp", "wifi"]
[[rule]]
dst = "10.0.0.0/8"
pvd = "wifi"
)",
                  Layer::System}});
  auto d = f.decide(connect("10.9.9.9", 8080));
  EXPECT_EQ(d.step, Step::Rule);
  EXPECT_EQ(stepNumber(d.step), 3);
  EXPECT_EQ(d.rule, 0);
  EXPECT_EQ(d.pvds[0], f.id("cell"));
  d = f.decide(connect("10.9.9.9", 443));
  EXPECT_EQ(d.rule, 1);
  ASSERT_EQ(d.count, 2);
  EXPECT_EQ(d.pvds[0], f.id("corp"));
  EXPECT_EQ(d.pvds[1], f.id("wifi"));
  d = f.decide(connect("10.9.9.9", 443, "wget"));
  EXPECT_EQ(d.rule, 2);
  EXPECT_EQ(f.policy.rules()[2].where.line, 24u);  // the [[rule]] header
  // A non-strict rule whose PvDs are all unusable falls through to the next rule.
  f.down("cell");
  d = f.decide(connect("10.9.9.9", 8080));
  EXPECT_EQ(d.rule, 1);
}

TEST(Decide, ResolveOnlyMatchesNameAndAppRules) {
  auto f = make({{std::string(kBase) + R"(
[[rule]]
app = "curl"
port = 53
pvd = "cell"
[[rule]]
app = "curl"
domain = "example.org"
pvd = "wifi"
)",
                  Layer::System}});
  auto d = f.decide(resolve("www.example.org"));
  EXPECT_EQ(d.rule, 1);
  d = f.decide(resolve("www.example.com"));
  EXPECT_TRUE(d.unmanaged());
}

// RFC 6418 5.3 item 2: the DSCP a program set on its socket chooses the PvD.
TEST(Decide, DscpRuleMatchesOnlyAKnownListedDscp) {
  auto f = make({{std::string(kBase) + R"(
[[rule]]
dscp = ["EF", "VA"]
pvd = "cell"
[[rule]]
dscp = "AF41"
port = 443
pvd = "corp"
[default]
pvd = "wifi"
)", Layer::System}});
  EXPECT_TRUE(f.policy.usesDscp());
  Query q = connect("203.0.113.5", 5060);
  q.dscp = 46;
  auto d = f.decide(q);
  EXPECT_EQ(d.step, Step::Rule);
  EXPECT_EQ(d.rule, 0);
  EXPECT_EQ(d.pvds[0], f.id("cell"));
  q.dscp = 0;  // best effort: the default
  EXPECT_EQ(f.decide(q).step, Step::Default);
  q.dscp = -1;  // unknown: no dscp rule can speak for it
  EXPECT_EQ(f.decide(q).step, Step::Default);
  q = connect("203.0.113.5", 443);
  q.dscp = 34;
  d = f.decide(q);
  EXPECT_EQ(d.rule, 1);
  EXPECT_EQ(d.pvds[0], f.id("corp"));
  q.port = 80;  // every key must match
  EXPECT_EQ(f.decide(q).step, Step::Default);
  Query r = resolve("www.example.com");
  r.dscp = 46;  // a name being resolved has no socket yet
  EXPECT_EQ(f.decide(r).step, Step::Default);
  EXPECT_FALSE(make({{kBase, Layer::System}}).policy.usesDscp());
}

TEST(Decide, StrictPinBeatsRulesButNotLocked) {
  const std::string system = std::string(kBase) + R"(
[[rule]]
app = "curl"
dst = "192.0.2.0/24"
pvd = "corp"
locked = true
)";
  const std::string user = R"(
[[rule]]
app = "curl"
pvd = "wifi"
)";
  Pin pin;
  pin.pvds = {"eth7"};  // no PvD of that name: an ad hoc PvD on interface eth7
  pin.dns = {*IpAddress::parse("192.0.2.53")};
  pin.strict = true;
  auto f = make({{system, Layer::System}, {user, Layer::User}}, pin);
  const PvdDef& adhoc = f.policy.pvds()[f.id("eth7")];
  EXPECT_TRUE(adhoc.adHoc);
  EXPECT_EQ(adhoc.interfaceGlob, "eth7");
  ASSERT_EQ(adhoc.dns.size(), 1u);
  auto d = f.decide(connect("192.0.2.1"));
  EXPECT_EQ(d.step, Step::Locked);
  EXPECT_EQ(stepNumber(d.step), 1);
  EXPECT_EQ(d.pvds[0], f.id("corp"));
  d = f.decide(connect("203.0.113.1"));
  EXPECT_EQ(d.step, Step::StrictPin);
  EXPECT_EQ(stepNumber(d.step), 2);
  EXPECT_TRUE(d.strict);
  EXPECT_EQ(d.pvds[0], f.id("eth7"));
  f.down("eth7");
  d = f.decide(connect("203.0.113.1"));
  EXPECT_TRUE(d.blocked());
}

TEST(Decide, LayersUserBeforeSystemLockedBeforeAll) {
  const std::string system = std::string(kBase) + R"(
[[rule]]
app = "curl"
pvd = "cell"
[[rule]]
app = "curl"
port = 25
pvd = "corp"
strict = true
locked = true
)";
  const std::string user = R"(
[[rule]]
app = "curl"
pvd = "wifi"
)";
  const std::string cmd = R"(
[[rule]]
app = "curl"
port = 443
pvd = "lab"
)";
  auto f = make({{system, Layer::System}, {user, Layer::User}, {cmd, Layer::CommandLine}});
  auto d = f.decide(connect("203.0.113.1", 80));
  EXPECT_EQ(d.step, Step::Rule);
  EXPECT_EQ(f.policy.rules()[static_cast<size_t>(d.rule)].layer, Layer::User);
  EXPECT_EQ(d.pvds[0], f.id("wifi"));
  d = f.decide(connect("203.0.113.1", 443));
  EXPECT_EQ(f.policy.rules()[static_cast<size_t>(d.rule)].layer, Layer::CommandLine);
  d = f.decide(connect("203.0.113.1", 25));
  EXPECT_EQ(d.step, Step::Locked);
  EXPECT_TRUE(d.strict);
  f.down("corp");  // a strict locked rule with nothing usable blocks
  d = f.decide(connect("203.0.113.1", 25));
  EXPECT_TRUE(d.blocked());
  EXPECT_EQ(d.step, Step::Locked);

  Explanation e;
  f.policy.decide(connect("203.0.113.1", 25), View{f.states}, &e);
  ASSERT_GE(e.matches.size(), 3u);
  EXPECT_TRUE(e.matches[0].won);
  EXPECT_EQ(e.matches[0].step, Step::Locked);
  EXPECT_FALSE(e.matches[1].won);
  EXPECT_NE(e.matches[1].why.find("lost to locked rule"), std::string::npos) << e.matches[1].why;
}

}  // namespace
}  // namespace mif::policy
