#pragma once
// Processes and namespaces for the lab: running iproute2 batches in parallel, starting
// daemons inside a namespace, finding and killing what lives in the lab's namespaces.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace mif::lab::sys {

struct Job {
  std::vector<std::string> argv;
  std::string input;   // fed to stdin
  std::string netns;   // run inside this namespace ("" = current)
};

struct Result {
  int status = -1;     // exit status, 128+signal, -1 when it could not start
  std::string out;
  std::string err;
  bool ok() const { return status == 0; }
};

// Starts every job at once and waits for all of them (iproute2 and daemon launchers are
// short-lived: their parallelism is what keeps bring-up under a few hundred ms).
std::vector<Result> runAll(const std::vector<Job>& jobs);
Result run(const Job& job);

// Runs fn inside network namespace NAME and comes back; false if it cannot enter.
bool inNamespace(const std::string& name, const std::function<void()>& fn);
bool writeFile(const std::string& path, const std::string& content);
// writeFile for a file others may read at any moment: written beside it, then renamed
// over it.
bool replaceFile(const std::string& path, const std::string& content);
std::string readFile(const std::string& path);

bool namespaceExists(const std::string& name);
// The network namespace's inode (as /proc/PID/ns/net shows it), 0 when absent.
ino_t namespaceInode(const std::string& name);
// Names in /run/netns starting with prefix.
std::vector<std::string> namespacesWithPrefix(const std::string& prefix);
// Removes the namespace's bind mount and file (as `ip netns del` does).
bool deleteNamespace(const std::string& name);

// Live (not zombie) processes whose network namespace is one of inodes, or whose command
// line contains `mentioning` when that is not empty.
std::vector<pid_t> processesIn(const std::set<ino_t>& inodes, const std::string& mentioning = {});
// Whether pid is alive (exists and is not a zombie) and lives in network namespace inode.
bool aliveIn(pid_t pid, ino_t inode);
// SIGKILL each, then waits until all are gone or zombies, at most `bound` in total.
// Returns the pids still alive after that.
std::vector<pid_t> killAll(const std::vector<pid_t>& pids, std::chrono::milliseconds bound);

// Forks a daemon into the background once it is ready: the launcher's exit is the
// readiness signal `mif lab up` waits for. In the launcher: writes the daemon's PID to
// pidFile (unless empty) and returns 1. In the daemon: a session of its own, stdio on
// /dev/null, every descriptor but those in keep closed (not a lock: `flock` around a test
// run would stay held while the daemon lives; not a pipe whose reader waits for EOF),
// working directory /; returns 0. -1 when fork fails (errno says why).
int daemonize(const std::string& pidFile, std::vector<int> keep);

// Path of the running mif binary.
std::string selfExe();

}  // namespace mif::lab::sys
