#pragma once
// A per-thread memo of finished getaddrinfo results (issue 26): the same name asked again
// with the same service and hints, while nothing that shaped the answer has changed, is
// rebuilt from the memo without the decision, the cache's lock, the sort or any string.
//
// What shaped the answer, and how the memo knows it is unchanged:
// - the view (the decision, AI_ADDRCONFIG, the RFC 6724 sort's sources): the snapshot's
//   generation, which the caller reads from a fresh LiveView::current();
// - the records' TTL: the entry expires with the answer it was built from;
// - /etc/hosts (a name added there goes to glibc): hostsGeneration();
// - the address tags that a connect uses (precedence step 4): each address's tag must
//   still name the PvD that answered (expired, dropped with its PvD, or taken by another
//   PvD's answer: the caller takes the full path, which writes it again). Another name of
//   the same PvD with the same address may have re-tagged it: a tag holds one name, the
//   last full lookup's, so the memo does not insist on its own;
// - the service expansion: only numeric services (or none) are memoised; glibc reads
//   /etc/services on every call for a named one, and so does mif.
// Only successful answers are memoised. Nothing here allocates except the result nodes,
// one malloc per node in glibc's layout (addrinfo.h), and nothing takes a lock.
#include <netdb.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>

#include "mif/dns/resolver.h"

namespace mif::dns {

class AddrinfoMemo {
 public:
  static constexpr size_t kEntries = 8;
  static constexpr size_t kMaxNodes = 16;
  static constexpr size_t kMaxName = 256;  // with its NUL
  static constexpr size_t kMaxService = 6;

  // What the answer depends on beyond the call's arguments.
  struct State {
    uint64_t viewGeneration = 0;
    uint32_t hostsGeneration = 0;
    int64_t nowNs = 0;  // CLOCK_MONOTONIC
  };

  // True when `service` can be memoised (absent, or 1-5 digits).
  static bool memoisable(const char* service) noexcept;

  // 0 and *res built when a live entry matches; -1 on a miss (nothing touched);
  // EAI_MEMORY when a node could not be allocated.
  int find(const char* node, const char* service, const addrinfo& hints, const State& now,
           addrinfo** res) noexcept;

  // The same, with the state asked only when an entry has these arguments: a miss costs
  // no view check. `state(State*)` fills the state and returns false when it cannot be
  // known (then a miss).
  template <typename StateFn>
  int find(const char* node, const char* service, const addrinfo& hints, StateFn&& state,
           addrinfo** res) noexcept {
    const Entry* e = withArguments(node, service, hints);
    if (e == nullptr) return -1;
    State now;
    if (!state(&now)) return -1;
    return answer(*e, now, res);
  }

  // Remembers `built` (the list about to be returned, already sorted) as the answer for
  // these arguments, from `answer` (its PvD, qname and TTL) under `state`. Does nothing
  // when the arguments or the list do not fit, the service is named, or the TTL is 0.
  void remember(const char* node, const char* service, const addrinfo& hints, const State& state,
                const Answer& answer, const addrinfo* built) noexcept;

  void clear() noexcept;

 private:
  struct Node {
    int family = 0, socktype = 0, protocol = 0;
    sockaddr_in6 addr{};  // large enough for both families
  };
  struct Entry {
    bool used = false;
    uint64_t viewGeneration = 0;
    uint32_t hostsGeneration = 0;
    int64_t expiryNs = 0;
    int flags = 0, family = 0, socktype = 0, protocol = 0;
    bool hasService = false;
    char service[kMaxService] = {};
    char node[kMaxName] = {};
    int pvd = -1;
    char tagName[kMaxName] = {};  // the name the full lookup tagged (normalised qname)
    bool hasCanon = false;
    char canon[kMaxName] = {};
    size_t count = 0;
    Node nodes[kMaxNodes];
  };
  const Entry* withArguments(const char* node, const char* service,
                             const addrinfo& hints) const noexcept;
  int answer(const Entry& e, const State& now, addrinfo** res) noexcept;
  static bool tagsHold(const Entry& e) noexcept;

  Entry entries_[kEntries];
  unsigned next_ = 0;
};

}  // namespace mif::dns
