#pragma once
// DNS through the supervisor (docs/architecture.md, "DNS through the supervisor"): with
// two or more resolver PvDs, the private /etc/resolv.conf of a `mif run --enforce` names
// this stub alone, a loopback address of the run (127.53.X.Y, port 53, UDP and TCP) that
// the supervisor serves from its poll loop. Each query the program sends over UDP is
// forwarded as it is (EDNS, flags, any type; only its ID is ours) to the first resolver
// PvD's server, from a socket of ours pinned to the PvD (its interface and source, as the
// library pins its own DNS sockets), and to the next PvD's only when that one failed
// (timeout, SERVFAIL, REFUSED), as the resolv.conf order and the library's resolver would:
// a PvD later in the list never sees a name the first one answered. The order is the run's
// health's (a failed PvD last, as the library's resolver). The A and AAAA answers are
// remembered (DnsMemory), so that a held connect failing over from PvD A to PvD B connects to B's
// own answer for the name (held_connect.h); a name B has not answered yet is asked of B
// alone, without blocking the loop (resolve()).
// TCP (a truncated answer's retry) is relayed byte for byte to the first usable PvD's
// server (the next on a failed connect), and not remembered.
// Owned and used by the supervisor's notification thread only.
#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "enforce/dns_memory.h"
#include "enforce/dns_message.h"
#include "enforce/sockets.h"
#include "mif/policy/policy.h"

namespace mif::enforce {

class Decider;

class DnsStub {
 public:
  // The UDP and TCP sockets on a loopback address of the run, port 53 (binding it needs
  // CAP_NET_BIND_SERVICE). nullptr with errno set when no address could be had.
  // `pvds`: the resolver PvDs in order (resolverPvds()).
  static std::unique_ptr<DnsStub> open(std::vector<policy::PvdId> pvds);
  ~DnsStub();
  DnsStub(const DnsStub&) = delete;
  DnsStub& operator=(const DnsStub&) = delete;

  const policy::IpAddress& address() const { return address_; }

  // Before the first step: where the PvDs' servers, interfaces and health come from.
  void attach(Decider& decider) { decider_ = &decider; }

  // The descriptors to wait on, appended to `fds`, and the poll timeout in milliseconds
  // (-1: none) until the next upstream deadline.
  void pollSet(std::vector<pollfd>* fds);
  int timeoutMs() const;
  // After the poll: `fds` from the index pollSet() appended at, in the same order.
  void step(const pollfd* fds, size_t count);

  // For a held connect (held_connect.h): the PvD and name `address` was answered for,
  // preferring PvD `prefer`'s answers.
  std::optional<DnsMemory::Source> sourceOf(const policy::IpAddress& address,
                                            policy::PvdId prefer) const;
  // PvD `pvd`'s answer for `name` of `family`. Unknown: a query for it through `pvd` alone
  // is under way (started now if it was not); ask again after a step().
  DnsMemory::Known resolve(policy::PvdId pvd, const std::string& name, policy::Family family,
                           policy::IpAddress* out);

  const DnsMemory& memory() const { return memory_; }

  // Limits (documented in docs/architecture.md).
  static constexpr size_t kMaxQueries = 256;     // forwarded queries in flight
  static constexpr size_t kMaxRelays = 32;       // TCP connections relayed at once
  static constexpr uint64_t kServerTimeoutMs = 2000;  // per server; then the PvD's next
  static constexpr uint64_t kRelayTimeoutMs = 10000;  // a TCP relay's whole life

 private:
  DnsStub() = default;
  struct Upstream {
    policy::PvdId pvd = 0;
    size_t server = 0;  // index in the PvD's servers of the one asked
    int fd = -1;
    uint16_t id = 0;
    uint64_t deadlineMs = 0;
    bool started = false;  // asked (the next PvD is asked only after this one failed)
    bool done = false;
    bool good = false;  // an answer that ends the search (not SERVFAIL, REFUSED...)
    std::vector<uint8_t> reply;
  };
  struct Query {
    bool fromProgram = false;
    sockaddr_storage client{};
    socklen_t clientLen = 0;
    uint8_t clientId[2] = {0, 0};
    std::vector<uint8_t> msg;
    std::string name;
    uint16_t type = 0, cls = 0;
    std::vector<Upstream> ups;  // in the order their answers are preferred
    bool replied = false;
  };
  struct Relay {
    int client = -1, up = -1;
    std::vector<policy::PvdId> order;
    size_t next = 0;  // index in `order` of the PvD to try after `up`'s
    bool connected = false, clientEof = false, upEof = false;
    std::vector<uint8_t> toUp, toClient;
    uint64_t deadlineMs = 0;
  };
  struct Polled {
    enum class Kind : uint8_t { Udp, Listener, Upstream, RelayClient, RelayUp } kind;
    Query* query = nullptr;
    size_t up = 0;
    Relay* relay = nullptr;
  };

  std::vector<policy::PvdId> order(uint64_t nowMs) const;
  // Sends `q.msg` through `u.pvd`'s server `u.server` (or the next one that works); false
  // when the PvD has none left.
  bool send(Query& q, Upstream& u, uint64_t nowMs);
  void finishUpstream(Query& q, Upstream& u, uint64_t nowMs);
  // Ends an upstream without an answer to pass on (no server left to ask).
  void giveUp(Query& q, Upstream& u, uint64_t nowMs);
  // Asks the first PvD not asked yet, unless one is under way or one gave a conclusive
  // answer; answers the program when nothing is left to ask.
  void askNext(Query& q, uint64_t nowMs);
  void receive(Query& q, Upstream& u, uint64_t nowMs);
  void answerProgram(Query& q);
  void fromProgram(uint64_t nowMs);
  void accept(uint64_t nowMs);
  bool connectRelay(Relay& r);
  bool stepRelay(Relay& r, const pollfd* client, const pollfd* up);
  static void closeRelay(Relay& r);

  policy::IpAddress address_;
  int udp_ = -1, tcp_ = -1;
  std::vector<policy::PvdId> pvds_;
  Decider* decider_ = nullptr;
  DnsMemory memory_;
  std::list<Query> queries_;
  std::list<Relay> relays_;
  std::vector<Polled> polled_;
  std::vector<uint8_t> buf_;
};

}  // namespace mif::enforce
