#pragma once
// Reaching into a supervised process: its memory (process_vm_readv) and its descriptors
// (pidfd_getfd). Owned and used by the supervisor's single thread.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace mif::enforce {

// Copies exactly `len` bytes at `addr` of thread `tid` into `out`. False when any byte
// could not be read (bad pointer, process gone). The caller must re-check the
// notification id afterwards: until then `tid` may have died and been reused.
bool readMemory(pid_t tid, uint64_t addr, void* out, size_t len) noexcept;

// A descriptor of ours that is the program's socket; closed on destruction.
class RemoteFd {
 public:
  RemoteFd() = default;
  explicit RemoteFd(int fd) : fd_(fd) {}
  ~RemoteFd();
  RemoteFd(RemoteFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RemoteFd& operator=(RemoteFd&&) noexcept;
  RemoteFd(const RemoteFd&) = delete;
  RemoteFd& operator=(const RemoteFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// pidfds of the supervised threads, opened once per thread id. A cached pidfd of a
// thread that exited fails with ESRCH (it never refers to a newer process that reused
// the number), and is then reopened.
class PidfdCache {
 public:
  PidfdCache() = default;
  ~PidfdCache();
  PidfdCache(const PidfdCache&) = delete;
  PidfdCache& operator=(const PidfdCache&) = delete;

  // The program's descriptor `fd` of thread `tid`, duplicated into this process; invalid
  // with errno set when it cannot be taken.
  RemoteFd take(pid_t tid, int fd);
  size_t size() const { return pidfds_.size(); }

 private:
  int open(pid_t tid);
  void forget(pid_t tid);
  void prune();
  std::unordered_map<pid_t, int> pidfds_;
};

}  // namespace mif::enforce
