#pragma once
// Per-PvD name resolution (issue 6): each PvD's names go to that PvD's own DNS servers,
// over that PvD's interface, from its source address, and every answer stays attached to
// the PvD it came from (tags.h).
//
// Resolution follows glibc's stub resolver (res_search) within one PvD: the PvD's search
// domains in glibc's order (ndots 1), A and AAAA in parallel, TCP when truncated, the
// same h_errno-style outcome. Across PvDs (a Decision's ordered list) the next PvD is
// tried only when one could not answer (timeouts, SERVFAIL, no servers) — never after an
// NXDOMAIN or NODATA: the PvD that owns a name answers for it, and a private name never
// leaks to another PvD's server.
//
// Thread-safety: every member may be called from any thread concurrently. A cached answer
// takes one shared (reader) lock of one cache shard; an uncached one takes a c-ares
// channel from the PvD's pool and blocks the calling thread in poll(), as glibc does.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/policy.h"
#include "mif/view/snapshot.h"

namespace mif::dns {

// glibc's h_errno outcomes.
enum class Status : uint8_t { Ok, NoData, NotFound, TryAgain, NoRecovery };
const char* statusName(Status);

struct Answer {
  Status status = Status::TryAgain;
  int pvd = -1;                              // the PvD that answered (or was tried last)
  std::string owner;                         // canonical name: owner of the address records
  std::string qname;                         // the fully qualified name that answered
                                             // (search list applied), no trailing dot
  std::vector<policy::IpAddress> addresses;  // A records first, then AAAA, as received
  std::vector<std::string> names;            // PTR targets (reverse)
  uint32_t ttl = 0;                          // seconds left on the answer
  bool cacheHit = false;
  // No PvD of the list could answer (all TryAgain, or no servers): a non-strict caller
  // may hand the name to the system resolver; a strict one fails with EAI_AGAIN.
  bool exhausted = false;
  std::string why;  // for traces: "no DNS servers", "timeout", ...
};

struct RawAnswer {
  Status status = Status::TryAgain;
  int pvd = -1;
  bool exhausted = false;
  std::vector<uint8_t> response;  // the last response received, if any
};

// Called with one JSON object (no newline) per resolution when set.
using TraceSink = void (*)(void* ctx, std::string_view line);

// Told, after each PvD asked on a cache miss of lookup()/reverse(), whether that PvD's
// servers answered (true) or every query timed out (false); failures that are not
// timeouts (no servers, SERVFAIL) say nothing. Per-PvD health (issue 29) listens here.
using HealthSink = void (*)(void* ctx, policy::PvdId pvd, bool answered);
// One sink per process, shared by every Resolver (set once by the runtime at start).
void setHealthSink(HealthSink sink, void* ctx) noexcept;

struct ResolverOptions {
  // A poor link (RFC 6418 3.x: cellular, congested Wi-Fi) often has RTTs of several
  // hundred ms. The first try waits 1 s (glibc: 5 s), c-ares doubles the wait on each
  // round, three rounds over the PvD's servers: one unresponsive server costs 1+2+4 = 7 s
  // before the next PvD is tried (glibc: 2 x 5 s = 10 s before giving up).
  int timeoutMs = 1000;
  int tries = 3;
  uint32_t maxTtl = 86400;                 // cap on any cached TTL
  const policy::Policy* policy = nullptr;  // for PvD names in traces (optional)
  TraceSink trace = nullptr;
  void* traceCtx = nullptr;
};

// What the resolve engine asks of a resolver: a seam (issue 27), Resolver below in
// production, a fake in unit tests of the runtime. Not on the connect path.
class Lookups {
 public:
  virtual ~Lookups() = default;
  // A (want4) and/or AAAA (want6) records of `name` through the PvDs of `order`, first to
  // last. `call` names the entry point for traces ("getaddrinfo").
  virtual Answer lookup(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                        std::string_view name, bool want4, bool want6, std::string_view call) = 0;
  // PTR of `addr` (no search list) through the PvDs of `order`.
  virtual Answer reverse(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                         const policy::IpAddress& addr, std::string_view call) = 0;
  // One query of class `cls` and type `type`, as res_query (search=false) or res_search
  // (search=true) would send it; not cached (such programs expect live answers).
  virtual RawAnswer raw(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                        std::string_view name, int cls, int type, bool search,
                        std::string_view call) = 0;
};

class Resolver final : public Lookups {
 public:
  explicit Resolver(ResolverOptions opts = {});
  ~Resolver() override;
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  Answer lookup(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                std::string_view name, bool want4, bool want6, std::string_view call) override;
  Answer reverse(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                 const policy::IpAddress& addr, std::string_view call) override;
  RawAnswer raw(const view::Snapshot& snap, std::span<const policy::PvdId> order,
                std::string_view name, int cls, int type, bool search,
                std::string_view call) override;

  // Forgets every cached answer and tag of `pvd` (also done automatically when the view
  // shows the PvD went down, or its interface, sources, servers or domains changed).
  void flushPvd(policy::PvdId pvd);
  size_t cachedEntries(policy::PvdId pvd) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mif::dns
