// The differential test of issue 6: the same names against the same dnsmasq, through
// glibc (resolv.conf pointed at it in a private mount namespace) and through mif
// (libmif.so preloaded, resolv.conf pointing at a server that does not exist), compared
// field by field over a grid of flags, families, socktypes and services. glibc's own
// freeaddrinfo frees every list in both runs (MALLOC_CHECK_ catches a wrong layout).
//
// The order compared is glibc's RFC 6724 order with the address families then interleaved
// as RFC 8305 section 4 asks (issue 30; mif::dns::interleaveFamilies applied to glibc's
// lists here): a list of one family, and every other field, must be glibc's exactly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fixture.h"
#include "mif/dns/addrinfo.h"

namespace {

const std::vector<std::string> kNames = {"www.example.test",   "www",
                                         "WWW.Example.Test",   "www.example.test.",
                                         "alias.example.test", "v4.example.test",
                                         "v6.example.test",    "multi.example.test",
                                         "nx.example.test",    "nx",
                                         "empty.example.test"};

std::vector<std::string> dnsmasqConfig() {
  return {"local=/example.test/", "local-ttl=300",
          "host-record=www.example.test,192.0.2.10,2001:db8:2::10",
          "cname=alias.example.test,www.example.test", "host-record=v4.example.test,192.0.2.11",
          "host-record=v6.example.test,2001:db8:2::11",
          // Several addresses of both families, chosen to exercise every sort rule that
          // applies within one PvD: scope, label, precedence, longest prefix. No two of
          // them tie on every rule: dnsmasq rotates its answers, and for a tie glibc keeps
          // the order of each response while mif's cache keeps the first one's.
          "host-record=multi.example.test,198.51.100.77",
          "host-record=multi.example.test,169.254.1.1",
          "host-record=multi.example.test,2001:db8:2::21",
          "host-record=multi.example.test,2001:db8:1::22", "host-record=multi.example.test,fc00::1",
          "host-record=multi.example.test,2002:c000:201::1",
          "host-record=multi.example.test,::ffff:192.0.2.30",
          "txt-record=empty.example.test,\"no addresses here\""};
}

// The value of `key` (" fam=", " addr=", " canon=") in a node line of gai_dump.
std::string field(const std::string& line, const std::string& key) {
  const size_t at = line.find(key);
  if (at == std::string::npos) return "";
  const size_t from = at + key.size();
  return line.substr(from, line.find(' ', from) - from);
}

// glibc's dump with each result list's families interleaved (RFC 8305 section 4): the node
// lines of one address move together, the canonical name stays on the first node. Counts
// the lists whose order changed in `*changed`.
std::string interleaved(const std::string& dump, int* changed) {
  std::istringstream in(dump);
  std::string out, line;
  std::vector<std::string> nodes;
  auto flush = [&] {
    std::vector<size_t> start;
    std::vector<int> families;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (i > 0 && field(nodes[i], " addr=") == field(nodes[i - 1], " addr=")) continue;
      start.push_back(i);
      families.push_back(std::stoi(field(nodes[i], " fam=")));
    }
    start.push_back(nodes.size());
    const std::vector<size_t> order = mif::dns::interleaveFamilies(families);
    std::vector<std::string> moved;
    for (size_t g : order)
      for (size_t i = start[g]; i < start[g + 1]; ++i) moved.push_back(nodes[i]);
    if (!nodes.empty() && moved != nodes) {
      ++*changed;
      const std::string canon = field(nodes[0], " canon=");
      for (size_t i = 0; i < moved.size(); ++i)
        moved[i] = moved[i].substr(0, moved[i].rfind(" canon=")) + " canon=" + (i == 0 ? canon : "(null)");
    }
    for (const auto& n : moved) out += n + "\n";
    nodes.clear();
  };
  while (std::getline(in, line)) {
    if (line.rfind("  flags=", 0) == 0) {
      nodes.push_back(line);
      continue;
    }
    flush();
    out += line + "\n";
  }
  flush();
  return out;
}

std::string firstDifference(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string la, lb, context;
  int line = 0;
  while (true) {
    bool ga = bool(std::getline(x, la)), gb = bool(std::getline(y, lb));
    ++line;
    if (!ga && !gb) return "";
    if (la != lb || ga != gb)
      return "line " + std::to_string(line) + " after [" + context + "]\n glibc: " + la +
             "\n   mif: " + lb;
    if (la.find("=>") != std::string::npos) context = la;
  }
}

}  // namespace

TEST(Differential, GetaddrinfoMatchesGlibcFieldByField) {
  MIFDNS_REQUIRE_NETNS();
  if (access(MIFDNS_PRELOAD, R_OK) != 0) GTEST_SKIP() << "libmif.so not built: " << MIFDNS_PRELOAD;
  mifdns::Dnsmasq dm("127.0.0.53", dnsmasqConfig());
  ASSERT_TRUE(dm.ok());
  mifdns::TempDir dir;
  const std::string good = dir.path + "/resolv.good", dead = dir.path + "/resolv.dead",
                    pol = dir.path + "/policy.toml";
  std::ofstream(good) << "nameserver 127.0.0.53\nsearch example.test\n";
  std::ofstream(dead) << "nameserver 127.0.0.99\n";
  std::ofstream(pol)
      << "[pvd.lan]\ninterface = \"lo\"\ndns = [\"127.0.0.53\"]\ndomains = [\"example.test\"]\n"
         "[default]\npvd = \"lan\"\n";
  std::vector<std::string> argv = {MIFDNS_GAI_DUMP};
  argv.insert(argv.end(), kNames.begin(), kNames.end());
  int st1 = 0, st2 = 0;
  std::string viaGlibc = mifdns::runCapture(argv, good, {"MALLOC_CHECK_=3"}, &st1);
  int glibcQueries = dm.queries("www.example.test");
  std::string viaMif = mifdns::runCapture(
      argv, dead,
      {"MALLOC_CHECK_=3", std::string("LD_PRELOAD=" MIF_TEST_PRELOAD_PREFIX) + MIFDNS_PRELOAD, "MIF_POLICY=" + pol}, &st2);
  EXPECT_EQ(st1, 0);
  EXPECT_EQ(st2, 0);
  ASSERT_GT(viaGlibc.size(), 1000u);
  // The grid is big; say where the first difference is rather than printing both.
  int reordered = 0;
  EXPECT_EQ(firstDifference(interleaved(viaGlibc, &reordered), viaMif), "");
  // Dual-stack lists were compared interleaved (multi.example.test's, whose glibc order
  // has addresses of one family side by side): without the interleaving mif would differ.
  EXPECT_GT(reordered, 0);
  EXPECT_GT(glibcQueries, 0);
  EXPECT_GT(dm.queries("www.example.test"), glibcQueries);  // mif asked the same server
  size_t results = 0;
  for (size_t p = viaMif.find("=> 0\n"); p != std::string::npos; p = viaMif.find("=> 0\n", p + 1))
    ++results;
  EXPECT_GT(results, 1000u);
}
