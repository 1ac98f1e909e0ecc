#pragma once
// Failover of a supervised TCP connect (issue 29, docs/architecture.md "Held connects"):
// for a connect whose decision lists further usable PvDs, the supervisor does not let the
// kernel run the call in the program's thread. It holds the notification, starts the
// connect itself on the program's own socket (the same open file, taken with
// pidfd_getfd), and, when that attempt fails with an error that says its path is broken
// (mif/view/path_error.h) or has not completed within the attempt delay, starts the next
// PvD's attempt on a fresh socket of its own (the program's options carried, pinned to
// that PvD). The first attempt to connect wins: the program's own socket is simply
// answered 0; a fresh one first replaces the program's descriptor number
// (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SETFD, the number's close-on-exec
// and the socket's O_NONBLOCK as the program had them). Every attempt failing answers the
// first attempt's error. A non-blocking connect is held at most until the last PvD's
// attempt has run one attempt delay: it is then answered EINPROGRESS with the live attempt
// in place (the program's own when it still runs), and the program waits for it as it
// would have.
//
// Owned and used by the supervisor's notification thread only; the held connects are
// stepped from its poll loop (Supervisor::run), beside the receipt of new notifications.
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <utility>
#include <vector>

#include "enforce/dns_stub.h"
#include "enforce/remote.h"
#include "enforce/sockets.h"
#include "enforce/trace.h"
#include "mif/policy/policy.h"
#include "mif/view/health.h"
#include "mif/view/snapshot.h"

namespace mif::enforce {

class HeldConnects {
 public:
  // `answer(id, error, value)` sends the notification's response (error > 0: fail the call
  // with it). `listener`: for SECCOMP_IOCTL_NOTIF_ADDFD.
  using Answer = std::function<void(uint64_t id, int error, int64_t value)>;
  // `health`: the run's per-PvD health, told what each attempt showed of its PvD.
  HeldConnects(const policy::Policy& policy, const Trace& trace, int listener, Answer answer,
               view::HealthTable& health);
  ~HeldConnects();
  HeldConnects(const HeldConnects&) = delete;
  HeldConnects& operator=(const HeldConnects&) = delete;

  enum class Start : uint8_t {
    Continue,  // not held: let the kernel run the call, as without failover
    Answered,  // completed at once: answer *error (0: connected) now
    Held,      // held (or already answered through `answer`): nothing more to answer now
  };
  // Starts the connect of notification `n` on `own` (the program's socket, already pinned
  // to order[0]) to `to` (the program's sockaddr bytes, `len` of them); `order` as
  // Decider::destination fills it (two PvDs or more). `localPort`: the socket's local port
  // as the pin read it (Verdict::localPort), -1 to ask the kernel.
  Start begin(const seccomp_notif& n, RemoteFd own, const SocketInfo& info,
              const sockaddr_storage& to, socklen_t len, const Endpoint& dest,
              std::vector<view::BoundPvd> order, int localPort, int* error);

  // The run's DNS stub (dns_stub.h), when the program's resolv.conf names it: an attempt on
  // a PvD other than the one whose answer the destination was connects to that PvD's own
  // answer for the name, and skips the PvD when it has none. Not owned.
  void resolveWith(DnsStub* stub) { dns_ = stub; }

  bool empty() const { return held_.empty(); }
  // The descriptors to wait on (POLLOUT each), appended to `fds`, and the poll timeout in
  // milliseconds (-1: none) until the next timer of a held connect.
  void pollSet(std::vector<pollfd>* fds) const;
  int timeoutMs() const;
  // After the poll: `fds` from the index pollSet() appended at, in the same order.
  void step(const pollfd* fds, size_t count);
  // The supervisor stops: every held call is answered with its first error (or EINTR).
  void abandonAll();

 private:
  struct Attempt {
    int fd = -1;          // ours; the program's own socket's duplicate for the first
    size_t pvd = 0;       // index in Held::pvds
    uint64_t startMs = 0;
    bool live = true;
    int error = 0;
    Endpoint dest;        // where it connects: the program's, or its PvD's own answer
  };
  struct Held {
    uint64_t id = 0;
    pid_t tid = 0;
    int number = -1;  // the program's descriptor number
    RemoteFd own;
    SocketInfo info;
    int protocol = -1;  // SO_PROTOCOL, read when the first fresh socket is made
    sockaddr_storage to{};
    socklen_t len = 0;
    Endpoint dest;
    bool nonblocking = false;
    std::vector<view::BoundPvd> pvds;  // [0] = the program's own socket's PvD
    size_t started = 1;                // attempts started (pvds[0..started))
    std::vector<Attempt> attempts;
    uint64_t lastStartMs = 0;
    int firstError = 0;
    bool stopStarting = false;  // the server answered, or failover is not safe
    bool epollChecked = false;
    bool done = false;  // answered: removed after the step
    // The destination's name and the PvD that answered it (the DNS stub's memory), looked
    // up when a second attempt is first considered.
    bool sourceLooked = false;
    std::optional<DnsMemory::Source> source;
    bool waitingDns = false;  // the next PvD's answer is being asked of it
  };

  // Starts the next PvD's attempt (fresh socket). False when none is left or it cannot.
  bool startNext(Held& h, uint64_t now);
  // Every attempt has ended and none is left to start: answered with the first error.
  void finishIfOver(Held& h);
  // Settles an attempt whose connect ended with `err` (0: connected).
  void settle(Held& h, Attempt& a, int err, uint64_t now);
  // Answers the held call: `winner` in place (nullptr: none), with `error` or `value`.
  void finish(Held& h, const Attempt* winner, int error, int64_t value);
  bool install(Held& h, const Attempt& a);
  void trace(const Held& h, const view::BoundPvd& pvd, const char* action, int error,
             const Endpoint* dest = nullptr) const;
  // What an attempt on `pvd` ended with (`err`, `broken`) says of its health, as the library
  // judges its own connects (preload/src/failover.cpp): connected = success; ETIMEDOUT =
  // a timeout; broken on the way = failed; the server's refusal says nothing.
  void tell(pid_t tid, const view::BoundPvd& pvd, int err, bool broken);
  // `a` was still trying when another PvD's attempt won: it lost by timing out.
  void lost(const Held& h, const Attempt& a);
  void traceHealth(pid_t tid, const view::BoundPvd& pvd, const view::HealthChange& c,
                   const char* reason) const;

  const policy::Policy& policy_;
  const Trace& trace_;
  view::HealthTable& health_;
  int listener_;
  Answer answer_;
  uint32_t delayMs_;
  DnsStub* dns_ = nullptr;
  std::list<Held> held_;  // stable addresses: polled_ points into it
  // What pollSet() handed out, in order: the held connect and its attempt's index.
  mutable std::vector<std::pair<Held*, size_t>> polled_;
};

// Whether descriptor `number` of thread `tid`'s process is registered with an epoll
// instance of that process (its fdinfo's `tfd:` lines). A descriptor registered before
// its connect (nginx's order) must keep its open file: an epoll set watches the file, and
// a number given another file would leave it watching the old one.
bool registeredWithEpoll(pid_t tid, int number);

// The close-on-exec flag of descriptor `number` of thread `tid` (its fdinfo's `flags:`),
// false when it cannot be read.
bool closeOnExec(pid_t tid, int number);

}  // namespace mif::enforce
