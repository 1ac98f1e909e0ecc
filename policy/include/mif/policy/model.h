#pragma once
// The policy as written: one PolicyDoc per layer, before compilation.
// DESIGN.md "Policy file" names the keys; docs/policy.md documents them.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/address.h"

namespace mif::policy {

// Layers in the order DESIGN.md gives them. Rules of a later layer are tried before those
// of an earlier one (command line, then user, then system), except `locked` system rules,
// which come before everything.
enum class Layer : uint8_t { System = 0, User = 1, CommandLine = 2 };
const char* layerName(Layer);

enum class Proto : uint8_t { Any, Tcp, Udp };

// A policy file's name as every SourceRef into that file holds it: one string shared by
// all of them, so that copying a SourceRef costs a reference count, not an allocation (a
// 10,000-rule policy holds 20,000 of them). Reads as a const std::string&.
class FileName {
 public:
  FileName() = default;
  FileName(std::string name)  // NOLINT: implicit, as the std::string it replaces
      : name_(name.empty() ? nullptr : std::make_shared<const std::string>(std::move(name))) {}
  FileName(const char* name) : FileName(std::string(name)) {}  // NOLINT
  const std::string& str() const noexcept { return name_ ? *name_ : none(); }
  operator const std::string&() const noexcept { return str(); }  // NOLINT
  const char* c_str() const noexcept { return str().c_str(); }
  bool empty() const noexcept { return str().empty(); }
  friend bool operator==(const FileName& a, const FileName& b) noexcept { return a.str() == b.str(); }

 private:
  static const std::string& none() noexcept {
    static const std::string empty;
    return empty;
  }
  std::shared_ptr<const std::string> name_;
};

struct SourceRef {
  FileName file;
  uint32_t line = 0;    // 1-based; 0 = not from a file (e.g. --pvd)
  uint32_t column = 0;  // 1-based
  std::string toString() const;  // "FILE:LINE" or "command line"
};

struct PortRange {
  uint16_t lo = 0, hi = 0;
  bool contains(uint16_t p) const { return p >= lo && p <= hi; }
};

// A target of a PvD's active probe: "ADDRESS:PORT" or "[V6]:PORT", an address rather than a
// name (a name would first have to be resolved through the PvD). `mif probe --target`
// takes the same text.
struct HostPort {
  IpAddress addr;
  uint16_t port = 0;
  std::string toString() const;  // 192.0.2.1:53, [2001:db8::1]:53
  bool operator==(const HostPort&) const = default;
};
// "" on success (*out set), else why the text is no HostPort.
std::string parseHostPort(std::string_view text, HostPort* out);

// `probe` and `probe_interval_ms` of a [pvd.NAME] (docs/policy.md): while a program runs
// under `mif run`, a prober checks the PvD through itself every interval as `mif probe`
// does, and the program's health follows (docs/architecture.md, "Active probes").
struct ProbeDef {
  static constexpr uint32_t kDefaultIntervalMs = 30000;
  static constexpr uint32_t kMinIntervalMs = 1000;
  static constexpr uint32_t kMaxIntervalMs = 3600000;
  std::vector<HostPort> targets;  // empty: the PvD's DNS servers (probe = true)
  uint32_t intervalMs = kDefaultIntervalMs;
  bool operator==(const ProbeDef&) const = default;
};

struct PvdDef {
  std::string name;
  std::string interfaceGlob;            // exact name or fnmatch glob ("wl*")
  std::vector<IpAddress> dns;           // this PvD's servers; empty = discover
  std::vector<std::string> domains;     // lower case, no trailing dot
  std::vector<Prefix> prefixes;         // destinations reached through this PvD
  std::vector<Prefix> source;           // interface addresses that belong to it (RFC 6418 4.5)
  Layer layer = Layer::System;
  SourceRef where;
  bool adHoc = false;                   // made from `--pvd IFNAME` with no policy PvD of that name
  // RFC 8801 PvD ID (lower case, no trailing dot): the PvD is the explicit PvD of that ID
  // that `mif discover` published (docs/discovery.md), on its interface, with its prefixes
  // as `source` and its DNS servers, unless the definition gives its own. An ad hoc
  // `--pvd NAME` with a dot in NAME also looks for a published PvD of that ID first.
  std::string explicitId;
  // Made for a rule's or [default]'s `pvd` entry that is a PvD ID no table defines
  // (docs/policy.md, "A PvD by its identity"): name and explicitId are that ID.
  bool byIdentity = false;
  std::optional<ProbeDef> probe;        // active probes while a program runs (absent: none)
};

struct RuleDef {
  std::optional<std::string> domain;    // suffix, lower case, no trailing dot
  std::optional<Prefix> dst;
  std::optional<PortRange> port;
  Proto proto = Proto::Any;
  std::optional<uint64_t> dscp;         // accepted DSCP values: bit n set = DSCP n (RFC 2474)
  std::optional<std::string> app;       // executable's base name
  std::vector<std::string> pvd;         // ordered preference
  bool strict = false;
  bool locked = false;                  // only valid in the system layer
  Layer layer = Layer::System;
  SourceRef where;                      // the [[rule]] header
  SourceRef pvdWhere;                   // the `pvd` value (for unknown-PvD errors)
};

struct DefaultDef {
  std::vector<std::string> pvd;
  bool strict = false;
  Layer layer = Layer::System;
  SourceRef where;
  SourceRef pvdWhere;                   // the `pvd` value (for unknown-PvD errors)
};

// "EF", "AF41", "CS6", "46"... -> 0-63, or -1 when it is none of them. The names are those
// of RFC 2474 (CSn, DF), RFC 2597 (AFxy), RFC 3246 (EF), RFC 5865 (VA) and RFC 8622 (LE).
int parseDscp(std::string_view text);
// 46 -> "EF", 10 -> "AF11", 13 -> "13".
std::string dscpName(int dscp);

// [failover]: how connects are raced across a decision's PvDs (RFC 8305).
struct FailoverDef {
  // The connection attempt delay: how long an attempt through one PvD runs alone before
  // the next PvD's attempt starts (RFC 8305 section 5: 250 ms recommended, 100 ms - 2 s).
  static constexpr uint32_t kDefaultAttemptDelayMs = 250;
  static constexpr uint32_t kMinAttemptDelayMs = 100;
  static constexpr uint32_t kMaxAttemptDelayMs = 2000;
  std::optional<uint32_t> attemptDelayMs;
  Layer layer = Layer::System;
  SourceRef where;
};

struct PolicyDoc {
  std::string file;
  Layer layer = Layer::System;
  std::vector<PvdDef> pvds;
  std::vector<RuleDef> rules;
  std::optional<DefaultDef> defaults;
  std::optional<FailoverDef> failover;
};

// What `mif run` / `mif explain` take from the command line (MIF_PVD, MIF_DNS, MIF_STRICT).
struct Pin {
  std::vector<std::string> pvds;  // names of PvDs, or interface names (ad hoc PvDs)
  std::vector<IpAddress> dns;     // servers for ad hoc PvDs
  bool strict = false;
};

}  // namespace mif::policy
