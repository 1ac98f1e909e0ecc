#pragma once
// What the run's DNS stub (dns_stub.h) makes of the bytes it is sent, apart from its
// sockets: a query from the supervised program, a PvD server's reply to a forwarded query
// (and what it teaches DnsMemory), and which PvD's reply the program gets. DnsStub calls
// these on every message; tests/fuzz/fuzz_dns_stub.cpp calls the same functions on
// arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "enforce/dns_memory.h"
#include "mif/policy/policy.h"

namespace mif::enforce {

// A query the program sent to the stub: its question (name as text, type, class). False
// when it is not a query (too short, the QR bit set) or has no readable question: the
// stub drops it.
bool programQuery(std::span<const uint8_t> msg, std::string* name, uint16_t* type, uint16_t* cls);

enum class ReplyUse : uint8_t {
  Ignore,        // not the answer to the query (another ID, not a response, another question)
  Conclusive,    // ends the PvD's search: NOERROR, NXDOMAIN, a truncated answer
  Inconclusive,  // SERVFAIL, REFUSED...: the PvD's next server, else passed over
};
// `msg`, received from PvD `pvd`'s server on the socket the query (`name`, `type`, `cls`)
// was sent with ID `id`: what it is to the query. A conclusive A or AAAA answer of class IN
// is recorded in `memory` (a truncated one only when it holds addresses); a NOERROR or
// NXDOMAIN answer that cannot be parsed is inconclusive.
ReplyUse upstreamReply(std::span<const uint8_t> msg, uint16_t id, const std::string& name,
                       uint16_t type, uint16_t cls, policy::PvdId pvd, DnsMemory& memory,
                       uint64_t nowMs);

// What one PvD has given a forwarded query so far.
struct UpstreamState {
  bool done = false;      // answered conclusively, or every server of the PvD failed
  bool good = false;      // a conclusive answer (NOERROR, NXDOMAIN; a truncated one)
  bool hasReply = false;  // some reply to pass on (SERVFAIL, REFUSED... included)
};
inline constexpr size_t kAnswerWait = static_cast<size_t>(-1), kAnswerNone = static_cast<size_t>(-2);
// Which PvD's reply the program gets, the PvDs in order: the first conclusive one once
// every PvD before it is done (kAnswerWait while one is not); when none is conclusive and
// all are done, the first reply there was; kAnswerNone when there was no reply at all.
size_t pickAnswer(const std::vector<UpstreamState>& states);

}  // namespace mif::enforce
