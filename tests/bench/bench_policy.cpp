// The policy engine: decide() with 100 and 10,000 mixed rules (the cost must follow the
// key, not the rule count), and load+compile of a 10,000-rule policy. docs/performance.md
// ("Policy engine") has the figures and the command.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include "mif/policy/loader.h"
#include "mif/policy/policy.h"

using namespace mif::policy;

namespace {

constexpr int kPvds = 8;

std::string v4(std::mt19937& rng) {
  return std::to_string(rng() % 223 + 1) + "." + std::to_string(rng() % 256) + "." +
         std::to_string(rng() % 256) + "." + std::to_string(rng() % 256);
}
std::string v6(std::mt19937& rng) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "2001:db8:%x:%x::%x", static_cast<unsigned>(rng() % 65536),
                static_cast<unsigned>(rng() % 65536), static_cast<unsigned>(rng() % 65536));
  return buf;
}
std::string domain(std::mt19937& rng, int i) {
  return "h" + std::to_string(i) + ".zone" + std::to_string(rng() % 50) + ".example";
}

// A policy of `rules` rules: 40 % dst prefixes (both families), 30 % domains, 20 % port
// ranges with a protocol, 10 % apps; each names one or two of 8 PvDs. Every string the
// queries use is kept so that about half of the queries hit a rule.
struct Generated {
  std::string toml;
  std::vector<std::string> addresses, names, apps;
};

Generated generate(int rules, unsigned seed) {
  std::mt19937 rng(seed);
  Generated g;
  for (int p = 0; p < kPvds; ++p) {
    g.toml += "[pvd.p" + std::to_string(p) + "]\ninterface = \"if" + std::to_string(p) + "\"\n";
    g.toml += "domains = [\"pvd" + std::to_string(p) + ".example\"]\n";
    g.toml += "prefixes = [\"10." + std::to_string(p) + ".0.0/16\"]\n";
  }
  g.toml += "[default]\npvd = [\"p0\", \"p1\"]\n";
  for (int i = 0; i < rules; ++i) {
    g.toml += "[[rule]]\n";
    int kind = static_cast<int>(rng() % 10);
    if (kind < 4) {
      bool six = rng() % 2;
      std::string a = six ? v6(rng) : v4(rng);
      int len = six ? 48 + static_cast<int>(rng() % 81) : 16 + static_cast<int>(rng() % 17);
      auto p = Prefix::parse(a + "/" + std::to_string(len));
      g.toml += "dst = \"" + p.prefix->toString() + "\"\n";
      g.addresses.push_back(a);
    } else if (kind < 7) {
      std::string d = domain(rng, i);
      g.toml += "domain = \"" + d + "\"\n";
      g.names.push_back("www." + d);
    } else if (kind < 9) {
      unsigned lo = 1024 + rng() % 60000;
      g.toml += "port = \"" + std::to_string(lo) + "-" + std::to_string(lo + rng() % 10) + "\"\n";
      g.toml += std::string("proto = \"") + (rng() % 2 ? "tcp" : "udp") + "\"\n";
    } else {
      std::string app = "app" + std::to_string(i);
      g.toml += "app = \"" + app + "\"\n";
      g.apps.push_back(app);
    }
    unsigned a = rng() % kPvds, b = (a + 1 + rng() % (kPvds - 1)) % kPvds;
    g.toml += "pvd = [\"p" + std::to_string(a) + "\", \"p" + std::to_string(b) + "\"]\n";
  }
  return g;
}

Policy compileOrDie(const std::string& toml) {
  auto r = loadString(toml, systemPolicyPath(), Layer::System);
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.diagnostics[0].format().c_str());
    std::abort();
  }
  // As every caller does: moved, not copied (a braced list would copy the document).
  std::vector<PolicyDoc> docs;
  docs.push_back(std::move(r.doc));
  auto c = Policy::compile(std::move(docs), Pin{});
  if (!c.policy) std::abort();
  return std::move(*c.policy);
}

void BM_Decide(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  Generated g = generate(rules, 42);
  Policy policy = compileOrDie(g.toml);
  std::vector<PvdState> states(policy.pvds().size(), PvdState{true, true, true});
  View view{states};

  // 4096 queries: connects to rule addresses and to random ones, resolves of rule names
  // and of other names, connects by app and by port. Same mix for every rule count.
  std::mt19937 rng(7);
  std::vector<std::string> names;  // keep the name storage alive
  names.reserve(4096);
  std::vector<Query> queries;
  for (int i = 0; i < 4096; ++i) {
    Query q;
    q.kind = Query::Kind::Connect;
    q.proto = rng() % 2 ? Proto::Tcp : Proto::Udp;
    q.port = static_cast<uint16_t>(rng() % 4 ? 443 : 1024 + rng() % 60000);
    q.app = "firefox";
    switch (i % 4) {
      case 0: {
        const std::string& a = g.addresses.empty() ? "192.0.2.1" : g.addresses[rng() % g.addresses.size()];
        q.hasAddress = true;
        q.address = *IpAddress::parse(a);
        break;
      }
      case 1:
        q.hasAddress = true;
        q.address = *IpAddress::parse(rng() % 2 ? v4(rng) : v6(rng));
        break;
      case 2:
        q.kind = Query::Kind::Resolve;
        names.push_back(rng() % 2 && !g.names.empty() ? g.names[rng() % g.names.size()]
                                                      : "www.other" + std::to_string(i) + ".example.org");
        q.name = names.back();
        break;
      case 3:
        q.hasAddress = true;
        q.address = *IpAddress::parse(v4(rng));
        if (!g.apps.empty() && rng() % 2) q.app = g.apps[rng() % g.apps.size()];
        break;
    }
    queries.push_back(q);
  }
  size_t i = 0;
  for (auto _ : state) {
    Decision d = policy.decide(queries[i], view);
    benchmark::DoNotOptimize(d);
    i = (i + 1) & 4095;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Decide)->Arg(100)->Arg(10000);

// The scanning path that `mif explain` uses, for comparison (not a target).
void BM_DecideExplained(benchmark::State& state) {
  Generated g = generate(static_cast<int>(state.range(0)), 42);
  Policy policy = compileOrDie(g.toml);
  std::vector<PvdState> states(policy.pvds().size(), PvdState{true, true, true});
  Query q;
  q.hasAddress = true;
  q.address = *IpAddress::parse("203.0.113.9");
  q.port = 443;
  q.proto = Proto::Tcp;
  q.app = "firefox";
  for (auto _ : state) {
    Explanation e;
    Decision d = policy.decide(q, View{states}, &e);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DecideExplained)->Arg(100)->Arg(10000)->Unit(benchmark::kMicrosecond);

void BM_LoadCompile(benchmark::State& state) {
  Generated g = generate(static_cast<int>(state.range(0)), 42);
  for (auto _ : state) {
    Policy p = compileOrDie(g.toml);
    benchmark::DoNotOptimize(p);
  }
  state.counters["bytes"] = static_cast<double>(g.toml.size());
}
BENCHMARK(BM_LoadCompile)->Arg(10000)->Unit(benchmark::kMillisecond);

// The two halves of BM_LoadCompile.
void BM_Load(benchmark::State& state) {
  Generated g = generate(static_cast<int>(state.range(0)), 42);
  for (auto _ : state) {
    LoadResult r = loadString(g.toml, systemPolicyPath(), Layer::System);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Load)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_Compile(benchmark::State& state) {
  Generated g = generate(static_cast<int>(state.range(0)), 42);
  LoadResult r = loadString(g.toml, systemPolicyPath(), Layer::System);
  for (auto _ : state) {
    state.PauseTiming();  // the copy of the document is not part of compiling it
    std::vector<PolicyDoc> docs{r.doc};
    state.ResumeTiming();
    auto c = Policy::compile(std::move(docs), Pin{});
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_Compile)->Arg(10000)->Unit(benchmark::kMillisecond);

// The floor under BM_Load: toml++ alone parsing the same text into its tree and freeing it,
// which the loader must do before it can look at a single key.
void BM_TomlParseOnly(benchmark::State& state) {
  Generated g = generate(static_cast<int>(state.range(0)), 42);
  for (auto _ : state) {
    toml::table t = toml::parse(std::string_view(g.toml), std::string_view());
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_TomlParseOnly)->Arg(10000)->Unit(benchmark::kMillisecond);

// BM_LoadCompile against its floor in one loop: each iteration times toml++'s parse+free and
// mif's load+compile+free of the same text, in alternating order, so both see the same host
// (its speed drifts by up to 1.7x within minutes, which makes two benchmarks run one after
// the other a poor comparison). Counters: the mean of each in ms, and mif / floor.
void BM_LoadCompileVsFloor(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  Generated g = generate(static_cast<int>(state.range(0)), 42);
  auto floorOnce = [&] {
    toml::table t = toml::parse(std::string_view(g.toml), std::string_view());
    benchmark::DoNotOptimize(t);
  };
  auto mifOnce = [&] {
    Policy p = compileOrDie(g.toml);
    benchmark::DoNotOptimize(p);
  };
  Clock::duration floorT{}, mifT{};
  int64_t n = 0;
  for (auto _ : state) {
    const bool floorFirst = n++ % 2 == 0;
    const auto t0 = Clock::now();
    floorFirst ? floorOnce() : mifOnce();
    const auto t1 = Clock::now();
    floorFirst ? mifOnce() : floorOnce();
    const auto t2 = Clock::now();
    floorT += floorFirst ? t1 - t0 : t2 - t1;
    mifT += floorFirst ? t2 - t1 : t1 - t0;
  }
  const double floorMs = std::chrono::duration<double, std::milli>(floorT).count() / static_cast<double>(n);
  const double mifMs = std::chrono::duration<double, std::milli>(mifT).count() / static_cast<double>(n);
  state.counters["floor_ms"] = floorMs;
  state.counters["mif_ms"] = mifMs;
  state.counters["ratio"] = mifMs / floorMs;
}
BENCHMARK(BM_LoadCompileVsFloor)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // Fixed malloc thresholds: no chunk from mmap and no trim of the heap's top. With
  // glibc's defaults, freeing toml++'s tree alone hands its ~7 MB back to the kernel after
  // every BM_TomlParseOnly iteration and the next parse faults it in again (about 3,300
  // page faults per iteration), while BM_LoadCompile, whose policy outlives the tree, does
  // not: the floor would be inflated by kernel work that mif's figure does not carry.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
