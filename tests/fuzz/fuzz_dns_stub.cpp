// libFuzzer: the --enforce supervisor's DNS stub (tools/enforce/dns_stub.h) on the bytes it
// does not control, through the functions DnsStub itself calls on each message
// (dns_message.h), without its sockets: a query from the supervised program
// (programQuery), then the replies of up to four PvDs' servers to it (upstreamReply, which
// records A and AAAA answers in the run's DnsMemory), the choice of the reply the program
// gets after each (pickAnswer) and that reply with the program's ID put back, as
// answerProgram sends it; then what a held connect's failover reads back from the memory
// (answer, sourceOf, the query resolve() would send for the name), and everything expired
// a day later.
//
// Input: byte 0 is the control (bits 0-1: PvDs - 1; bit 2: each reply gets its PvD's
// query ID written over its first two bytes, so that the fuzzer need not guess it), then
// the program's query as a chunk, then reply chunks. A chunk is one header byte (bits 0-1:
// which PvD's server sent it; bit 2: that PvD has another server to ask after an
// inconclusive reply; bits 3-7: seconds that pass before it), two bytes of length (big
// endian) and the bytes. The query's chunk header byte is unused.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "enforce/dns_memory.h"
#include "enforce/dns_message.h"
#include "mif/dns/wire.h"

using namespace mif;
using enforce::ReplyUse;

namespace {

struct Reader {
  const uint8_t* p;
  size_t left;
  // The next chunk: false when the input has ended.
  bool chunk(uint8_t* header, std::span<const uint8_t>* bytes) {
    if (left < 3) return false;
    *header = p[0];
    size_t len = size_t{p[1]} << 8 | p[2];
    p += 3;
    left -= 3;
    if (len > left) len = left;
    *bytes = std::span<const uint8_t>(p, len);
    p += len;
    left -= len;
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  Reader in{data + 1, size - 1};
  uint8_t header = 0;
  std::span<const uint8_t> query;
  if (!in.chunk(&header, &query)) return 0;

  std::string name;
  uint16_t type = 0, cls = 0;
  if (!enforce::programQuery(query, &name, &type, &cls)) return 0;
  if (query.size() < 12) __builtin_trap();  // the stub reads the client's ID from it
  const uint8_t clientId[2] = {query[0], query[1]};

  const size_t pvds = (control & 3) + 1u;
  const bool addresses = cls == 1 && (type == dns::wire::kTypeA || type == dns::wire::kTypeAaaa);
  enforce::DnsMemory memory;
  std::vector<enforce::UpstreamState> states(pvds);
  std::vector<std::vector<uint8_t>> replies(pvds);
  std::vector<uint16_t> ids(pvds);
  for (size_t i = 0; i < pvds; ++i) ids[i] = static_cast<uint16_t>(0x5a00 + i);
  uint64_t now = 1'000'000;
  bool replied = false;

  std::span<const uint8_t> bytes;
  while (in.chunk(&header, &bytes)) {
    now += (header >> 3) * 1000u;
    const size_t p = (header & 3) % pvds;
    if (states[p].done) continue;  // the stub has closed that PvD's socket
    std::vector<uint8_t> msg(bytes.begin(), bytes.end());
    if ((control & 4) && msg.size() >= 2) {
      msg[0] = static_cast<uint8_t>(ids[p] >> 8);
      msg[1] = static_cast<uint8_t>(ids[p]);
    }
    const ReplyUse use = enforce::upstreamReply(msg, ids[p], name, type, cls,
                                                static_cast<policy::PvdId>(p), memory, now);
    if (use == ReplyUse::Ignore) continue;
    if (msg.size() < 12) __builtin_trap();  // the stub writes the client's ID into it
    replies[p] = msg;
    states[p].hasReply = true;
    if (use == ReplyUse::Inconclusive && (header & 4)) {
      ++ids[p];  // the PvD's next server, asked with a new ID
      continue;
    }
    states[p].done = true;
    states[p].good = use == ReplyUse::Conclusive;
    if (!states[p].good && cls == 1)
      memory.record(static_cast<policy::PvdId>(p), name, type, {}, 0, now);
    if (replied) continue;
    const size_t chosen = enforce::pickAnswer(states);
    if (chosen == enforce::kAnswerWait) continue;
    replied = true;
    if (chosen == enforce::kAnswerNone) __builtin_trap();  // this PvD's reply is there
    if (chosen >= pvds || !states[chosen].done || replies[chosen].size() < 12) __builtin_trap();
    std::vector<uint8_t> out = replies[chosen];
    out[0] = clientId[0];
    out[1] = clientId[1];
  }
  // The PvDs still silent time out: a reply (or none) is chosen now.
  for (auto& s : states) s.done = true;
  if (enforce::pickAnswer(states) == enforce::kAnswerWait) __builtin_trap();
  if (memory.size() > enforce::DnsMemory::kCapacity) __builtin_trap();

  // What a held connect's failover reads back.
  if (addresses) {
    const policy::Family family = type == dns::wire::kTypeA ? policy::Family::V4 : policy::Family::V6;
    for (size_t p = 0; p < pvds; ++p) {
      policy::IpAddress a;
      const auto k = memory.answer(static_cast<policy::PvdId>(p), name, family, now, &a);
      if (k != enforce::DnsMemory::Known::Address) continue;
      if (a.family != family) __builtin_trap();
      const auto source = memory.sourceOf(a, static_cast<policy::PvdId>(p), now);
      if (!source || source->pvd != p || source->name != dns::wire::normalise(name)) __builtin_trap();
      // The query DnsStub::resolve() sends the next PvD for that name.
      const std::vector<uint8_t> q = dns::wire::buildQuery(source->name, type, 0);
      std::string again;
      uint16_t againType = 0, againCls = 0;
      if (!q.empty() && (!enforce::programQuery(q, &again, &againType, &againCls) ||
                         againType != type || againCls != 1))
        __builtin_trap();
    }
  }
  // A day later nothing is known any more.
  now += enforce::DnsMemory::kMaxTtlMs + 1;
  for (size_t p = 0; p < pvds; ++p) {
    policy::IpAddress a;
    if (memory.answer(static_cast<policy::PvdId>(p), name, policy::Family::V4, now, &a) !=
            enforce::DnsMemory::Known::Unknown ||
        memory.answer(static_cast<policy::PvdId>(p), name, policy::Family::V6, now, &a) !=
            enforce::DnsMemory::Known::Unknown)
      __builtin_trap();
  }
  return 0;
}
