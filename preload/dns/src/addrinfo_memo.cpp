// The per-thread getaddrinfo memo: see addrinfo_memo.h.
#include "mif/dns/addrinfo_memo.h"

#include <cstdlib>
#include <cstring>

#include "mif/dns/tags.h"
#include "mif/dns/wire.h"

namespace mif::dns {
namespace {

// strcpy into a fixed buffer; false (nothing usable) when `s` does not fit.
bool copyInto(char* dst, size_t cap, const char* s) noexcept {
  const size_t n = std::strlen(s);
  if (n >= cap) return false;
  std::memcpy(dst, s, n + 1);
  return true;
}

policy::IpAddress addressOf(const sockaddr_in6& sa) noexcept {
  policy::IpAddress a;
  if (sa.sin6_family == AF_INET6) {
    a.family = policy::Family::V6;
    std::memcpy(a.bytes.data(), &sa.sin6_addr, 16);
  } else {
    a.family = policy::Family::V4;
    std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in&>(sa).sin_addr, 4);
  }
  return a.unmapped();
}

}  // namespace

bool AddrinfoMemo::memoisable(const char* service) noexcept {
  if (service == nullptr) return true;
  size_t n = std::strlen(service);
  if (n == 0 || n >= kMaxService) return false;
  for (size_t i = 0; i < n; ++i)
    if (service[i] < '0' || service[i] > '9') return false;
  return true;
}

const AddrinfoMemo::Entry* AddrinfoMemo::withArguments(const char* node, const char* service,
                                                        const addrinfo& hints) const noexcept {
  // remember() keeps one entry per set of arguments: the first match is the only one.
  for (const Entry& e : entries_) {
    if (e.used && e.flags == hints.ai_flags && e.family == hints.ai_family &&
        e.socktype == hints.ai_socktype && e.protocol == hints.ai_protocol &&
        e.hasService == (service != nullptr) &&
        (service == nullptr || std::strcmp(e.service, service) == 0) &&
        std::strcmp(e.node, node) == 0)
      return &e;
  }
  return nullptr;
}

bool AddrinfoMemo::tagsHold(const Entry& e) noexcept {
  const sockaddr_in6* last = nullptr;
  for (size_t i = 0; i < e.count; ++i) {
    const sockaddr_in6& sa = e.nodes[i].addr;
    // Nodes of one address follow each other (one per socket type): one check each.
    if (last != nullptr && last->sin6_family == sa.sin6_family &&
        (sa.sin6_family == AF_INET6
             ? std::memcmp(&last->sin6_addr, &sa.sin6_addr, 16) == 0
             : std::memcmp(&reinterpret_cast<const sockaddr_in*>(last)->sin_addr,
                           &reinterpret_cast<const sockaddr_in&>(sa).sin_addr, 4) == 0))
      continue;
    last = &sa;
    // The PvD must be the one that answered; the name may be another name of that PvD
    // with the same address (a CDN's names): a tag holds one name, the last full lookup's,
    // and rewriting it on every hit would make threads resolving such names take turns
    // through the full path.
    Tag t;
    if (!lookupTag(addressOf(sa), &t) || t.pvd != e.pvd) return false;
  }
  return true;
}

int AddrinfoMemo::find(const char* node, const char* service, const addrinfo& hints,
                       const State& now, addrinfo** res) noexcept {
  const Entry* e = withArguments(node, service, hints);
  return e != nullptr ? answer(*e, now, res) : -1;
}

int AddrinfoMemo::answer(const Entry& e, const State& now, addrinfo** res) noexcept {
  if (e.viewGeneration != now.viewGeneration || e.hostsGeneration != now.hostsGeneration ||
      e.expiryNs <= now.nowNs || !tagsHold(e))
    return -1;
  char* canon = nullptr;
  if (e.hasCanon && (canon = strdup(e.canon)) == nullptr) return EAI_MEMORY;
  addrinfo* head = nullptr;
  addrinfo** tail = &head;
  for (size_t i = 0; i < e.count; ++i) {
    const Node& n = e.nodes[i];
    const socklen_t len = n.family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    auto* ai = static_cast<addrinfo*>(malloc(sizeof(addrinfo) + len));
    if (ai == nullptr) {
      free(canon);
      while (head != nullptr) {
        addrinfo* next = head->ai_next;
        free(head->ai_canonname);
        free(head);
        head = next;
      }
      return EAI_MEMORY;
    }
    ai->ai_flags = e.flags;
    ai->ai_family = n.family;
    ai->ai_socktype = n.socktype;
    ai->ai_protocol = n.protocol;
    ai->ai_addrlen = len;
    ai->ai_addr = reinterpret_cast<sockaddr*>(ai + 1);
    std::memcpy(ai->ai_addr, &n.addr, len);
    ai->ai_canonname = canon;  // the first node only, as glibc
    canon = nullptr;
    ai->ai_next = nullptr;
    *tail = ai;
    tail = &ai->ai_next;
  }
  *res = head;
  return 0;
}

void AddrinfoMemo::remember(const char* node, const char* service, const addrinfo& hints,
                            const State& state, const Answer& answer,
                            const addrinfo* built) noexcept {
  if (answer.ttl == 0 || answer.pvd < 0 || !memoisable(service)) return;
  Entry e;
  size_t count = 0;
  for (const addrinfo* p = built; p != nullptr; p = p->ai_next) {
    if (count == kMaxNodes || p->ai_addrlen > sizeof(sockaddr_in6) ||
        (p->ai_family != AF_INET && p->ai_family != AF_INET6))
      return;
    Node& n = e.nodes[count++];
    n.family = p->ai_family;
    n.socktype = p->ai_socktype;
    n.protocol = p->ai_protocol;
    std::memcpy(&n.addr, p->ai_addr, p->ai_addrlen);
  }
  if (count == 0 || !copyInto(e.node, sizeof e.node, node)) return;
  if (service != nullptr && !copyInto(e.service, sizeof e.service, service)) return;
  if (built->ai_canonname != nullptr) {
    if (!copyInto(e.canon, sizeof e.canon, built->ai_canonname)) return;
    e.hasCanon = true;
  }
  try {
    const std::string tagName = wire::normalise(answer.qname);
    if (!copyInto(e.tagName, sizeof e.tagName, tagName.c_str())) return;
  } catch (...) {
    return;
  }
  e.count = count;
  e.hasService = service != nullptr;
  e.flags = hints.ai_flags;
  e.family = hints.ai_family;
  e.socktype = hints.ai_socktype;
  e.protocol = hints.ai_protocol;
  e.pvd = answer.pvd;
  e.viewGeneration = state.viewGeneration;
  e.hostsGeneration = state.hostsGeneration;
  e.expiryNs = state.nowNs + int64_t(answer.ttl) * 1000000000;
  e.used = true;
  // The same arguments replace their own entry; otherwise the oldest goes.
  for (Entry& old : entries_) {
    if (old.used && old.flags == e.flags && old.family == e.family &&
        old.socktype == e.socktype && old.protocol == e.protocol &&
        old.hasService == e.hasService && std::strcmp(old.service, e.service) == 0 &&
        std::strcmp(old.node, e.node) == 0) {
      old = e;
      return;
    }
  }
  entries_[next_++ % kEntries] = e;
}

void AddrinfoMemo::clear() noexcept {
  for (Entry& e : entries_) e.used = false;
}

}  // namespace mif::dns
