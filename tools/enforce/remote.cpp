#include "enforce/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mif::enforce {

namespace {

// Linux 6.9: a pidfd for a thread rather than a thread-group leader. Go and other
// threaded programs make their calls from any thread, and a plain pidfd_open of a
// non-leader tid fails with ENOENT/EINVAL.
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
constexpr size_t kPruneAbove = 512;

int pidfdOpen(pid_t pid, unsigned flags) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, flags));
}

// The thread group of `tid` from /proc, for kernels without PIDFD_THREAD.
pid_t threadGroupOf(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", tid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[2048];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = std::strstr(buf, "\nTgid:");
  return p ? static_cast<pid_t>(std::strtol(p + 6, nullptr, 10)) : -1;
}

}  // namespace

bool readMemory(pid_t tid, uint64_t addr, void* out, size_t len) noexcept {
  if (len == 0) return true;
  iovec local{out, len};
  iovec remote{reinterpret_cast<void*>(static_cast<uintptr_t>(addr)), len};
  ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
  return n == static_cast<ssize_t>(len);
}

RemoteFd::~RemoteFd() {
  if (fd_ >= 0) ::close(fd_);
}

RemoteFd& RemoteFd::operator=(RemoteFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

PidfdCache::~PidfdCache() {
  for (auto& [tid, fd] : pidfds_) ::close(fd);
}

int PidfdCache::open(pid_t tid) {
  auto it = pidfds_.find(tid);
  if (it != pidfds_.end()) return it->second;
  if (pidfds_.size() > kPruneAbove) prune();
  int fd = pidfdOpen(tid, PIDFD_THREAD);
  if (fd < 0) {
    pid_t tgid = threadGroupOf(tid);
    if (tgid <= 0) return -1;
    fd = pidfdOpen(tgid, 0);
    if (fd < 0) return -1;
  }
  pidfds_.emplace(tid, fd);
  return fd;
}

void PidfdCache::forget(pid_t tid) {
  auto it = pidfds_.find(tid);
  if (it == pidfds_.end()) return;
  ::close(it->second);
  pidfds_.erase(it);
}

// A pidfd polls readable once its process has exited: those are dropped.
void PidfdCache::prune() {
  for (auto it = pidfds_.begin(); it != pidfds_.end();) {
    pollfd p{it->second, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      ::close(it->second);
      it = pidfds_.erase(it);
    } else {
      ++it;
    }
  }
}

RemoteFd PidfdCache::take(pid_t tid, int fd) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int pidfd = open(tid);
    if (pidfd < 0) return RemoteFd();
    int got = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
    if (got >= 0) return RemoteFd(got);
    if (errno != ESRCH) return RemoteFd();
    forget(tid);  // a thread of that number that has exited; the number was reused
  }
  return RemoteFd();
}

}  // namespace mif::enforce
