#pragma once
// DNS messages: building the queries mif sends and reading the answers it gets back.
// Only what a stub resolver needs: one question, the answer section followed along the
// CNAME chain, and the SOA of the authority section for negative caching (RFC 2308).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/address.h"

namespace mif::dns::wire {

inline constexpr uint16_t kTypeA = 1, kTypeCname = 5, kTypeSoa = 6, kTypePtr = 12, kTypeAaaa = 28;
inline constexpr int kNoError = 0, kFormErr = 1, kServFail = 2, kNxDomain = 3, kNotImp = 4,
                     kRefused = 5;

// Builds a recursive query for `name` (text form, trailing dot optional). Empty on a name
// that cannot be encoded (a label over 63 bytes, over 255 in all, an empty label).
// `id` is the message ID (c-ares 1.18 sends the buffer's ID as it is: see randomId()).
std::vector<uint8_t> buildQuery(std::string_view name, uint16_t type, uint16_t id,
                                uint16_t cls = 1);
// An unpredictable 16-bit ID (per-thread generator seeded from getrandom), so that an
// off-path attacker cannot guess the IDs of the queries mif sends.
uint16_t randomId();

struct Response {
  bool ok = false;  // parsed (header and question readable)
  int rcode = -1;
  bool truncated = false;
  uint16_t ancount = 0;
  std::string owner;  // owner name of the first record of the asked type (after
                      // following CNAMEs), as on the wire, no trailing dot
  std::vector<policy::IpAddress> addresses;  // A or AAAA records of the chain, in order
  std::vector<std::string> names;            // PTR targets, in order
  uint32_t ttl = 0;                          // smallest TTL of the records used (chain included)
  bool hasSoa = false;
  uint32_t negativeTtl = 0;  // min(SOA TTL, SOA MINIMUM) when hasSoa
};

// Parses `msg` as the answer to a query for `qname` of type `qtype`.
Response parse(std::span<const uint8_t> msg, std::string_view qname, uint16_t qtype);

// The first question of a message (a query a program sent, or an answer): its name as
// text (no trailing dot), type and class. False when the header or question is unreadable.
bool question(std::span<const uint8_t> msg, std::string* name, uint16_t* type, uint16_t* cls);

// Lower-cases ASCII and strips one trailing dot: the cache key form of a name.
std::string normalise(std::string_view name);
// "4.3.2.1.in-addr.arpa" / nibble form under ip6.arpa.
std::string reverseName(const policy::IpAddress& a);

}  // namespace mif::dns::wire
