#include "lab/system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace mif::lab::sys {
namespace {

using Clock = std::chrono::steady_clock;

std::string readFd(int fd) {
  std::string s;
  ::lseek(fd, 0, SEEK_SET);
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

struct Running {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

// Output goes to memfds rather than pipes: the children run concurrently and we only
// read after they exit, so no poll loop is needed and no child blocks on a full pipe.
Running start(const Job& job) {
  Running r;
  int in = ::memfd_create("lab-in", MFD_CLOEXEC);
  r.out = ::memfd_create("lab-out", MFD_CLOEXEC);
  r.err = ::memfd_create("lab-err", MFD_CLOEXEC);
  if (in < 0 || r.out < 0 || r.err < 0) return r;
  if (!job.input.empty()) {
    (void)!::write(in, job.input.data(), job.input.size());
    ::lseek(in, 0, SEEK_SET);
  }
  std::vector<char*> argv;
  for (const auto& a : job.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string nsPath = job.netns.empty() ? "" : "/run/netns/" + job.netns;
  const pid_t parent = ::getpid();
  r.pid = ::fork();
  if (r.pid == 0) {
    // A launcher outlives a killed `mif lab up` otherwise, and could enter its namespace
    // after `mif lab down` looked there: it dies with us (also if we died before prctl).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::dup2(in, STDIN_FILENO);
    ::dup2(r.out, STDOUT_FILENO);
    ::dup2(r.err, STDERR_FILENO);
    if (!nsPath.empty()) {
      int fd = ::open(nsPath.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
        std::fprintf(stderr, "cannot enter %s: %s\n", nsPath.c_str(), std::strerror(errno));
        ::_exit(126);
      }
    }
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "cannot execute %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(in);
  return r;
}

Result finish(Running& r) {
  Result res;
  if (r.pid > 0) {
    int status = 0;
    while (::waitpid(r.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) res.status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) res.status = 128 + WTERMSIG(status);
  } else {
    res.err = std::string("cannot start: ") + std::strerror(errno);
  }
  if (r.out >= 0) {
    res.out = readFd(r.out);
    ::close(r.out);
  }
  if (r.err >= 0) {
    res.err += readFd(r.err);
    ::close(r.err);
  }
  return res;
}

ino_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

char processState(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

}  // namespace

std::vector<Result> runAll(const std::vector<Job>& jobs) {
  std::vector<Running> running;
  running.reserve(jobs.size());
  for (const auto& j : jobs) running.push_back(start(j));
  std::vector<Result> results;
  for (auto& r : running) results.push_back(finish(r));
  return results;
}

Result run(const Job& job) { return runAll({job}).front(); }

bool inNamespace(const std::string& name, const std::function<void()>& fn) {
  int self = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = self >= 0 && target >= 0 && ::setns(target, CLONE_NEWNET) == 0;
  if (ok) {
    fn();
    ::setns(self, CLONE_NEWNET);
  }
  if (self >= 0) ::close(self);
  if (target >= 0) ::close(target);
  return ok;
}

bool writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  return static_cast<bool>(out.flush());
}

bool replaceFile(const std::string& path, const std::string& content) {
  // Readers (a `mif run` reading the lab's policy while `mif lab up` restores a link) see
  // the old file or the new one, never a truncated one.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  if (!writeFile(tmp, content)) {
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool namespaceExists(const std::string& name) {
  // A file in /run/netns without the namespace mounted on it (a crash between create and
  // mount, or someone unmounting it) is not a namespace: setns on it fails with EINVAL.
  struct statfs fs {};
  return ::statfs(("/run/netns/" + name).c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

ino_t namespaceInode(const std::string& name) {
  // The bind-mounted file's inode is the namespace's; a plain file left after a crash
  // (not mounted) lives on tmpfs with a small inode of its own, which matches no process.
  return inodeOf("/run/netns/" + name);
}

std::vector<std::string> namespacesWithPrefix(const std::string& prefix) {
  std::vector<std::string> out;
  DIR* d = ::opendir("/run/netns");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind(prefix, 0) == 0) out.push_back(n);
  }
  ::closedir(d);
  return out;
}

bool deleteNamespace(const std::string& name) {
  std::string path = "/run/netns/" + name;
  ::umount2(path.c_str(), MNT_DETACH);
  return ::unlink(path.c_str()) == 0 || errno == ENOENT;
}

std::vector<pid_t> processesIn(const std::set<ino_t>& inodes, const std::string& mentioning) {
  std::vector<pid_t> out;
  if (inodes.empty() && mentioning.empty()) return out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  pid_t self = ::getpid();
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (!end || *end || pid <= 0 || pid == self) continue;
    const std::string dir = "/proc/" + std::string(e->d_name);
    ino_t ino = inodeOf(dir + "/ns/net");
    bool ours = ino && inodes.count(ino);
    if (!ours && !mentioning.empty()) {
      std::string cmd = readFile(dir + "/cmdline");
      ours = cmd.find(mentioning) != std::string::npos;
    }
    if (ours && processState(static_cast<pid_t>(pid)) != 'Z') out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

bool aliveIn(pid_t pid, ino_t inode) {
  if (pid <= 0 || inode == 0) return false;
  char st = processState(pid);
  if (st == 0 || st == 'Z' || st == 'X') return false;
  return inodeOf("/proc/" + std::to_string(pid) + "/ns/net") == inode;
}

std::vector<pid_t> killAll(const std::vector<pid_t>& pids, std::chrono::milliseconds bound) {
  for (pid_t p : pids) ::kill(p, SIGKILL);
  // Reaping is PID 1's job and is slow here; a process that is a zombie is dead enough
  // (its sockets and its hold on the namespace are gone).
  auto deadline = Clock::now() + bound;
  std::vector<pid_t> left = pids;
  while (!left.empty()) {
    std::vector<pid_t> still;
    for (pid_t p : left) {
      int status;
      ::waitpid(p, &status, WNOHANG);  // reaps it when it happens to be our child
      char st = processState(p);
      if (st != 0 && st != 'Z' && st != 'X') still.push_back(p);
    }
    left.swap(still);
    if (left.empty() || Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return left;
}

int daemonize(const std::string& pidFile, std::vector<int> keep) {
  const pid_t child = ::fork();
  if (child < 0) return -1;
  if (child > 0) {
    if (!pidFile.empty()) {
      if (FILE* f = std::fopen(pidFile.c_str(), "w")) {
        std::fprintf(f, "%d\n", static_cast<int>(child));
        std::fclose(f);
      }
    }
    return 1;
  }
  ::setsid();
  int devnull = ::open("/dev/null", O_RDWR);
  ::dup2(devnull, STDIN_FILENO);
  ::dup2(devnull, STDOUT_FILENO);
  ::dup2(devnull, STDERR_FILENO);
  if (devnull > STDERR_FILENO) ::close(devnull);
  std::sort(keep.begin(), keep.end());
  unsigned from = STDERR_FILENO + 1;
  for (int k : keep) {
    if (static_cast<unsigned>(k) > from) ::close_range(from, static_cast<unsigned>(k) - 1, 0);
    from = static_cast<unsigned>(k) + 1;
  }
  ::close_range(from, ~0u, 0);
  (void)!::chdir("/");
  return 0;
}

std::string selfExe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "mif";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace mif::lab::sys
