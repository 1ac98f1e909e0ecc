#pragma once
// Active connectivity checks through one PvD at a time (RFC 6418 4.4 "poor layer 2", 5.5
// item 6), for `mif probe` and `mif run --probe`.
//
// A PvD's link may be up with an address and still lose most of its packets; the live view
// cannot tell. A probe sends real traffic through the PvD only — every socket is bound to
// its interface (SO_BINDTODEVICE) and, when the PvD has one, its source address — and
// counts what comes back:
//   - DNS: a query (". IN NS", any answer counts, NXDOMAIN and REFUSED included) over UDP
//     to each of the PvD's DNS servers;
//   - reachability: a TCP connect to each target (default: each DNS server on TCP). A
//     refusal (RST) counts as reached: the path through the PvD worked both ways.
// Each check is attempted `count` times, attempt n starting n x 100 ms after the first, each
// with its own timeout. Every probe of every PvD runs in one poll() loop, so probing many
// PvDs takes about as long as probing one: (count - 1) x 100 ms + timeout at most.
#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/policy.h"
#include "mif/view/snapshot.h"

namespace mif::probe {

// "ADDRESS:PORT" or "[V6]:PORT" (an address, not a name: a name would have to be resolved
// through each PvD first), as a policy's `probe` key takes it.
using Endpoint = policy::HostPort;
inline std::string parseEndpoint(std::string_view text, Endpoint* out) {
  return policy::parseHostPort(text, out);
}

struct Options {
  int count = 5;                               // attempts per check
  std::chrono::milliseconds timeout{1000};     // per attempt
  std::vector<Endpoint> targets;               // empty: each DNS server on TCP
  // Per PvD, in the order of run()'s `ids` (the prober: each PvD's policy `probe`
  // targets); when given, instead of `targets`.
  std::vector<std::vector<Endpoint>> targetsFor;
  // Also a DNS query to each of the PvD's servers over UDP (the prober: only when the
  // policy's `probe` names no target).
  bool dnsQueries = true;
};

// ok: loss below kPoorLossPercent. poor: some came back, but not enough. down: nothing
// came back, or the link cannot carry traffic at all. unknown: nothing could be tried (no
// DNS server and no target of a family the PvD has).
enum class Verdict { Ok, Poor, Down, Unknown };
const char* verdictName(Verdict);
inline constexpr double kPoorLossPercent = 50.0;

struct Check {
  enum class Kind { Dns, Tcp } kind = Kind::Dns;
  Endpoint to;
  int attempts = 0;
  int successes = 0;
  std::vector<double> rttMs;  // of the successful attempts
  std::optional<double> medianRttMs;
  std::string lastError;      // of the last failed attempt ("timeout", strerror)
};

struct Result {
  policy::PvdId id = 0;
  std::string name;
  std::string interface;   // "" when no interface matches
  std::vector<Check> checks;
  int attempts = 0;
  int successes = 0;
  double lossPercent = 0;  // 0 when nothing was attempted
  std::optional<double> medianRttMs;
  Verdict verdict = Verdict::Unknown;
  std::string why;  // "9/10 probes lost", "link down", ... ("" when ok with no loss)
};

// A socket that can only leave through `p`: bound to its interface and, when the PvD names
// one, to its source address; non-blocking, close-on-exec. -1 with errno set.
int openThrough(const view::BoundPvd& p, policy::Family f, int type);
socklen_t toSockaddr(const policy::IpAddress& a, uint16_t port, sockaddr_storage* ss);

// Probes the PvDs `ids` of `snap` (bound from `policy`) concurrently; results in the order
// of `ids`.
std::vector<Result> run(const policy::Policy& policy, const view::Snapshot& snap,
                        std::span<const policy::PvdId> ids, const Options& opts);

}  // namespace mif::probe
