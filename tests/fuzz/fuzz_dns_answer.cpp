// libFuzzer: arbitrary bytes as a DNS response, read the way the resolver reads what
// c-ares hands it (wire::parse: the question, the answer section along the CNAME chain,
// the authority section's SOA), then turned into what the program gets: a getaddrinfo
// list in glibc's layout (built, sorted, freed node by node as glibc's freeaddrinfo
// would), a hostent in a caller's buffer of every size up to what it needs, and the
// address -> PvD tags (recorded, looked up, dropped).
//
// The first byte picks the question type and the getaddrinfo hints; the name asked for
// is the response's own first question (so that the fuzzer reaches the answer section),
// or a fixed name when there is none.
#include <ares.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "mif/dns/addrinfo.h"
#include "mif/dns/hostent.h"
#include "mif/dns/tags.h"
#include "mif/dns/wire.h"

using namespace mif;

namespace {

// The message's own question (wire::question, which the --enforce DNS stub matches
// answers with), else a fixed name.
std::string firstQuestion(std::span<const uint8_t> msg) {
  std::string name;
  uint16_t type = 0, cls = 0;
  return dns::wire::question(msg, &name, &type, &cls) ? name : std::string("a.example");
}

// glibc's freeaddrinfo: one free per node (ai_addr lives inside it) and ai_canonname.
void glibcFree(addrinfo* ai) {
  while (ai != nullptr) {
    addrinfo* next = ai->ai_next;
    if (ai->ai_addr != nullptr &&
        (reinterpret_cast<char*>(ai->ai_addr) < reinterpret_cast<char*>(ai) ||
         reinterpret_cast<char*>(ai->ai_addr) + ai->ai_addrlen >
             reinterpret_cast<char*>(ai) + sizeof(addrinfo) + sizeof(sockaddr_storage)))
      __builtin_trap();  // ai_addr must be in the node's own allocation
    free(ai->ai_canonname);
    free(ai);
    ai = next;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const uint16_t kTypes[] = {dns::wire::kTypeA, dns::wire::kTypeAaaa, dns::wire::kTypePtr,
                                    dns::wire::kTypeCname};
  const uint8_t control = data[0];
  const uint16_t qtype = kTypes[control & 3];
  std::span<const uint8_t> msg(data + 1, size - 1);
  const std::string qname = (control & 0x80) ? std::string("a.example.") : firstQuestion(msg);

  dns::wire::Response r = dns::wire::parse(msg, qname, qtype);
  if (!r.ok) return 0;
  for (const auto& a : r.addresses)
    if ((qtype == dns::wire::kTypeA && a.family != policy::Family::V4) ||
        (qtype == dns::wire::kTypeAaaa && a.family != policy::Family::V6))
      __builtin_trap();  // an address of the other type was taken
  if (r.addresses.empty() && r.names.empty() && r.ttl != 0) __builtin_trap();
  (void)dns::wire::normalise(r.owner);

  dns::Answer answer;
  answer.status = dns::Status::Ok;
  answer.pvd = control & 1;
  answer.owner = r.owner;
  answer.qname = dns::wire::normalise(qname);
  answer.addresses = r.addresses;
  answer.names = r.names;
  answer.ttl = r.ttl;

  if (!answer.addresses.empty()) {
    addrinfo hints{};
    static const int kFamilies[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_INET6};
    hints.ai_family = kFamilies[(control >> 2) & 3];
    if (control & 0x10) hints.ai_flags |= AI_CANONNAME;
    if (control & 0x20) hints.ai_flags |= AI_V4MAPPED | ((control & 0x40) ? AI_ALL : 0);
    const dns::ServTuple services[] = {{SOCK_STREAM, IPPROTO_TCP, htons(443)},
                                       {SOCK_DGRAM, IPPROTO_UDP, htons(443)}};
    addrinfo* res = nullptr;
    int rc = dns::buildAddrinfo(qname.c_str(), hints, answer, std::span(services).first(
                                    (control & 0x40) ? 2 : 1), nullptr, nullptr, &res);
    if (rc == 0) {
      for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next)
        if (ai->ai_addr == nullptr || (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
          __builtin_trap();
      glibcFree(res);
    } else if (res != nullptr) {
      __builtin_trap();
    }

    // hostent: every buffer size from nothing to enough must give ERANGE or a full answer.
    std::vector<std::string> aliases;
    if (r.owner != qname) aliases.push_back(dns::wire::normalise(qname));
    const int af = (control & 0x08) ? AF_INET6 : AF_INET;
    std::vector<char> buf(1);
    for (size_t len = 0; len < 4096; len = len * 2 + 7) {
      buf.assign(len + 1, '\x5a');
      hostent h{};
      int e = dns::fillHostent(&h, buf.data() + 1, len, r.owner.empty() ? qname : r.owner, aliases,
                               af, answer.addresses);
      if (e == ERANGE) continue;
      if (e != 0 || buf[0] != '\x5a') __builtin_trap();
      for (char** a = h.h_addr_list; *a != nullptr; ++a)
        if (*a < buf.data() + 1 || *a + h.h_length > buf.data() + 1 + len) __builtin_trap();
      break;
    }

    for (const auto& a : answer.addresses)
      dns::recordTag(a, answer.pvd, answer.qname, std::max(answer.ttl, dns::kTagMinTtl));
    for (const auto& a : answer.addresses) {
      dns::Tag t;
      if (dns::lookupTag(a, &t) && (t.pvd < 0 || t.name == nullptr)) __builtin_trap();
    }
    if (control & 0x02) dns::dropTagsForPvd(answer.pvd);
  }
  return 0;
}
