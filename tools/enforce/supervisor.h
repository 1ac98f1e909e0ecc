#pragma once
// The notification loop: receives each supervised call from the seccomp listener, reads
// its arguments from the program, decides (Decider) and answers. One thread owns it.
#include <linux/seccomp.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "enforce/decider.h"
#include "enforce/dns_stub.h"
#include "enforce/filter.h"
#include "enforce/held_connect.h"
#include "enforce/remote.h"
#include "enforce/trace.h"

namespace mif::enforce {

class Supervisor {
 public:
  Supervisor(const policy::Policy& policy, FilterMode mode, int listener, const Trace& trace);
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Receives and answers one notification, blocking until one arrives. False when the
  // listener is unusable (every supervised process has exited, or it was closed).
  bool handleOne();
  // handleOne() until it returns false or stop() was called (stop() then interrupts the
  // blocked receive with a signal sent to the running thread by the caller).
  void run();
  void stop() { stop_.store(true); }

  Decider& decider() { return decider_; }

  // Holds TCP connects whose decision lists several PvDs and fails them over
  // (held_connect.h). Only where a held call cannot be ended by a non-fatal signal
  // (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV was accepted): otherwise a signal would
  // restart the connect while the supervisor runs it. Off until set.
  void holdConnects(bool on) { holdConnects_ = on; }

  // Serves the run's DNS stub (dns_stub.h) from the notification loop, and lets held
  // connects re-resolve through it.
  void serveDns(std::unique_ptr<DnsStub> stub);

 private:
  struct Answer {
    bool handled = false;  // already answered (ADDFD with SEND), or the call vanished
    int error = 0;         // > 0: fail the call with this errno
    int64_t value = 0;     // with !cont: the call's return value
    bool cont = true;      // let the kernel run the call
  };
  bool stillValid(uint64_t id) const;
  // Sends the response to notification `id`: error > 0 fails the call with it; else
  // `cont` lets the kernel run it, or it returns `value`. False when the listener failed.
  bool respond(uint64_t id, int error, bool cont, int64_t value);
  Answer untaken(const seccomp_notif& n);
  Answer onConnect(const seccomp_notif& n);
  Answer onSendto(const seccomp_notif& n);
  Answer onSendmsg(const seccomp_notif& n);
  Answer onSendmmsg(const seccomp_notif& n);
  Answer onBind(const seccomp_notif& n);
  Answer onSocket(const seccomp_notif& n);
  // Reads a sockaddr of `len` bytes at `addr`; false when unreadable or not IP.
  // `raw`/`rawLen` (optional): the sockaddr's bytes as read.
  bool readEndpoint(const seccomp_notif& n, uint64_t addr, uint64_t len, Endpoint* out,
                    sockaddr_storage* raw = nullptr, socklen_t* rawLen = nullptr);
  // True when a control buffer already names the interface per datagram (IP_PKTINFO /
  // IPV6_PKTINFO with an index): the program's (or the library's) choice.
  bool controlChoosesInterface(pid_t tid, uint64_t control, uint64_t len);
  Answer fromVerdict(const Verdict& v, int fd, const SocketInfo& info, bool isConnect);
  Answer decideSend(const seccomp_notif& n, const char* call, int fd, const Endpoint& to);

  const policy::Policy& policy_;
  FilterMode mode_;
  int listener_;
  Decider decider_;
  PidfdCache pidfds_;
  std::vector<unsigned char> notifBuf_, respBuf_;
  std::atomic<bool> stop_{false};
  bool holdConnects_ = false;
  std::unique_ptr<DnsStub> dns_;
  HeldConnects held_;  // last: answers through respond() until destroyed
};

// Runs a Supervisor on a thread of its own (the caller's thread stays free for signals
// and waiting). Destruction stops it: SIGUSR2 (a no-op handler, installed here without
// SA_RESTART) interrupts its blocking receive, repeated until the thread has gone.
class SupervisorThread {
 public:
  explicit SupervisorThread(Supervisor& supervisor);
  ~SupervisorThread();
  SupervisorThread(const SupervisorThread&) = delete;
  SupervisorThread& operator=(const SupervisorThread&) = delete;
  bool started() const { return started_; }

 private:
  Supervisor& supervisor_;
  pthread_t thread_{};
  bool started_ = false;
};

}  // namespace mif::enforce
