// `mif lab delay` (hidden): the lab's link delay without netem (this kernel has no
// sch_netem, nor fq or etf for earliest-departure-time pacing). Started by `mif lab up` in
// the router namespace of a PvD with `delay = "..."`, attached to that router's two TUN
// devices: `from-node` receives every IP packet the node sends over the link (a tc ingress
// filter on the router's `node` interface redirects it there), `to-node` every packet
// routed towards the node's prefixes (a policy rule). Each packet read from a device is
// written back into the same device once it has been held for --hold-us (half the round
// trip), so the kernel receives it again as if it had just arrived on that device and
// routes it on to its real destination. Packets keep their order (one FIFO per device,
// one hold time), and a queue holds at most kQueueLimit packets (netem's default limit):
// beyond that the newest is dropped, as a full queue would.
//
// The readiness signal is the launcher's exit, once both devices are attached (as for
// `mif lab serve`); the daemon's PID goes to --pid-file.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"
#include "lab/lab.h"
#include "lab/system.h"

namespace mif::lab {
namespace {

constexpr size_t kQueueLimit = 1000;
// The TUN devices keep the default MTU (1500) and offload nothing, so the kernel hands
// over segmented packets of at most that size; a read that fills the slot was cut short
// and is dropped.
constexpr size_t kSlot = 2048;

int64_t nowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A ring of fixed slots allocated once: nothing is allocated per packet.
class Queue {
 public:
  Queue() : slots_(kQueueLimit) {}
  bool full() const { return count_ == kQueueLimit; }
  bool empty() const { return count_ == 0; }
  int64_t headDue() const { return slots_[head_].due; }
  unsigned char* tailBuffer() { return slots_[(head_ + count_) % kQueueLimit].data; }
  void push(size_t len, int64_t due) {
    Slot& s = slots_[(head_ + count_) % kQueueLimit];
    s.len = len;
    s.due = due;
    ++count_;
  }
  const unsigned char* headData() const { return slots_[head_].data; }
  size_t headLen() const { return slots_[head_].len; }
  void pop() {
    head_ = (head_ + 1) % kQueueLimit;
    --count_;
  }

 private:
  struct Slot {
    int64_t due = 0;
    size_t len = 0;
    unsigned char data[kSlot];
  };
  std::vector<Slot> slots_;
  size_t head_ = 0, count_ = 0;
};

int attach(const std::string& name, std::string& error) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = std::string("/dev/net/tun: ") + std::strerror(errno);
    return -1;
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name.c_str());
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    error = name + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int delayRelay(int argc, char** argv) {
  long holdUs = -1;
  std::string pidFile;
  std::vector<std::string> devices;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--hold-us" || a == "--pid-file") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--pid-file") pidFile = v;
      else holdUs = std::atol(v.c_str());
    } else if (!a.empty() && a[0] != '-') {
      devices.push_back(a);
    } else {
      cli::error("lab delay", "unknown option " + a);
      return cli::kExitUsage;
    }
  }
  if (holdUs < 0 || devices.empty()) {
    cli::error("lab delay", "usage: mif lab delay --hold-us N [--pid-file FILE] TUN...");
    return cli::kExitUsage;
  }
  std::vector<int> fds;
  for (const auto& d : devices) {
    std::string error;
    int fd = attach(d, error);
    if (fd < 0) {
      cli::error("lab delay", error);
      return cli::kExitFailure;
    }
    fds.push_back(fd);
  }
  // Into the background once attached: the launcher's exit tells `mif lab up` the link
  // carries packets again.
  switch (sys::daemonize(pidFile, fds)) {
    case -1:
      cli::error("lab delay", std::string("fork: ") + std::strerror(errno));
      return cli::kExitFailure;
    case 1:
      return cli::kExitOk;
  }
  // Wake when a packet is due, not up to 50 us later (the default timer slack).
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  const int64_t holdNs = static_cast<int64_t>(holdUs) * 1000;
  std::vector<Queue> queues(fds.size());
  std::vector<pollfd> pfds;
  for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
  unsigned char discard[kSlot];
  for (;;) {
    int64_t now = nowNs();
    int64_t next = -1;
    for (size_t i = 0; i < fds.size(); ++i) {
      Queue& q = queues[i];
      while (!q.empty() && q.headDue() <= now) {
        // Written back into the device it came from: the kernel receives it on that
        // device and routes it on. A failed write is a lost packet.
        (void)!::write(fds[i], q.headData(), q.headLen());
        q.pop();
      }
      if (!q.empty() && (next < 0 || q.headDue() < next)) next = q.headDue();
    }
    timespec timeout{};
    if (next >= 0) {
      const int64_t wait = next - now;
      timeout.tv_sec = wait / 1'000'000'000;
      timeout.tv_nsec = wait % 1'000'000'000;
    }
    if (::ppoll(pfds.data(), pfds.size(), next >= 0 ? &timeout : nullptr, nullptr) < 0 &&
        errno != EINTR)
      return cli::kExitFailure;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      Queue& q = queues[i];
      for (;;) {
        unsigned char* buf = q.full() ? discard : q.tailBuffer();
        ssize_t n = ::read(fds[i], buf, kSlot);
        if (n <= 0) break;
        if (buf == discard || static_cast<size_t>(n) == kSlot) continue;
        q.push(static_cast<size_t>(n), nowNs() + holdNs);
      }
    }
  }
}

}  // namespace mif::lab
