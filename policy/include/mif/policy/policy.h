#pragma once
// The compiled policy and decide(): pure, deterministic, const after compile and so
// thread-safe by construction. decide() allocates nothing and takes no lock unless an
// Explanation is asked for.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/address.h"
#include "mif/policy/diagnostic.h"
#include "mif/policy/model.h"

namespace mif::policy {

using PvdId = uint16_t;  // index into Policy::pvds()
inline constexpr size_t kMaxListed = 16;  // longest `pvd = [...]` list accepted

// Matching (docs/policy.md): a Resolve is matched only by rules whose keys are domain/app,
// and by PvD domains. A `dscp` rule matches only a query whose dscp is known and listed. Connect/Send: every key; `dst` and PvD `prefixes` against `address`.
// Bind: `address` is the local address — never matched by `dst`, judged at step 5 by PvD
// `source` prefixes; `port` is the local port.
struct Query {
  enum class Kind : uint8_t { Resolve, Connect, Send, Bind };
  Kind kind = Kind::Connect;
  // Resolve: the name asked. Others: the name the address came from, when known ("" if not).
  std::string_view name;
  bool hasAddress = false;  // false for Resolve
  IpAddress address;        // destination (connect/send) or local address (bind); unmapped
  uint16_t port = 0;        // host order; 0 = unknown
  Proto proto = Proto::Any;
  int8_t dscp = -1;         // the socket's DSCP (IP_TOS / IPV6_TCLASS >> 2); -1 = unknown
  std::string_view app;     // executable's base name
  int taggedPvd = -1;       // the PvD whose DNS returned `address` (precedence step 4), or -1
};

// Per-PvD facts from the live interface view, indexed by PvdId.
struct PvdState {
  bool present = false;  // an interface matches
  bool v4 = false;       // usable for IPv4 (up, carrier, non-tentative address)
  bool v6 = false;
  bool usable(Family f) const { return f == Family::V4 ? v4 : v6; }
  bool anyUsable() const { return v4 || v6; }
};
struct View {
  std::span<const PvdState> pvds;  // may be shorter than Policy::pvds(): missing = absent
  PvdState state(PvdId id) const { return id < pvds.size() ? pvds[id] : PvdState{}; }
};

// DESIGN.md "Decision precedence". Locked=1 ... None=7 (stepNumber()).
enum class Step : uint8_t { Locked, StrictPin, Rule, DnsTag, PvdDomain, PvdPrefix, Pin, Default, None };
int stepNumber(Step);
const char* stepName(Step);

struct Decision {
  std::array<PvdId, kMaxListed> pvds{};  // usable PvDs, in preference order
  uint8_t count = 0;
  bool strict = false;
  Step step = Step::None;
  int rule = -1;  // index into Policy::rules() when step is Locked or Rule
  // Strict and nothing usable: connect/sendto fail with ENETUNREACH, resolution with EAI_AGAIN.
  bool blocked() const { return strict && count == 0; }
  // Nothing matched (step 7): leave the socket to the kernel, the name to the system resolver.
  bool unmanaged() const { return step == Step::None; }
};

// Everything that matched, for `mif explain`: the winner and every match that lost.
struct Match {
  Step step = Step::None;
  int rule = -1;                 // for rule steps
  std::vector<PvdId> listed;     // the PvDs this match names, in order
  bool strict = false;
  bool won = false;
  std::string why;               // e.g. "lost to locked rule /etc/mif/policy.toml:3",
                                 // "none of its PvDs is usable"
  SourceRef where;               // rule, PvD or [default] location
  std::string detail;            // what matched, e.g. "app = \"curl\"", "domain corp.example"
};
struct Explanation {
  std::vector<Match> matches;  // in precedence order
};

struct CompileResult;

class Policy {
 public:
  // Merges the layers (PvDs by name: a later layer's PvD of the same name is an error
  // unless identical... see docs/policy.md), applies the pin (ad hoc PvDs for interface
  // names), checks references, and builds the matchers. Diagnostics name file:line:col.
  static CompileResult compile(std::vector<PolicyDoc> layers, const Pin& pin);

  Decision decide(const Query& q, const View& v, Explanation* explain = nullptr) const noexcept;

  // System layer's PvDs first, in file order, then user, command line, then ad hoc PvDs.
  const std::vector<PvdDef>& pvds() const;
  // In precedence order: locked system rules, then command line, user, system rules, each
  // in file order (Decision::rule and Match::rule index this).
  const std::vector<RuleDef>& rules() const;
  const std::optional<DefaultDef>& defaults() const;
  const Pin& pin() const;
  std::optional<PvdId> findPvd(std::string_view name) const;
  // Whether any rule has a `dscp` key: only then need a socket's DSCP be read per query.
  bool usesDscp() const;
  // [failover] attempt_delay_ms of the last layer that sets it, else 250 (RFC 8305): how
  // long a connect's attempt through one PvD runs alone before the next PvD's starts.
  uint32_t attemptDelayMs() const;

  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;
  ~Policy();

 private:
  struct Impl;
  explicit Policy(std::unique_ptr<Impl>);
  std::unique_ptr<Impl> impl_;
};

struct CompileResult {
  std::optional<Policy> policy;  // empty when diagnostics has errors
  std::vector<Diagnostic> diagnostics;
};

}  // namespace mif::policy
