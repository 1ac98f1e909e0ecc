#pragma once
// The decision of the last datagram each unconnected, unbound datagram socket sent
// (issue 26): a datagram to the same destination, while the view's generation and the
// destination's DNS tag are unchanged, reuses it instead of asking the socket's binding
// and type (two getsockopt) and deciding again. What a hit costs: the view's freshness
// check (which current() makes anyway, at most once per 100 us), a tag lookup, and this
// table's seqlock read. The socket itself may be pinned once as well (unicast_if.h).
//
// Keyed by descriptor, below kSlots (others are never cached). An entry is forgotten when
// the program closes, dup2s over, binds or connects the descriptor, or gets a new socket
// with its number (every one of those goes through a hook). Not seen, so not forgotten: a
// raw close(2) system call followed by a new socket with the same number made by a raw
// socket(2) and sending to the same destination, and SO_BINDTODEVICE set by the program
// itself after it sent (the documented limits, docs/architecture.md).
//
// Lock-free: each slot is a seqlock over atomic words; a reader that meets a writer
// misses (and decides in full); two writers of one slot never block, the loser skips.
#include <cstdint>

#include "mif/policy/policy.h"

namespace mif::preload::dgram {

inline constexpr int kSlots = 1024;

struct Entry {
  // The key.
  uint64_t generation = 0;  // 0: empty
  policy::IpAddress addr;
  uint16_t port = 0;
  int16_t dscp = -1;        // -1: not part of the key (no rule uses dscp)
  int32_t taggedPvd = -1;   // the destination's DNS tag at decision time (-1: none)
  // Set by store(): > 0 when the decision is a strict pin to this one interface with the
  // source the kernel picks there (what a socket pinned once carries, unicast_if.h); read
  // by pinnedHit() together with the key, without copying the rest.
  int32_t pinnedIfindex = 0;
  // What was decided.
  bool decided = false;
  policy::Decision decision;
  bool pktinfo = false;
  bool hasSource = false;
  int32_t error = 0;
  int32_t ifindex = 0;
  policy::IpAddress source;
  char ifname[16] = {};
  const char* note = "";    // a static string
};

// True when fd's entry has this key; fills *out.
bool lookup(int fd, uint64_t generation, const policy::IpAddress& addr, uint16_t port,
            int16_t dscp, int32_t taggedPvd, Entry* out) noexcept;
void store(int fd, const Entry& e) noexcept;
// The fast path of a socket pinned once (hook_send.cpp): true when fd's entry has this key
// (dscp not part of it) and a pinnedIfindex, which goes to *ifindex. Copies the key's few
// words only.
bool pinnedHit(int fd, uint64_t generation, const policy::IpAddress& addr, uint16_t port,
               int32_t taggedPvd, int* ifindex) noexcept;
// True when fd's slot holds an entry (one relaxed load): only then is a lookup worth the
// view's freshness check.
bool occupied(int fd) noexcept;
void forget(int fd) noexcept;
void forgetRange(unsigned lo, unsigned hi) noexcept;

}  // namespace mif::preload::dgram
