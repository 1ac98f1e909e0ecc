// Per-PvD resolution (mif/dns/resolver.h). Longer than the ~400 lines a file here should
// be, for one reason: Resolver::Impl's two halves, the per-PvD configuration published to
// lookups under hazard pins (sync, publish, pin: the first ~240 lines) and the query walk
// (cache, channels, search list, trace, health), share the private PvD context; splitting
// them means moving Impl into a private header, worth it when either half grows again.
#include "mif/dns/resolver.h"

#include <ares.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <optional>

#include "cache.h"
#include "channel.h"
#include "mif/dns/tags.h"
#include "mif/policy/json.h"
#include "mif/view/pins.h"
#include "mif/dns/wire.h"

namespace mif::dns {

const char* statusName(Status s) {
  switch (s) {
    case Status::Ok:
      return "ok";
    case Status::NoData:
      return "nodata";
    case Status::NotFound:
      return "nxdomain";
    case Status::TryAgain:
      return "tryagain";
    case Status::NoRecovery:
      return "norecovery";
  }
  return "?";
}

namespace {

constexpr size_t kMaxPvds = 1024;

// One PvD's configuration as the resolver uses it. Immutable once published: readers load
// the pointer and use it without a lock; a change publishes a new one and retires the old
// (kept until the resolver goes, so a reader's pointer stays valid — changes are rare).
struct PvdConfig {
  uint64_t fingerprint = 0;
  std::shared_ptr<ChannelPool> pool;
  std::vector<std::string> domains;
  std::vector<std::string> servers;  // for traces
  std::string ifname;
  bool hasServers() const { return pool && !pool->config().servers.empty(); }
};

// Everything mif keeps for one PvD. Created on first use and kept for the resolver's life
// (so readers never race a deletion).
std::atomic<void*> gHealthCtx{nullptr};
std::atomic<HealthSink> gHealthSink{nullptr};

struct PvdCtx {
  std::atomic<const PvdConfig*> config{nullptr};  // null: unknown or gone
  uint64_t fingerprint = 0;                       // written under the resolver's sync mutex
  bool known = false;
  Cache cache;
};

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}
uint64_t mixBytes(uint64_t h, std::string_view s) {
  for (char c : s) h = mix(h, uint8_t(c));
  return mix(h, s.size());
}
uint64_t mixAddr(uint64_t h, const policy::IpAddress& a) {
  h = mix(h, uint64_t(a.family));
  for (uint8_t b : a.bytes) h = mix(h, b);
  return h;
}

// What, of a PvD, invalidates its answers when it changes: its state (down = gone),
// interface, sources, servers and domains.
uint64_t fingerprintOf(const view::BoundPvd& p, const policy::PvdState& st) {
  uint64_t h = 0x51ed270b;
  h = mix(h, st.present | st.v4 << 1 | st.v6 << 2);
  h = mix(h, uint64_t(p.ifindex));
  h = mixBytes(h, p.ifname);
  h = mix(h, p.hasSource4 | p.hasSource6 << 1);
  if (p.hasSource4) h = mixAddr(h, p.source4);
  if (p.hasSource6) h = mixAddr(h, p.source6);
  for (const view::DnsServer& s : p.dns) h = mix(mixAddr(h, s.addr), s.port);
  for (const std::string& d : p.domains) h = mixBytes(h, d);
  return h | 1;  // never 0
}

// One query name's outcome within a PvD (the A/AAAA pair combined as glibc does).
struct NameResult {
  Status status = Status::TryAgain;
  std::string qname;      // the fully qualified name asked
  bool servfail = false;  // TryAgain because a server said SERVFAIL (search continues)
  bool anyResponse = false;
  std::string owner;
  std::vector<policy::IpAddress> addresses;
  std::vector<std::string> names;
  uint32_t ttl = 0;
  bool cacheHit = true;
  std::string why;
};

// A type's result as it came from the server or from the cache.
struct TypeResult {
  bool responded = false;
  int rcode = -1;
  int aresStatus = ARES_SUCCESS;
  CacheEntry entry;  // kind + data when responded with NOERROR/NXDOMAIN
  bool hasData = false;
};

}  // namespace

struct Resolver::Impl {
  ResolverOptions opts;
  std::array<std::atomic<PvdCtx*>, kMaxPvds> pvds{};
  std::atomic<uint64_t> syncedGeneration{UINT64_MAX};
  std::mutex syncMutex;
  // Replaced configurations that a lookup may still hold (a hazard pin, mif/view/pins.h):
  // each is freed, with its channel pool and the pool's sockets, by the first sync after
  // its last lookup let go. Under syncMutex.
  std::vector<const PvdConfig*> retiredConfigs;

  ~Impl() {
    for (auto& p : pvds) {
      if (PvdCtx* c = p.load()) delete c->config.load();
      delete p.load();
    }
    for (const PvdConfig* r : retiredConfigs) delete r;
  }

  // Under syncMutex.
  void publish(PvdCtx* c, const PvdConfig* conf) {
    retiredConfigs.reserve(retiredConfigs.size() + 1);
    // seq_cst: a lookup that pinned the old configuration shows in the scan below, or
    // re-reads and pins the new one (pins.h).
    const PvdConfig* old = c->config.exchange(conf, std::memory_order_seq_cst);
    if (old) retiredConfigs.push_back(old);
    size_t keep = 0;
    for (const PvdConfig* r : retiredConfigs) {
      if (view::detail::isPinned(r))
        retiredConfigs[keep++] = r;
      else
        delete r;
    }
    retiredConfigs.resize(keep);
  }

  // A PvD's configuration, pinned for as long as the reference lives: a lookup holds it
  // across its queries while sync() may replace it.
  class ConfigRef {
   public:
    explicit ConfigRef(PvdCtx* c) noexcept {
      if (c != nullptr) conf_ = view::detail::pinCurrent(c->config, &h_);
    }
    ~ConfigRef() { view::detail::unpin(&h_); }
    ConfigRef(const ConfigRef&) = delete;
    ConfigRef& operator=(const ConfigRef&) = delete;
    const PvdConfig* get() const noexcept { return conf_; }

   private:
    view::detail::PinHandle h_;
    const PvdConfig* conf_ = nullptr;
  };

  PvdCtx* ctxFor(policy::PvdId id) {
    if (id >= kMaxPvds) return nullptr;
    PvdCtx* c = pvds[id].load(std::memory_order_acquire);
    if (c) return c;
    auto* fresh = new PvdCtx();
    if (pvds[id].compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) return fresh;
    delete fresh;
    return c;
  }

  void flush(policy::PvdId id, PvdCtx* c) {
    c->cache.clear();
    dropTagsForPvd(int(id));
  }

  // Brings the per-PvD contexts in line with the view; cheap (one atomic load) when the
  // snapshot has not changed since the last call.
  void sync(const view::Snapshot& snap) {
    if (syncedGeneration.load(std::memory_order_acquire) == snap.generation) return;
    std::lock_guard lock(syncMutex);
    for (const view::BoundPvd& p : snap.pvds) {
      PvdCtx* c = ctxFor(p.id);
      if (!c) continue;
      policy::PvdState st = p.id < snap.states.size() ? snap.states[p.id] : policy::PvdState{};
      uint64_t fp = fingerprintOf(p, st);
      if (c->known && c->fingerprint == fp) continue;
      if (c->known) flush(p.id, c);
      c->known = true;
      c->fingerprint = fp;
      ChannelConfig cfg;
      cfg.servers = p.dns;
      cfg.ifname = p.ifname;
      cfg.hasSource4 = p.hasSource4;
      cfg.hasSource6 = p.hasSource6;
      cfg.source4 = p.source4;
      cfg.source6 = p.source6;
      cfg.timeoutMs = opts.timeoutMs;
      cfg.tries = opts.tries;
      auto* conf = new PvdConfig();
      conf->fingerprint = fp;
      conf->pool = std::make_shared<ChannelPool>(std::move(cfg));
      conf->domains = p.domains;
      conf->ifname = p.ifname;
      for (const view::DnsServer& d : p.dns) conf->servers.push_back(d.addr.toString());
      publish(c, conf);
    }
    // A PvD missing from the snapshot is gone: its answers go too.
    for (size_t id = 0; id < kMaxPvds; ++id) {
      PvdCtx* c = pvds[id].load(std::memory_order_acquire);
      if (!c || !c->known) continue;
      bool present = false;
      for (const view::BoundPvd& p : snap.pvds) present |= p.id == id;
      if (present) continue;
      flush(policy::PvdId(id), c);
      c->known = false;
      publish(c, nullptr);
    }
    syncedGeneration.store(snap.generation, std::memory_order_release);
  }

  std::string pvdName(int id) const {
    if (opts.policy && id >= 0 && size_t(id) < opts.policy->pvds().size())
      return opts.policy->pvds()[size_t(id)].name;
    return std::to_string(id);
  }

  // One "attempt" line per PvD asked (docs/trace.md), through the one JSON writer.
  void trace(std::string_view call, std::string_view name, int pvd, const PvdConfig* conf, Status st,
             const std::vector<policy::IpAddress>& addrs, const std::vector<std::string>& names,
             bool hit, int64_t startNs, std::string_view why) {
    if (!opts.trace) return;
    std::string line;
    json::StringSink sink(&line);
    json::Object<json::StringSink> o(sink);
    json::traceHeader(o, call);
    o.boolean("attempt", true).str("name", name).str("pvd", pvdName(pvd));
    if (conf != nullptr) o.str("interface", conf->ifname).strings("servers", conf->servers);
    o.str("status", statusName(st));
    std::vector<std::string> answers;
    answers.reserve(addrs.size() + names.size());
    for (const auto& a : addrs) answers.push_back(a.toString());
    answers.insert(answers.end(), names.begin(), names.end());
    o.strings("answers", answers).str("cache", hit ? "hit" : "miss");
    o.num("us", (monotonicNs() - startNs) / 1000);
    if (!why.empty()) o.str("why", why);
    o.close();
    opts.trace(opts.traceCtx, line);
  }

  // Sends the types not found in the cache through one channel of the PvD, in parallel.
  void fetch(PvdCtx* c, const PvdConfig* conf, const std::string& qname,
             std::span<const uint16_t> types, std::span<TypeResult> out, std::string* why) {
    ChannelPool* pool = conf ? conf->pool.get() : nullptr;
    std::vector<Exchange> ex;
    std::vector<size_t> which;
    uint16_t id = wire::randomId();
    for (size_t i = 0; i < types.size(); ++i) {
      if (out[i].responded) continue;
      Exchange e;
      e.query = wire::buildQuery(qname, types[i], uint16_t(id + i));
      if (e.query.empty()) {
        out[i].responded = true;  // an unencodable name: glibc answers NO_RECOVERY
        out[i].rcode = wire::kFormErr;
        continue;
      }
      ex.push_back(std::move(e));
      which.push_back(i);
    }
    if (ex.empty()) return;
    std::string err;
    std::unique_ptr<Channel> ch = pool ? pool->acquire(&err) : nullptr;
    if (!ch) {
      *why = pool ? err : "no DNS servers";
      for (size_t i : which) out[i].aresStatus = ARES_ECONNREFUSED;
      return;
    }
    ch->run(ex);
    pool->release(std::move(ch));
    int64_t now = monotonicNs();
    for (size_t k = 0; k < ex.size(); ++k) {
      TypeResult& r = out[which[k]];
      r.aresStatus = ex[k].status;
      if (ex[k].status != ARES_SUCCESS) {
        *why = ex[k].status == ARES_ETIMEOUT ? "timeout" : ares_strerror(ex[k].status);
        continue;
      }
      wire::Response resp = wire::parse(ex[k].response, qname, types[which[k]]);
      if (!resp.ok) {
        r.aresStatus = ARES_EBADRESP;
        *why = "unreadable response";
        continue;
      }
      r.responded = true;
      r.rcode = resp.rcode;
      if (resp.rcode == wire::kNoError && (!resp.addresses.empty() || !resp.names.empty())) {
        r.hasData = true;
        r.entry.kind = CacheKind::Positive;
        r.entry.owner = resp.owner;
        r.entry.addresses = std::move(resp.addresses);
        r.entry.names = std::move(resp.names);
        uint32_t ttl = std::min(resp.ttl, opts.maxTtl);
        r.entry.expiryNs = now + int64_t(ttl) * 1000000000;
        c->cache.put(wire::normalise(qname), types[which[k]], r.entry, now);
      } else if (resp.rcode == wire::kNoError || resp.rcode == wire::kNxDomain) {
        r.entry.kind = resp.rcode == wire::kNxDomain ? CacheKind::NxDomain : CacheKind::NoData;
        if (resp.hasSoa) {  // RFC 2308 5: no SOA, no negative caching
          uint32_t ttl = std::min(resp.negativeTtl, opts.maxTtl);
          r.entry.expiryNs = now + int64_t(ttl) * 1000000000;
          c->cache.put(wire::normalise(qname), types[which[k]], r.entry, now);
        }
      }
    }
  }

  // One fully qualified name, A/AAAA (or one type), combined as glibc's res_query does
  // for its pair: the first type's rcode unless it is NOERROR, then the second's.
  NameResult queryName(PvdCtx* c, const PvdConfig* conf, const std::string& qname,
                       std::span<const uint16_t> types) {
    NameResult nr;
    nr.qname = qname;
    std::array<TypeResult, 2> res{};
    int64_t now = monotonicNs();
    std::string key = wire::normalise(qname);
    bool allCached = true;
    for (size_t i = 0; i < types.size(); ++i) {
      CacheEntry e;
      if (c->cache.get(key, types[i], now, &e)) {
        res[i].responded = true;
        res[i].rcode = e.kind == CacheKind::NxDomain ? wire::kNxDomain : wire::kNoError;
        res[i].hasData = e.kind == CacheKind::Positive;
        res[i].entry = std::move(e);
      } else {
        allCached = false;
      }
    }
    if (!allCached) {
      nr.cacheHit = false;
      fetch(c, conf, qname, types, std::span(res.data(), types.size()), &nr.why);
    }
    now = monotonicNs();
    uint32_t ttl = UINT32_MAX;
    for (size_t i = 0; i < types.size(); ++i) {
      if (!res[i].hasData) continue;
      if (nr.owner.empty()) nr.owner = res[i].entry.owner;
      nr.addresses.insert(nr.addresses.end(), res[i].entry.addresses.begin(),
                          res[i].entry.addresses.end());
      nr.names.insert(nr.names.end(), res[i].entry.names.begin(), res[i].entry.names.end());
      ttl = std::min(ttl, res[i].entry.remaining(now));
    }
    for (size_t i = 0; i < types.size(); ++i) nr.anyResponse |= res[i].responded;
    // Servers echo the question's spelling in the owner name; the cache is keyed by the
    // lower-cased name, so give back this query's spelling, as an uncached answer would.
    if (wire::normalise(nr.owner) == key) nr.owner = qname;
    if (!nr.addresses.empty() || !nr.names.empty()) {
      nr.status = Status::Ok;
      nr.ttl = ttl == UINT32_MAX ? 0 : ttl;
      return nr;
    }
    if (!nr.anyResponse) {
      nr.status = Status::TryAgain;
      // c-ares reports a server's SERVFAIL/REFUSED as "connection refused" once every
      // server was skipped; only a timeout ends glibc's search early.
      nr.servfail = true;
      for (size_t i = 0; i < types.size(); ++i)
        if (res[i].aresStatus == ARES_ETIMEOUT) nr.servfail = false;
      if (nr.why.empty()) nr.why = "no answer";
      return nr;
    }
    int rcode = -1;
    if (res[0].responded) rcode = res[0].rcode;
    if (types.size() > 1 && res[1].responded && (rcode == wire::kNoError || rcode == -1))
      rcode = res[1].rcode;
    switch (rcode) {
      case wire::kNxDomain:
        nr.status = Status::NotFound;
        break;
      case wire::kNoError:
        nr.status = Status::NoData;
        break;
      case wire::kServFail:
        nr.status = Status::TryAgain;
        nr.servfail = true;
        break;
      default:
        nr.status = Status::NoRecovery;
        break;
    }
    return nr;
  }

  // glibc's res_search over one PvD's search list (ndots 1).
  NameResult searchPvd(PvdCtx* c, const PvdConfig* conf, std::string_view name,
                       std::span<const uint16_t> types, bool search, bool* sawNxDomain) {
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& domains = conf ? conf->domains : kNone;
    size_t dots = 0;
    for (char ch : name) dots += ch == '.';
    bool trailing = !name.empty() && name.back() == '.';
    std::optional<NameResult> saved;
    bool gotNodata = false, gotServfail = false, triedAsIs = false;
    bool cacheHit = true;
    NameResult last;
    std::string lastWhy;
    auto attempt = [&](const std::string& q) {
      last = queryName(c, conf, q, types);
      cacheHit &= last.cacheHit;
      if (last.status == Status::NotFound) *sawNxDomain = true;
      if (!last.why.empty()) lastWhy = last.why;
      return last.status == Status::Ok;
    };
    auto finish = [&](NameResult r) {
      r.cacheHit = cacheHit;
      if (r.why.empty()) r.why = lastWhy;
      return r;
    };
    if (dots >= 1 || trailing || !search) {
      std::string q(name);
      if (trailing) q.pop_back();
      last.why.clear();
      if (attempt(q) || trailing || !search) {
        last.why = last.why.empty() ? lastWhy : last.why;
        return finish(last);
      }
      saved = last;
      triedAsIs = true;
    }
    bool done = false;
    for (const std::string& d : domains) {
      if (done) break;
      if (attempt(std::string(name) + "." + d)) return finish(last);
      switch (last.status) {
        case Status::NoData:
          gotNodata = true;
          break;
        case Status::NotFound:
          break;
        case Status::TryAgain:
          if (last.servfail) {
            gotServfail = true;
            break;
          }
          done = true;
          break;
        default:
          done = true;
          break;
      }
    }
    if (!triedAsIs) {
      if (attempt(std::string(name))) return finish(last);
    }
    NameResult r = last;
    if (saved) {
      r.status = saved->status;
      r.servfail = saved->servfail;
    } else if (gotNodata) {
      r.status = Status::NoData;
    } else if (gotServfail) {
      r.status = Status::TryAgain;
    }
    r.addresses.clear();
    r.names.clear();
    return finish(r);
  }

  static void reportHealth(policy::PvdId id, const NameResult& nr) {
    const HealthSink sink = gHealthSink.load(std::memory_order_acquire);
    if (sink == nullptr) return;
    if (nr.status == Status::TryAgain && nr.why == "timeout") {
      sink(gHealthCtx.load(std::memory_order_relaxed), id, false);
    } else if (nr.status != Status::TryAgain) {
      sink(gHealthCtx.load(std::memory_order_relaxed), id, true);
    }
  }

  template <typename Each>
  Answer overPvds(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                  std::string_view name, std::span<const uint16_t> types, bool search,
                  std::string_view call, Each&& onAnswer) {
    sync(snap);
    Answer a;
    a.exhausted = true;
    for (policy::PvdId id : order) {
      int64_t start = monotonicNs();
      PvdCtx* c = ctxFor(id);
      a.pvd = int(id);
      const ConfigRef pinned(c);  // held across this PvD's queries
      const PvdConfig* conf = pinned.get();
      bool hasServers = conf && conf->hasServers();
      if (!hasServers) {
        a.why = "no DNS servers known for this PvD";
        trace(call, name, int(id), conf, Status::TryAgain, {}, {}, false, start, a.why);
        continue;
      }
      bool sawNx = false;
      NameResult nr = searchPvd(c, conf, name, types, search, &sawNx);
      if (!nr.cacheHit) reportHealth(id, nr);
      trace(call, name, int(id), conf, nr.status, nr.addresses, nr.names, nr.cacheHit, start,
            nr.status == Status::Ok ? std::string_view() : std::string_view(nr.why));
      a.status = nr.status;
      a.why = nr.why;
      a.cacheHit = nr.cacheHit;
      if (nr.status == Status::TryAgain && !sawNx) continue;  // this PvD could not answer
      a.exhausted = false;
      a.owner = std::move(nr.owner);
      a.addresses = std::move(nr.addresses);
      a.names = std::move(nr.names);
      a.ttl = nr.ttl;
      a.qname = nr.qname.empty() ? std::string(name) : nr.qname;
      onAnswer(a);
      return a;
    }
    if (order.empty()) a.why = "no usable PvD";
    a.status = Status::TryAgain;
    return a;
  }
};

Resolver::Resolver(ResolverOptions opts) : impl_(std::make_unique<Impl>()) { impl_->opts = opts; }

void setHealthSink(HealthSink sink, void* ctx) noexcept {
  gHealthCtx.store(ctx, std::memory_order_relaxed);
  gHealthSink.store(sink, std::memory_order_release);
}
Resolver::~Resolver() = default;

Answer Resolver::lookup(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                        std::string_view name, bool want4, bool want6, std::string_view call) {
  std::array<uint16_t, 2> types{};
  size_t n = 0;
  if (want4) types[n++] = wire::kTypeA;
  if (want6) types[n++] = wire::kTypeAaaa;
  return impl_->overPvds(
      snap, order, name, std::span(types.data(), n), true, call, [&](const Answer& a) {
        if (a.status != Status::Ok) return;
        // The tag carries the name that was asked: the connect path's rules match it by suffix.
        // A cached answer's tags were written when it was fetched; they are written again only
        // if another PvD's answer for the same address replaced them since, so the tag
        // writers' mutex stays off the cached path.
        std::string tagName = wire::normalise(a.qname);
        for (const policy::IpAddress& addr : a.addresses) {
          Tag t;
          if (a.cacheHit && lookupTag(addr, &t) && t.pvd == a.pvd && tagName == t.name) continue;
          recordTag(addr, a.pvd, tagName, std::max(a.ttl, kTagMinTtl));
        }
      });
}

Answer Resolver::reverse(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                         const policy::IpAddress& addr, std::string_view call) {
  const uint16_t types[1] = {wire::kTypePtr};
  std::string q = wire::reverseName(addr.unmapped());
  return impl_->overPvds(snap, order, q, types, false, call, [](const Answer&) {});
}

RawAnswer Resolver::raw(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                        std::string_view name, int cls, int type, bool search,
                        std::string_view call) {
  Impl& im = *impl_;
  im.sync(snap);
  RawAnswer out;
  out.exhausted = true;
  for (policy::PvdId id : order) {
    int64_t start = monotonicNs();
    PvdCtx* c = im.ctxFor(id);
    out.pvd = int(id);
    const Impl::ConfigRef pinned(c);  // held across this PvD's queries
    const PvdConfig* conf = pinned.get();
    ChannelPool* pool = conf ? conf->pool.get() : nullptr;
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& domains = conf ? conf->domains : kNone;
    if (!conf || !conf->hasServers()) {
      im.trace(call, name, int(id), conf, Status::TryAgain, {}, {}, false, start,
               "no DNS servers known for this PvD");
      continue;
    }
    // The candidate names, in res_search's order (res_query: the name alone).
    std::vector<std::string> cands;
    size_t dots = 0;
    for (char ch : name) dots += ch == '.';
    bool trailing = !name.empty() && name.back() == '.';
    std::string bare(name);
    if (trailing) bare.pop_back();
    if (!search || dots >= 1 || trailing) cands.push_back(bare);
    if (search && !trailing)
      for (const std::string& d : domains) cands.push_back(bare + "." + d);
    if (search && dots == 0 && !trailing) cands.push_back(bare);
    bool sawNx = false, gotNodata = false, gotServfail = false;
    Status st = Status::TryAgain;
    std::string why;
    for (const std::string& q : cands) {
      std::string err;
      std::unique_ptr<Channel> ch = pool->acquire(&err);
      if (!ch) {
        why = err;
        break;
      }
      Exchange ex;
      ex.query = wire::buildQuery(q, uint16_t(type), wire::randomId(), uint16_t(cls));
      if (ex.query.empty()) {
        st = Status::NoRecovery;
        pool->release(std::move(ch));
        break;
      }
      ch->run(std::span(&ex, 1));
      pool->release(std::move(ch));
      if (ex.status != ARES_SUCCESS) {
        why = ex.status == ARES_ETIMEOUT ? "timeout" : ares_strerror(ex.status);
        st = Status::TryAgain;
        if (ex.status == ARES_ETIMEOUT) break;
        gotServfail = true;
        continue;
      }
      out.response = ex.response;
      wire::Response r = wire::parse(ex.response, q, uint16_t(type));
      if (r.rcode == wire::kNoError && r.ancount > 0) {
        st = Status::Ok;
        break;
      }
      if (r.rcode == wire::kNxDomain) {
        st = Status::NotFound;
        sawNx = true;
      } else if (r.rcode == wire::kNoError) {
        st = Status::NoData;
        gotNodata = true;
      } else {
        st = Status::NoRecovery;
        break;
      }
      if (!search) break;
    }
    if (st != Status::Ok && search && cands.size() > 1) {
      if (gotNodata && st != Status::NoRecovery)
        st = Status::NoData;
      else if (gotServfail && st == Status::TryAgain)
        st = Status::TryAgain;
    }
    im.trace(call, name, int(id), conf, st, {}, {}, false, start, st == Status::Ok ? "" : why);
    out.status = st;
    if (st == Status::TryAgain && !sawNx) continue;
    out.exhausted = false;
    return out;
  }
  out.status = Status::TryAgain;
  return out;
}

void Resolver::flushPvd(policy::PvdId pvd) {
  PvdCtx* c = impl_->ctxFor(pvd);
  if (c) impl_->flush(pvd, c);
}

size_t Resolver::cachedEntries(policy::PvdId pvd) const {
  PvdCtx* c = pvd < kMaxPvds ? impl_->pvds[pvd].load() : nullptr;
  return c ? c->cache.size() : 0;
}

}  // namespace mif::dns
