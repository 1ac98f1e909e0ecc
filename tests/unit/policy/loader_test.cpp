// Parsing, and every validation problem of issue 2 with its exact line and column.
#include <gtest/gtest.h>

#include "mif/policy/loader.h"
#include "mif/policy/policy.h"

namespace mif::policy {
namespace {

LoadResult load(std::string_view text, Layer layer = Layer::User) {
  return loadString(text, "p.toml", layer);
}

// The diagnostics as "LINE:COL: severity: message" lines.
std::vector<std::string> lines(const std::vector<Diagnostic>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.format().substr(std::string("p.toml:").size()));
  return out;
}

// Exactly one diagnostic, at line:col, whose message contains `text`.
void expectOne(const LoadResult& r, uint32_t line, uint32_t col, const std::string& text,
               Severity sev = Severity::Error) {
  ASSERT_EQ(r.diagnostics.size(), 1u) << testing::PrintToString(lines(r.diagnostics));
  const Diagnostic& d = r.diagnostics[0];
  EXPECT_EQ(d.line, line) << d.format();
  EXPECT_EQ(d.column, col) << d.format();
  EXPECT_EQ(d.severity, sev) << d.format();
  EXPECT_NE(d.message.find(text), std::string::npos) << d.format();
}

TEST(Loader, ReadsEveryKey) {
  auto r = load(R"(# comment
[pvd.corp]
interface = "tun0"
dns = ["198.51.100.53", "2001:db8::53"]
domains = ["Corp.Example.", "lab.corp.example"]
prefixes = ["10.0.0.0/8", "2001:db8:c::/48"]
source = ["2001:db8:1::/64"]

[[rule]]
domain = "intranet.example"
dst = "203.0.113.0/24"
port = "8000-8100"
proto = "udp"
app = "curl"
pvd = ["corp"]
strict = true

[[rule]]
port = 443
pvd = "corp"

[default]
pvd = "corp"
strict = false
)");
  ASSERT_TRUE(r.ok()) << testing::PrintToString(lines(r.diagnostics));
  ASSERT_EQ(r.doc.pvds.size(), 1u);
  const PvdDef& p = r.doc.pvds[0];
  EXPECT_EQ(p.name, "corp");
  EXPECT_EQ(p.interfaceGlob, "tun0");
  ASSERT_EQ(p.dns.size(), 2u);
  EXPECT_EQ(p.dns[1].toString(), "2001:db8::53");
  EXPECT_EQ(p.domains, (std::vector<std::string>{"corp.example", "lab.corp.example"}));
  EXPECT_EQ(p.prefixes[0].toString(), "10.0.0.0/8");
  EXPECT_EQ(p.prefixes[1].toString(), "2001:db8:c::/48");
  EXPECT_EQ(p.source[0].toString(), "2001:db8:1::/64");
  EXPECT_EQ(p.where.line, 2u);
  ASSERT_EQ(r.doc.rules.size(), 2u);
  const RuleDef& a = r.doc.rules[0];
  EXPECT_EQ(*a.domain, "intranet.example");
  EXPECT_EQ(a.dst->toString(), "203.0.113.0/24");
  EXPECT_EQ(a.port->lo, 8000);
  EXPECT_EQ(a.port->hi, 8100);
  EXPECT_EQ(a.proto, Proto::Udp);
  EXPECT_EQ(*a.app, "curl");
  EXPECT_EQ(a.pvd, std::vector<std::string>{"corp"});
  EXPECT_TRUE(a.strict);
  EXPECT_EQ(a.where.line, 9u);
  EXPECT_EQ(a.where.column, 1u);
  EXPECT_EQ(r.doc.rules[1].port->lo, 443);
  EXPECT_EQ(r.doc.rules[1].port->hi, 443);
  ASSERT_TRUE(r.doc.defaults);
  EXPECT_EQ(r.doc.defaults->pvd, std::vector<std::string>{"corp"});
}

TEST(Loader, SyntaxError) {
  auto r = load("[pvd.wifi]\ninterface = \"wl*\nx = 1\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics[0].line, 2u);
}

TEST(Loader, UnknownKeyWithSuggestion) {
  expectOne(load("[pvd.wifi]\ninterface = \"wl*\"\ndomain = [\"a.example\"]\n"), 3, 1,
            "unknown key 'domain' in pvd.wifi; did you mean 'domains'?");
  expectOne(load("[[rule]]\npvd = \"x\"\n  stirct = true\n"), 3, 3, "did you mean 'strict'?");
  expectOne(load("[[rules]]\npvd = \"x\"\n"), 1, 3, "did you mean 'rule'?");
  auto r = load("[[rule]]\npvd = \"x\"\nbanana = 1\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].message.find("did you mean"), std::string::npos);
}

TEST(Loader, WrongTypes) {
  expectOne(load("[[rule]]\npvd = \"x\"\nport = true\n"), 3, 8, "'port' must be an integer");
  expectOne(load("[[rule]]\npvd = \"x\"\nstrict = \"yes\"\n"), 3, 10, "'strict' must be true or false");
  expectOne(load("[pvd.a]\ninterface = 7\n"), 2, 13, "'interface' must be a string");
  expectOne(load("[pvd.a]\ninterface = \"a\"\ndns = [\"192.0.2.1\", 53]\n"), 3, 21,
            "each element of 'dns' must be a string");
  expectOne(load("[rule]\npvd = \"x\"\n"), 1, 1, "write [[rule]], not [rule]");
  expectOne(load("pvd = 3\n"), 1, 7, "'pvd' must be a table");
}

// [failover] attempt_delay_ms: RFC 8305's connection attempt delay, 100 ms - 2 s, 250 by
// default; the last layer that sets it wins.
TEST(Loader, AttemptDelayWithinRfc8305Bounds) {
  auto ok = load("[failover]\nattempt_delay_ms = 400\n");
  ASSERT_TRUE(ok.diagnostics.empty()) << testing::PrintToString(lines(ok.diagnostics));
  ASSERT_TRUE(ok.doc.failover && ok.doc.failover->attemptDelayMs);
  EXPECT_EQ(*ok.doc.failover->attemptDelayMs, 400u);
  expectOne(load("[failover]\nattempt_delay_ms = 99\n"), 2, 20, "attempt_delay_ms 99 is outside 100-2000");
  expectOne(load("[failover]\n  attempt_delay_ms = 2001\n"), 2, 22, "outside 100-2000 (RFC 8305");
  expectOne(load("[failover]\nattempt_delay_ms = \"250ms\"\n"), 2, 20,
            "'attempt_delay_ms' must be an integer (milliseconds), not a string");
  expectOne(load("[failover]\nattempt_dely_ms = 250\n"), 2, 1, "did you mean 'attempt_delay_ms'?");
  expectOne(load("failover = 1\n"), 1, 12, "'failover' must be a table");

  auto compiled = [](std::vector<std::string> texts) {
    std::vector<PolicyDoc> docs;
    Layer layer = Layer::System;
    for (const auto& t : texts) {
      docs.push_back(loadString(t, "p.toml", layer).doc);
      layer = static_cast<Layer>(static_cast<int>(layer) + 1);
    }
    auto c = Policy::compile(std::move(docs), Pin{});
    return c.policy ? c.policy->attemptDelayMs() : 0u;
  };
  EXPECT_EQ(compiled({""}), 250u);
  EXPECT_EQ(compiled({"[failover]\nattempt_delay_ms = 1000\n", ""}), 1000u);
  EXPECT_EQ(compiled({"[failover]\nattempt_delay_ms = 1000\n", "[failover]\nattempt_delay_ms = 150\n"}), 150u);
}

// [pvd.NAME] probe: true (the PvD's DNS servers), a target "ADDRESS:PORT" or a list of
// them, as `mif probe --target` takes it; probe_interval_ms 1 s - 1 h, 30 s by default.
TEST(Loader, ProbeKey) {
  auto ok = load("[pvd.w]\ninterface = \"w0\"\nprobe = [\"203.0.113.10:80\", \"[2001:db8::1]:443\"]\n"
                 "probe_interval_ms = 2000\n");
  ASSERT_TRUE(ok.diagnostics.empty()) << testing::PrintToString(lines(ok.diagnostics));
  ASSERT_TRUE(ok.doc.pvds.at(0).probe);
  const ProbeDef& d = *ok.doc.pvds[0].probe;
  ASSERT_EQ(d.targets.size(), 2u);
  EXPECT_EQ(d.targets[0].toString(), "203.0.113.10:80");
  EXPECT_EQ(d.targets[1].toString(), "[2001:db8::1]:443");
  EXPECT_EQ(d.intervalMs, 2000u);

  auto dns = load("[pvd.w]\ninterface = \"w0\"\nprobe = true\n");
  ASSERT_TRUE(dns.diagnostics.empty()) << testing::PrintToString(lines(dns.diagnostics));
  ASSERT_TRUE(dns.doc.pvds.at(0).probe);
  EXPECT_TRUE(dns.doc.pvds[0].probe->targets.empty());
  EXPECT_EQ(dns.doc.pvds[0].probe->intervalMs, 30000u);
  auto none = load("[pvd.w]\ninterface = \"w0\"\nprobe = false\n");
  ASSERT_TRUE(none.diagnostics.empty());
  EXPECT_FALSE(none.doc.pvds.at(0).probe);
  EXPECT_FALSE(load("[pvd.w]\ninterface = \"w0\"\n").doc.pvds.at(0).probe);

  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe = \"www.example:80\"\n"), 3, 9,
            "probe target 'www.example:80': 'www.example' is not an IP address");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe = [\"192.0.2.1:80\", \"192.0.2.2\"]\n"), 3, 26,
            "probe target '192.0.2.2': expected ADDRESS:PORT");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe = \"2001:db8::1:80\"\n"), 3, 9,
            "an IPv6 target is written [ADDRESS]:PORT");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe = \"192.0.2.1:0\"\n"), 3, 9, "port '0' is not 1-65535");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe = 80\n"), 3, 9,
            "'probe' must be true, or a target \"ADDRESS:PORT\" or a list of them, not an integer");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe = []\n"), 3, 9, "'probe' lists no target");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe = true\nprobe_interval_ms = 999\n"), 4, 21,
            "probe_interval_ms 999 is outside 1000-3600000");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe = true\nprobe_interval_ms = 3600001\n"), 4, 21,
            "outside 1000-3600000");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe = true\nprobe_interval_ms = \"30s\"\n"), 4, 21,
            "'probe_interval_ms' must be an integer (milliseconds), not a string");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe_interval_ms = 5000\n"), 3, 21,
            "probe_interval_ms without 'probe' in pvd.w");
  expectOne(load("[pvd.w]\ninterface = \"w0\"\nprobe_intervl_ms = 5000\n"), 3, 1,
            "did you mean 'probe_interval_ms'?");

  // Part of the definition: a later layer repeating the PvD must repeat its probe too.
  std::vector<PolicyDoc> docs;
  docs.push_back(loadString("[pvd.w]\ninterface = \"w0\"\nprobe = true\n", "s.toml", Layer::System).doc);
  docs.push_back(loadString("[pvd.w]\ninterface = \"w0\"\n", "u.toml", Layer::User).doc);
  auto c = Policy::compile(std::move(docs), Pin{});
  ASSERT_FALSE(c.diagnostics.empty());
  EXPECT_NE(c.diagnostics[0].message.find("is already defined at s.toml:1"), std::string::npos)
      << c.diagnostics[0].format();
}

TEST(Loader, BadPrefixes) {
  expectOne(load("[[rule]]\npvd = \"x\"\ndst = \"10.0.0.0/33\"\n"), 3, 7,
            "prefix length 33 is longer than the 32 bits of an IPv4 address");
  expectOne(load("[[rule]]\npvd = \"x\"\ndst = \"2001:db8::/129\"\n"), 3, 7, "longer than the 128 bits");
  expectOne(load("[[rule]]\npvd = \"x\"\ndst = \"10.0.0/8\"\n"), 3, 7, "is not an IPv4 or IPv6 address");
  expectOne(load("[pvd.a]\ninterface = \"a\"\nprefixes = [\"10.0.0.0/8\", \"10.0.0.0/x\"]\n"), 3, 27,
            "must be a number");
  // Host bits set: a warning, and the prefix is read with them cleared.
  auto r = load("[pvd.a]\ninterface = \"a\"\nprefixes = [\"10.1.2.3/8\"]\n");
  expectOne(r, 3, 13, "has host bits set; it means 10.0.0.0/8", Severity::Warning);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.doc.pvds[0].prefixes[0].toString(), "10.0.0.0/8");
}

TEST(Loader, BadDnsNames) {
  expectOne(load("[[rule]]\npvd = \"x\"\ndomain = \"bad..example\"\n"), 3, 10, "empty label");
  expectOne(load("[[rule]]\npvd = \"x\"\ndomain = \"-a.example\"\n"), 3, 10, "starts or ends with '-'");
  expectOne(load("[pvd.a]\ninterface = \"a\"\ndomains = [\"ok.example\", \"sp ace.example\"]\n"), 3, 26,
            "character ' ' is not allowed");
  expectOne(load("[[rule]]\npvd = \"x\"\ndomain = \"*.corp.example\"\n"), 3, 10, "write 'corp.example'");
  expectOne(load("[[rule]]\npvd = \"x\"\ndomain = \"" + std::string(64, 'a') + ".example\"\n"), 3, 10,
            "longer than 63");
}

TEST(Loader, PortRanges) {
  expectOne(load("[[rule]]\npvd = \"x\"\nport = \"8100-8000\"\n"), 3, 8, "out of order");
  expectOne(load("[[rule]]\npvd = \"x\"\nport = \"0-10\"\n"), 3, 8, "outside 1-65535");
  expectOne(load("[[rule]]\npvd = \"x\"\nport = 65536\n"), 3, 8, "outside 1-65535");
  expectOne(load("[[rule]]\npvd = \"x\"\nport = \"http\"\n"), 3, 8, "is not a port");
  expectOne(load("[[rule]]\npvd = \"x\"\nproto = \"sctp\"\n"), 3, 9, "must be \"tcp\" or \"udp\"");
}

TEST(Loader, Dscp) {
  auto r = load("[[rule]]\npvd = \"x\"\ndscp = [\"ef\", \"AF41\", 8, \"10\"]\n");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.doc.rules[0].dscp);
  EXPECT_EQ(*r.doc.rules[0].dscp, (uint64_t{1} << 46) | (uint64_t{1} << 34) | (uint64_t{1} << 8) | (uint64_t{1} << 10));
  r = load("[[rule]]\npvd = \"x\"\ndscp = \"LE\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.doc.rules[0].dscp, uint64_t{1} << 1);
  expectOne(load("[[rule]]\npvd = \"x\"\ndscp = 64\n"), 3, 8, "dscp 64 is outside 0-63");
  expectOne(load("[[rule]]\npvd = \"x\"\ndscp = [\"EF\", \"AF44\"]\n"), 3, 15,
            "dscp 'AF44' is not 0-63 or a class name");
  expectOne(load("[[rule]]\npvd = \"x\"\ndscp = 4.5\n"), 3, 8, "'dscp' must be a DSCP");
  expectOne(load("[[rule]]\npvd = \"x\"\ndscp = []\n"), 3, 8, "'dscp' lists no value");
  expectOne(load("[[rule]]\npvd = \"x\"\ndscq = 46\n"), 3, 1, "did you mean 'dscp'?");
  EXPECT_EQ(parseDscp("cs6"), 48);
  EXPECT_EQ(parseDscp("VA"), 44);
  EXPECT_EQ(parseDscp("063"), -1);
  EXPECT_EQ(dscpName(46), "EF");
  EXPECT_EQ(dscpName(0), "DF");
  EXPECT_EQ(dscpName(13), "13");
}

TEST(Loader, LockedOnlyInSystemLayer) {
  const char* text = "[[rule]]\napp = \"curl\"\npvd = \"x\"\nlocked = true\n";
  expectOne(load(text, Layer::User), 4, 1, "'locked' is only allowed in the system policy");
  expectOne(load(text, Layer::CommandLine), 4, 1, "not in the command line layer");
  auto r = load(text, Layer::System);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.doc.rules[0].locked);
}

TEST(Loader, InterfaceGlobsThatCannotMatch) {
  expectOne(load("[pvd.a]\ninterface = \"abcdefghijklmnop\"\n"), 2, 13, "at most 15 characters");
  expectOne(load("[pvd.a]\ninterface = \"eth/0\"\n"), 2, 13, "cannot contain '/'");
  expectOne(load("[pvd.a]\ninterface = \"eth 0\"\n"), 2, 13, "cannot contain whitespace");
  expectOne(load("[pvd.a]\ninterface = \"..\"\n"), 2, 13, "not a valid interface name");
  expectOne(load("[pvd.a]\ninterface = \"wl[/:]\"\n"), 2, 13, "holds only characters");
  expectOne(load("[pvd.a]\ninterface = \"\"\n"), 2, 13, "matches no interface");
  // Globs that can match: '*' counts for nothing, a set for one character.
  EXPECT_TRUE(load("[pvd.a]\ninterface = \"wlp*s0-with-a-long-tail*\"\n").diagnostics.size() == 1);
  EXPECT_TRUE(load("[pvd.a]\ninterface = \"wl*\"\n").ok());
  EXPECT_TRUE(load("[pvd.a]\ninterface = \"e[nt]h?\"\n").ok());
  EXPECT_TRUE(load("[pvd.a]\ninterface = \"abcdefghijklmno*\"\n").ok());
  expectOne(load("[pvd.a]\n"), 1, 6, "has no 'interface'");
}

// RFC 8801: a PvD named by the ID its router announced needs no interface.
TEST(Loader, ExplicitPvdId) {
  auto r = load("[pvd.corp]\nid = \"Corp.Example.COM.\"\n");
  ASSERT_TRUE(r.ok()) << lines(r.diagnostics).at(0);
  ASSERT_EQ(r.doc.pvds.size(), 1u);
  EXPECT_EQ(r.doc.pvds[0].explicitId, "corp.example.com");
  EXPECT_EQ(r.doc.pvds[0].interfaceGlob, "");
  EXPECT_TRUE(load("[pvd.corp]\nid = \"corp.example.com\"\ninterface = \"eth*\"\n").ok());
  expectOne(load("[pvd.corp]\nid = \"corp..example\"\n"), 2, 6, "id: ");
  expectOne(load("[pvd.corp]\nid = 3\n"), 2, 6, "an RFC 8801 PvD ID");
}

TEST(Loader, PvdListsBoundedAndUnique) {
  std::string many = "[[rule]]\npvd = [";
  for (size_t i = 0; i <= kMaxListed; ++i) many += "\"p" + std::to_string(i) + "\",";
  many += "]\n";
  expectOne(load(many), 2, 7, "at most 16");
  expectOne(load("[[rule]]\npvd = [\"a\", \"a\"]\n"), 2, 13, "listed twice");
  expectOne(load("[[rule]]\npvd = []\n"), 2, 7, "lists no PvD");
  expectOne(load("[[rule]]\napp = \"curl\"\n"), 1, 1, "rule has no 'pvd'");
  expectOne(load("[[rule]]\npvd = \"x\"\napp = \"/usr/bin/curl\"\n"), 3, 7, "base name");
}

TEST(Loader, PvdsKeepFileOrder) {
  auto r = load("[pvd.zeta]\ninterface = \"a\"\n[pvd.alpha]\ninterface = \"b\"\n");
  ASSERT_EQ(r.doc.pvds.size(), 2u);
  EXPECT_EQ(r.doc.pvds[0].name, "zeta");
  EXPECT_EQ(r.doc.pvds[1].name, "alpha");
}

TEST(Loader, EveryProblemInOneRun) {
  auto r = load(R"([pvd.a]
interface = "eth/0"
prefixes = ["10.0.0.0/33"]

[[rule]]
dst = "300.0.0.1"
port = "9-1"
pvd = "a"
locked = true
colour = "blue"
)");
  EXPECT_EQ(lines(r.diagnostics),
            (std::vector<std::string>{
                "2:13: error: interface 'eth/0' can never match: interface names cannot contain '/'",
                "3:13: error: '10.0.0.0/33': prefix length 33 is longer than the 32 bits of an IPv4 address",
                "6:7: error: '300.0.0.1': '300.0.0.1' is not an IPv4 or IPv6 address",
                "7:8: error: port range '9-1' is out of order (9 > 1)",
                "9:1: error: 'locked' is only allowed in the system policy (/etc/mif/policy.toml), not in the user layer",
                "10:1: error: unknown key 'colour' in [[rule]]",
            }));
}

TEST(Loader, CodePointsTomlPlusPlusMisreadsNeverReachIt) {
  // toml++ 3.3.0 reaches __builtin_unreachable() on these (found by the fuzzer).
  expectOne(load("[pvd\xcf\x9corp]\n"), 1, 5, "character U+03DC is not allowed here");
  expectOne(load("s = \"\"\"\\\n\xc2\xa7\"\"\"\n"), 2, 1, "write it as the escape \\u00A7");
  expectOne(load("a = 1\nb = 2\nc = 192.168.1.0/'2b8\xef\xbb\xbd:1::/64\"\n"), 3, 7, "");
  expectOne(load("[[rule]]\napp = 'caf\xc3\xa9'\npvd = \"x\"\n"), 2, 11, "U+00E9");
  // In comments they are harmless; escaped, they are fine in strings; others are fine.
  auto r = load("# caf\xc3\xa9\n[[rule]]\napp = \"caf\\u00e9-\xe6\x97\xa5\"\npvd = \"x\"\n");
  EXPECT_TRUE(r.ok()) << testing::PrintToString(lines(r.diagnostics));
  EXPECT_EQ(*r.doc.rules[0].app, "caf\xc3\xa9-\xe6\x97\xa5");
}

// A file without a byte >= 0x80 skips the code-point guard; one anywhere (in a word of
// eight or in the tail after the last whole word) still goes through it.
TEST(Loader, CodePointGuardSeesANonAsciiByteAtEveryOffset) {
  for (size_t pad = 0; pad < 17; ++pad) {
    const std::string comment = "#" + std::string(pad, 'x') + "\n";
    expectOne(load(comment + "[[rule]]\napp = '\xc3\xa9'"), 3, 8, "U+00E9");
    expectOne(load(comment + "[pvd\xcf\x9c]"), 2, 5, "character U+03DC is not allowed here");
  }
  auto r = load("[[rule]]\napp = 'cafe'\npvd = \"x\"\n");
  EXPECT_TRUE(r.ok()) << testing::PrintToString(lines(r.diagnostics));
}

TEST(Compile, ReferencesAgainstMergedLayers) {
  auto sys = loadString("[pvd.corp]\ninterface = \"tun0\"\n", "sys.toml", Layer::System);
  auto user = loadString("[[rule]]\napp = \"curl\"\npvd = [\"corp\", \"wfi\"]\n[pvd.wifi]\ninterface = \"wl*\"\n",
                         "user.toml", Layer::User);
  auto c = Policy::compile({sys.doc, user.doc}, Pin{});
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].format(),
            "user.toml:3:7: error: rule names unknown PvD 'wfi'; did you mean 'wifi'?");
  auto ok = loadString("[[rule]]\napp = \"curl\"\npvd = \"corp\"\n", "user.toml", Layer::User);
  EXPECT_TRUE(Policy::compile({sys.doc, ok.doc}, Pin{}).policy.has_value());
  // Alone, the user file names a PvD nobody defines.
  EXPECT_FALSE(Policy::compile({ok.doc}, Pin{}).policy.has_value());
}

// A rule (or [default]) may name an explicit PvD by its RFC 8801 ID: the table whose `id`
// it is, else a PvD made for that ID alone, once however often and however spelt.
TEST(Compile, RulesNameAnExplicitPvdByItsIdentity) {
  auto sys = loadString("[pvd.corp]\nid = \"corp.example.com\"\n", "sys.toml", Layer::System);
  auto user = loadString(
      "[[rule]]\ndomain = \"corp.example\"\npvd = [\"Corp.Example.COM.\", \"wifi\"]\n"
      "[[rule]]\napp = \"curl\"\npvd = \"guest.example.net\"\n"
      "[[rule]]\ndst = \"2001:db8::/32\"\npvd = \"GUEST.example.net\"\n"
      "[pvd.wifi]\ninterface = \"wl*\"\n[default]\npvd = [\"wifi\", \"guest.example.net\"]\n",
      "user.toml", Layer::User);
  ASSERT_TRUE(user.ok()) << lines(user.diagnostics).at(0);
  auto c = Policy::compile({sys.doc, user.doc}, Pin{});
  ASSERT_TRUE(c.policy) << c.diagnostics.at(0).format();
  const auto& pvds = c.policy->pvds();
  // The table with that id is the rule's first PvD: no second PvD for corp.example.com.
  auto corp = c.policy->findPvd("corp");
  ASSERT_TRUE(corp);
  EXPECT_FALSE(c.policy->findPvd("Corp.Example.COM."));
  // guest.example.net: one PvD for the rules and the default, bound by ID on any interface.
  auto guest = c.policy->findPvd("guest.example.net");
  ASSERT_TRUE(guest);
  EXPECT_EQ(pvds[*guest].explicitId, "guest.example.net");
  EXPECT_EQ(pvds[*guest].interfaceGlob, "");
  EXPECT_TRUE(pvds[*guest].byIdentity);
  EXPECT_FALSE(pvds[*guest].adHoc);
  EXPECT_EQ(pvds[*guest].layer, Layer::User);
  EXPECT_EQ(pvds[*guest].where.line, 6u);
  EXPECT_EQ(pvds.size(), 3u);  // corp, wifi, guest.example.net
  // The decisions name them: a name under corp.example goes to corp, then wifi.
  std::vector<PvdState> up(pvds.size(), PvdState{true, true, true});
  View view{up};
  Query q;
  q.kind = Query::Kind::Resolve;
  q.name = "wiki.corp.example";
  Decision d = c.policy->decide(q, view);
  ASSERT_GE(d.count, 2u);
  EXPECT_EQ(d.pvds[0], *corp);
  EXPECT_EQ(d.pvds[1], *c.policy->findPvd("wifi"));
  q = Query{};
  q.kind = Query::Kind::Resolve;
  q.name = "www.example.org";
  q.app = "curl";
  d = c.policy->decide(q, view);
  ASSERT_GE(d.count, 1u);
  EXPECT_EQ(d.pvds[0], *guest);
  // A pin by ID finds the table that has it.
  Pin pin;
  pin.pvds = {"CORP.example.com"};
  auto pinned = Policy::compile({sys.doc}, pin);
  ASSERT_TRUE(pinned.policy);
  EXPECT_EQ(pinned.policy->pvds().size(), 1u);
}

TEST(Compile, ANameThatIsNeitherAPvdNorAnIdIsAnErrorAtItsPlace) {
  auto user = loadString("[pvd.wifi]\ninterface = \"wl*\"\n[[rule]]\npvd = [\"wifi\", \"corp..example\"]\n",
                         "user.toml", Layer::User);
  auto c = Policy::compile({user.doc}, Pin{});
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].format().rfind("user.toml:4:7: error: rule names unknown PvD 'corp..example', nor a PvD ID: ", 0), 0u)
      << c.diagnostics[0].format();
  auto noDot = loadString("[default]\npvd = \"corp\"\n", "user.toml", Layer::User);
  c = Policy::compile({noDot.doc}, Pin{});
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].format(), "user.toml:2:7: error: [default] names unknown PvD 'corp'");
}

TEST(Compile, PvdRedefinedDifferentlyInAnotherLayer) {
  auto sys = loadString("[pvd.corp]\ninterface = \"tun0\"\n", "sys.toml", Layer::System);
  auto same = loadString("[pvd.corp]\ninterface = \"tun0\"\n", "user.toml", Layer::User);
  auto other = loadString("\n[pvd.corp]\ninterface = \"tun1\"\n", "user.toml", Layer::User);
  EXPECT_TRUE(Policy::compile({sys.doc, same.doc}, Pin{}).policy.has_value());
  auto c = Policy::compile({sys.doc, other.doc}, Pin{});
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].line, 2u);
  EXPECT_NE(c.diagnostics[0].message.find("already defined at sys.toml:1"), std::string::npos);
}

TEST(Compile, PinNames) {
  auto sys = loadString("[pvd.corp]\ninterface = \"tun0\"\n", "sys.toml", Layer::System);
  Pin pin;
  pin.pvds = {"corp", "eth0"};
  auto c = Policy::compile({sys.doc}, pin);
  ASSERT_TRUE(c.policy);
  EXPECT_FALSE(c.policy->pvds()[*c.policy->findPvd("corp")].adHoc);
  EXPECT_TRUE(c.policy->pvds()[*c.policy->findPvd("eth0")].adHoc);
  pin.pvds = {"not/an/interface"};
  c = Policy::compile({sys.doc}, pin);
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_NE(c.diagnostics[0].message.find("not a valid interface name"), std::string::npos);
}

TEST(Diagnostic, Formats) {
  Diagnostic d{Severity::Warning, "a \"b\".toml", 3, 7, "x\ny"};
  EXPECT_EQ(d.format(), "a \"b\".toml:3:7: warning: x\ny");
  EXPECT_EQ(d.toJson(),
            "{\"file\":\"a \\\"b\\\".toml\",\"line\":3,\"column\":7,\"severity\":\"warning\",\"message\":\"x\\ny\"}");
}

}  // namespace
}  // namespace mif::policy
