#include "enforce/dns_message.h"

#include "mif/dns/wire.h"

namespace mif::enforce {

namespace wire = dns::wire;

namespace {

// Ends a PvD's search: an answer the program's resolver would not pass over to the next
// server (glibc and Go try the next one on SERVFAIL, REFUSED, NOTIMP and FORMERR).
bool conclusive(int rcode) { return rcode == wire::kNoError || rcode == wire::kNxDomain; }

}  // namespace

bool programQuery(std::span<const uint8_t> msg, std::string* name, uint16_t* type, uint16_t* cls) {
  return msg.size() >= 12 && (msg[2] & 0x80) == 0 && wire::question(msg, name, type, cls);
}

ReplyUse upstreamReply(std::span<const uint8_t> msg, uint16_t id, const std::string& name,
                       uint16_t type, uint16_t cls, policy::PvdId pvd, DnsMemory& memory,
                       uint64_t nowMs) {
  std::string qname;
  uint16_t qtype = 0, qcls = 0;
  if (msg.size() < 12 || (msg[0] << 8 | msg[1]) != id || (msg[2] & 0x80) == 0 ||
      !wire::question(msg, &qname, &qtype, &qcls) || qtype != type || qcls != cls ||
      wire::normalise(qname) != wire::normalise(name))
    return ReplyUse::Ignore;  // not the answer to our query: ignored, as a resolver does
  bool good = conclusive(msg[3] & 0x0f);
  if (good && cls == 1 && (type == wire::kTypeA || type == wire::kTypeAaaa)) {
    wire::Response r = wire::parse(msg, name, type);
    // A truncated answer without addresses says nothing yet (the TCP retry is relayed).
    if (r.ok && !(r.truncated && r.addresses.empty()))
      memory.record(pvd, name, type, r.addresses, r.ttl, nowMs);
    else
      good = false;
    // The program still gets the truncated answer, and retries over TCP itself.
    if (r.truncated) good = true;
  }
  return good ? ReplyUse::Conclusive : ReplyUse::Inconclusive;
}

size_t pickAnswer(const std::vector<UpstreamState>& states) {
  for (size_t i = 0; i < states.size(); ++i) {
    if (!states[i].done) return kAnswerWait;
    if (states[i].good) return i;
  }
  for (size_t i = 0; i < states.size(); ++i)
    if (states[i].hasReply) return i;
  return kAnswerNone;
}

}  // namespace mif::enforce
