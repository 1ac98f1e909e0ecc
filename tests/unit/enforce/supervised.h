#pragma once
// Test helper: a forked child of the test process with the --enforce filter installed,
// running a body instead of exec'ing a program, and its listener in the parent.
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "enforce/filter.h"

namespace mif::enforce::testing {

struct SupervisedChild {
  pid_t pid = -1;
  int listener = -1;

  // The body's return value is the child's exit status; the child makes its calls only
  // after the parent holds the listener.
  static SupervisedChild start(FilterMode mode, const std::function<int()>& body) {
    SupervisedChild c;
    int up[2], down[2];
    if (pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0) return c;
    pid_t pid = fork();
    if (pid == 0) {
      int fd = installFilter(mode);
      (void)!write(up[1], &fd, sizeof fd);
      char ack;
      if (fd < 0 || read(down[0], &ack, 1) != 1) _exit(99);
      close(fd);
      _exit(body());
    }
    close(up[1]);
    close(down[0]);
    int fd = -1;
    if (read(up[0], &fd, sizeof fd) == static_cast<ssize_t>(sizeof fd) && fd >= 0) {
      int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
      c.listener = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
      close(pidfd);
    }
    c.pid = pid;
    char ack = 1;
    (void)!write(down[1], &ack, 1);
    close(down[1]);
    close(up[0]);
    return c;
  }

  // The child's exit status, or 128+signal.
  int wait() {
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
};

}  // namespace mif::enforce::testing
