// The compiled matchers against brute-force references on random data, and the indexed
// decide() against the scanning (explained) one on random policies.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "matchers.h"
#include "mif/policy/loader.h"
#include "mif/policy/policy.h"

namespace mif::policy {
namespace {

IpAddress randomAddress(std::mt19937& rng, Family f) {
  IpAddress a;
  a.family = f;
  // Few distinct leading bytes, so that random prefixes nest and share paths.
  for (size_t i = 0; i < (f == Family::V4 ? 4u : 16u); ++i)
    a.bytes[i] = static_cast<uint8_t>(i < 2 ? rng() % 3 : rng() % 256);
  return a;
}

Prefix randomPrefix(std::mt19937& rng, Family f) {
  IpAddress a = randomAddress(rng, f);
  unsigned bits = a.bitLength();
  unsigned len = rng() % 4 == 0 ? rng() % (bits + 1) : rng() % 24;
  auto r = Prefix::parse(a.toString() + "/" + std::to_string(len));
  return *r.prefix;
}

TEST(Address, ParseAndFormat) {
  EXPECT_EQ(IpAddress::parse("192.0.2.1")->toString(), "192.0.2.1");
  EXPECT_FALSE(IpAddress::parse("192.0.2"));
  EXPECT_FALSE(IpAddress::parse("192.0.2.256"));
  EXPECT_FALSE(IpAddress::parse("192.0.2.01"));  // leading zeros read as octal elsewhere
  EXPECT_FALSE(IpAddress::parse("1.2.3.4 "));
  EXPECT_EQ(IpAddress::parse("2001:DB8:0:0:1:0:0:1")->toString(), "2001:db8::1:0:0:1");
  EXPECT_EQ(IpAddress::parse("::")->toString(), "::");
  EXPECT_EQ(IpAddress::parse("::1")->toString(), "::1");
  EXPECT_EQ(IpAddress::parse("1::")->toString(), "1::");
  EXPECT_EQ(IpAddress::parse("1:0:1:0:1:0:1:0")->toString(), "1:0:1:0:1:0:1:0");
  EXPECT_EQ(IpAddress::parse("::ffff:192.0.2.1")->toString(), "::ffff:192.0.2.1");
  EXPECT_EQ(IpAddress::parse("::ffff:192.0.2.1")->unmapped().toString(), "192.0.2.1");
  EXPECT_EQ(IpAddress::parse("64:ff9b::192.0.2.1")->toString(), "64:ff9b::c000:201");
  for (const char* bad : {":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
                          "12345::", "g::", "1:2:3:4:5:6:7:8::", "::1.2.3", "fe80::1%eth0", ""})
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  EXPECT_EQ(Prefix::parse("10.0.0.0/8").prefix->toString(), "10.0.0.0/8");
  EXPECT_EQ(Prefix::parse("2001:db8::1").prefix->length, 128);
  EXPECT_TRUE(Prefix::parse("10.0.0.1/8").hostBitsSet);
  EXPECT_FALSE(Prefix::parse("10.0.0.0/8").hostBitsSet);
  EXPECT_FALSE(Prefix::parse("10.0.0.0/").prefix);
  EXPECT_FALSE(Prefix::parse("10.0.0.0/-1").prefix);
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0").prefix->contains(*IpAddress::parse("203.0.113.1")));
  EXPECT_FALSE(Prefix::parse("0.0.0.0/0").prefix->contains(*IpAddress::parse("2001:db8::1")));
}

// Prefix::parse clears host bits a byte at a time; the reference clears them bit by bit.
TEST(Address, HostBitsAgainstBitByBit) {
  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {
    IpAddress a;
    a.family = i % 2 ? Family::V6 : Family::V4;
    const unsigned bits = a.bitLength();
    for (size_t b = 0; b < bits / 8; ++b) a.bytes[b] = static_cast<uint8_t>(rng() % 3 ? rng() : 0);
    const unsigned len = rng() % (bits + 1);
    IpAddress want = a;
    bool wantHost = false;
    for (unsigned k = len; k < bits; ++k)
      if (a.bit(k)) {
        wantHost = true;
        want.bytes[k / 8] = static_cast<uint8_t>(want.bytes[k / 8] & ~(0x80u >> (k % 8)));
      }
    auto r = Prefix::parse(a.toString() + "/" + std::to_string(len));
    ASSERT_TRUE(r.prefix) << a.toString() << "/" << len;
    EXPECT_EQ(r.hostBitsSet, wantHost) << a.toString() << "/" << len;
    EXPECT_EQ(r.prefix->addr, want) << a.toString() << "/" << len;
    EXPECT_EQ(r.prefix->length, len);
  }
}

TEST(Address, RandomRoundTrip) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    IpAddress a;
    a.family = Family::V6;
    for (auto& b : a.bytes) b = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : 0);
    auto back = IpAddress::parse(a.toString());
    ASSERT_TRUE(back) << a.toString();
    ASSERT_EQ(*back, a) << a.toString();
  }
}

TEST(PrefixTrie, MatchesBruteForce) {
  for (Family f : {Family::V4, Family::V6}) {
    std::mt19937 rng(f == Family::V4 ? 1 : 2);
    detail::PrefixTrie trie;
    std::vector<Prefix> prefixes;
    for (uint32_t i = 0; i < 3000; ++i) {
      Prefix p = randomPrefix(rng, f);
      prefixes.push_back(p);
      trie.insert(p, i);
    }
    trie.finish();
    for (int q = 0; q < 5000; ++q) {
      IpAddress a = randomAddress(rng, f);
      // Reference: the ids of every prefix containing a, by length, in insertion order.
      std::map<unsigned, std::vector<uint32_t>> want;
      for (uint32_t i = 0; i < prefixes.size(); ++i)
        if (prefixes[i].contains(a)) want[prefixes[i].length].push_back(i);
      std::array<uint32_t, detail::PrefixTrie::kMaxPath> nodes;
      int n = trie.collect(a, nodes);
      std::map<unsigned, std::vector<uint32_t>> got;
      unsigned last = 0;
      for (int k = 0; k < n; ++k) {
        unsigned len = trie.length(nodes[static_cast<size_t>(k)]);
        if (k > 0) {
          ASSERT_GT(len, last);  // shortest first
        }
        last = len;
        auto ids = trie.ids(nodes[static_cast<size_t>(k)]);
        got[len].assign(ids.begin(), ids.end());
      }
      ASSERT_EQ(got, want) << a.toString();
    }
  }
}

TEST(DomainIndex, MatchesBruteForce) {
  std::mt19937 rng(3);
  const char* labels[] = {"a", "b", "corp", "example", "x-y", "lab"};
  auto randomName = [&](int maxLabels) {
    std::string s;
    int n = 1 + static_cast<int>(rng() % static_cast<unsigned>(maxLabels));
    for (int i = 0; i < n; ++i) s += (i ? "." : "") + std::string(labels[rng() % 6]);
    return s;
  };
  detail::DomainIndex index;
  std::vector<std::string> domains;
  for (uint32_t i = 0; i < 2000; ++i) {
    domains.push_back(randomName(4));
    index.insert(domains.back(), i);
  }
  index.finish();
  for (int q = 0; q < 5000; ++q) {
    std::string name = randomName(6);
    std::map<size_t, std::vector<uint32_t>> want;  // by suffix length
    for (uint32_t i = 0; i < domains.size(); ++i) {
      const std::string& d = domains[i];
      if (name == d || (name.size() > d.size() && name.compare(name.size() - d.size(), d.size(), d) == 0 &&
                        name[name.size() - d.size() - 1] == '.'))
        want[d.size()].push_back(i);
    }
    std::array<uint32_t, detail::DomainIndex::kMaxLabels> nodes;
    int n = index.collect(name, nodes);
    std::map<size_t, std::vector<uint32_t>> got;
    for (int k = 0; k < n; ++k) {
      auto ids = index.ids(nodes[static_cast<size_t>(k)]);
      got[domains[ids[0]].size()].assign(ids.begin(), ids.end());
    }
    ASSERT_EQ(got, want) << name;
  }
}

// Ids inserted in ascending order (as compile() does: the radix sort) and in a shuffled
// order (the comparison sort); every list must come out complete and in id order.
class PortIndexTest : public testing::TestWithParam<bool> {};

TEST_P(PortIndexTest, MatchesBruteForce) {
  const bool shuffled = GetParam();
  std::mt19937 rng(4);
  detail::PortIndex index;
  std::vector<PortRange> ranges;
  for (uint32_t i = 0; i < 2000; ++i) {
    uint16_t lo = static_cast<uint16_t>(1 + rng() % 65535);
    uint16_t hi = static_cast<uint16_t>(rng() % 3 == 0 ? lo : std::min<uint32_t>(65535, lo + rng() % 2000));
    ranges.push_back(PortRange{lo, hi});
  }
  std::vector<uint32_t> order(ranges.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  if (shuffled) std::shuffle(order.begin(), order.end(), rng);
  for (uint32_t i : order) index.insert(ranges[i].lo, ranges[i].hi, i);
  index.finish();
  for (int q = 0; q < 20000; ++q) {
    uint16_t port = static_cast<uint16_t>(q < 10 ? 65535 - q : 1 + rng() % 65535);
    std::vector<uint32_t> want;
    for (uint32_t i = 0; i < ranges.size(); ++i)
      if (ranges[i].contains(port)) want.push_back(i);
    std::array<std::span<const uint32_t>, detail::PortIndex::kLevels> lists;
    int n = index.collect(port, lists);
    std::vector<uint32_t> got;
    for (int k = 0; k < n; ++k) {
      auto l = lists[static_cast<size_t>(k)];
      ASSERT_TRUE(std::is_sorted(l.begin(), l.end()));
      got.insert(got.end(), l.begin(), l.end());
    }
    std::sort(got.begin(), got.end());
    ASSERT_EQ(got, want) << port;
  }
}
INSTANTIATE_TEST_SUITE_P(InsertionOrder, PortIndexTest, testing::Values(false, true));

// A random policy in TOML: PvDs with domains and prefixes, rules mixing every key, in
// three layers; random views and queries. The indexed decide() must agree with the
// scanning one on every query.
std::string randomPolicy(std::mt19937& rng, Layer layer, int rules, int pvds) {
  const char* labels[] = {"a", "corp", "example", "lab", "x"};
  auto name = [&]() {
    std::string s;
    int n = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n; ++i) s += (i ? "." : "") + std::string(labels[rng() % 5]);
    return s;
  };
  std::string t;
  if (layer == Layer::System) {
    for (int i = 0; i < pvds; ++i) {
      t += "[pvd.p" + std::to_string(i) + "]\ninterface = \"if" + std::to_string(i) + "\"\n";
      t += "domains = [\"" + name() + "\"]\n";
      t += "prefixes = [\"" + randomPrefix(rng, Family::V4).toString() + "\", \"" +
           randomPrefix(rng, Family::V6).toString() + "\"]\n";
      t += "source = [\"" + randomPrefix(rng, Family::V4).toString() + "\"]\n";
    }
    t += "[default]\npvd = [\"p0\", \"p1\"]\nstrict = " + std::string(rng() % 2 ? "true" : "false") + "\n";
  }
  for (int i = 0; i < rules; ++i) {
    t += "[[rule]]\n";
    if (rng() % 3 == 0) t += "domain = \"" + name() + "\"\n";
    if (rng() % 3 == 0) t += "dst = \"" + randomPrefix(rng, rng() % 2 ? Family::V4 : Family::V6).toString() + "\"\n";
    if (rng() % 3 == 0) {
      unsigned lo = 1 + rng() % 100;
      t += "port = \"" + std::to_string(lo) + "-" + std::to_string(lo + rng() % 20) + "\"\n";
    }
    if (rng() % 4 == 0) t += std::string("proto = \"") + (rng() % 2 ? "tcp" : "udp") + "\"\n";
    if (rng() % 5 == 0) t += "dscp = [" + std::to_string(rng() % 4) + ", " + std::to_string(rng() % 4) + "]\n";
    if (rng() % 3 == 0) t += std::string("app = \"") + (rng() % 2 ? "curl" : "wget") + "\"\n";
    unsigned a = rng() % static_cast<unsigned>(pvds);
    unsigned b = (a + 1 + rng() % static_cast<unsigned>(pvds - 1)) % static_cast<unsigned>(pvds);
    t += "pvd = [\"p" + std::to_string(a) + "\", \"p" + std::to_string(b) + "\"]\n";
    if (rng() % 4 == 0) t += "strict = true\n";
    if (layer == Layer::System && rng() % 5 == 0) t += "locked = true\n";
  }
  return t;
}

TEST(Decide, IndexedAgreesWithScanOnRandomPolicies) {
  std::mt19937 rng(5);
  for (int round = 0; round < 30; ++round) {
    const int pvds = 6;
    std::vector<PolicyDoc> docs;
    for (Layer l : {Layer::System, Layer::User, Layer::CommandLine}) {
      auto r = loadString(randomPolicy(rng, l, 40, pvds), std::string(layerName(l)) + ".toml", l);
      for (const auto& d : r.diagnostics)
        if (d.severity == Severity::Error) ADD_FAILURE() << d.format();
      docs.push_back(std::move(r.doc));
    }
    Pin pin;
    if (round % 3 == 1) pin.pvds = {"p2", "eth9"};
    pin.strict = round % 6 == 1;
    auto c = Policy::compile(std::move(docs), pin);
    for (const auto& d : c.diagnostics) ADD_FAILURE() << d.format();
    ASSERT_TRUE(c.policy);
    const Policy& p = *c.policy;
    for (int v = 0; v < 10; ++v) {
      std::vector<PvdState> states;
      for (size_t i = 0; i < p.pvds().size(); ++i) {
        bool v4 = rng() % 3 != 0, v6 = rng() % 3 != 0;
        states.push_back(PvdState{v4 || v6 || rng() % 2, v4, v6});
      }
      for (int qi = 0; qi < 200; ++qi) {
        Query q;
        q.kind = static_cast<Query::Kind>(rng() % 4);
        const char* names[] = {"", "corp", "a.corp", "x.lab.corp.example", "EXAMPLE.", "lab.x"};
        q.name = names[rng() % 6];
        if (q.kind != Query::Kind::Resolve) {
          q.hasAddress = true;
          q.address = randomAddress(rng, rng() % 2 ? Family::V4 : Family::V6);
          q.port = static_cast<uint16_t>(rng() % 130);
          q.proto = static_cast<Proto>(rng() % 3);
          q.taggedPvd = rng() % 3 == 0 ? static_cast<int>(rng() % p.pvds().size()) : -1;
          q.dscp = static_cast<int8_t>(static_cast<int>(rng() % 6) - 1);
        }
        const char* apps[] = {"", "curl", "wget"};
        q.app = apps[rng() % 3];
        View view{states};
        Decision fast = p.decide(q, view);
        Explanation e;
        Decision slow = p.decide(q, view, &e);
        ASSERT_EQ(fast.step, slow.step);
        ASSERT_EQ(fast.rule, slow.rule);
        ASSERT_EQ(fast.strict, slow.strict);
        ASSERT_EQ(fast.count, slow.count);
        for (int i = 0; i < fast.count; ++i) ASSERT_EQ(fast.pvds[static_cast<size_t>(i)], slow.pvds[static_cast<size_t>(i)]);
        int won = 0;
        for (const auto& m : e.matches) won += m.won;
        ASSERT_EQ(won, fast.unmanaged() ? 0 : 1);
      }
    }
  }
}

}  // namespace
}  // namespace mif::policy
