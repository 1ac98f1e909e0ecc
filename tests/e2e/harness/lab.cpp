#include "lab.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

extern char** environ;

namespace mif::e2e {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kStateRoot = "/run/mif-lab";

std::vector<std::string> split(std::string_view s, char sep = ' ') {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string readFile(const std::string& path, size_t from = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(from));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool findInPath(const std::string& prog) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  for (const auto& dir : split(path, ':')) {
    if (::access((dir + "/" + prog).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Offsets at which each log "starts" after clearLogs(): dnsmasq keeps its log open and
// may not append with O_APPEND, so truncating under it would leave holes; remembering
// where the previous step ended is safe.
std::map<std::string, size_t>& logBaselines() {
  static std::map<std::string, size_t> baselines;
  return baselines;
}

std::string readLog(const std::string& path) {
  auto it = logBaselines().find(path);
  return readFile(path, it == logBaselines().end() ? 0 : it->second);
}

void setNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Everything the child needs is prepared before fork, so that the child only makes
// system calls (the test program may have threads).
struct Spawn {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string netns;        // "" = stay in the current namespace
  int stdinFd = -1;         // -1: /dev/null
  int stdoutFd = -1;        // -1: /dev/null
  int stderrFd = -1;        // -1: /dev/null
};

[[noreturn]] void childFail(const char* what) {
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, "harness: %s: %s\n", what, std::strerror(errno));
  if (n > 0) (void)!::write(STDERR_FILENO, buf, static_cast<size_t>(n));
  ::_exit(127);
}

pid_t spawn(const Spawn& s) {
  std::vector<char*> argv;
  for (const auto& a : s.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : s.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::string nsPath = s.netns.empty() ? "" : "/run/netns/" + s.netns;

  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Own process group, so that a timeout kills the whole tree the command started.
  ::setpgid(0, 0);
  int devnull = ::open("/dev/null", O_RDWR);
  ::dup2(s.stdinFd >= 0 ? s.stdinFd : devnull, STDIN_FILENO);
  ::dup2(s.stdoutFd >= 0 ? s.stdoutFd : devnull, STDOUT_FILENO);
  ::dup2(s.stderrFd >= 0 ? s.stderrFd : devnull, STDERR_FILENO);
  if (!nsPath.empty()) {
    int fd = ::open(nsPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) childFail(nsPath.c_str());
    if (::setns(fd, CLONE_NEWNET) != 0) childFail("setns");
    // As `ip netns exec` does: a private mount namespace with /sys of the new network
    // namespace, so that tools reading /sys/class/net see the node's interfaces.
    if (::unshare(CLONE_NEWNS) == 0 &&
        ::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) == 0) {
      ::umount2("/sys", MNT_DETACH);
      ::mount("sysfs", "/sys", "sysfs", 0, nullptr);
    }
  }
  ::execvpe(argv[0], argv.data(), envp.data());
  childFail(argv[0]);
}

std::vector<std::string> mergedEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    bool replaced = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) {
      return std::string_view(x).substr(0, x.find('=')) == key;
    });
    if (!replaced) env.emplace_back(kv);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

CommandResult runCommand(const std::vector<std::string>& argv, const ExecOptions& opts,
                         const std::string& netns) {
  CommandResult r;
  if (argv.empty()) {
    r.err = "harness: empty command";
    return r;
  }
  int outPipe[2], errPipe[2], inPipe[2] = {-1, -1};
  if (::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0 ||
      (!opts.input.empty() && ::pipe2(inPipe, O_CLOEXEC) != 0)) {
    r.err = std::string("harness: pipe: ") + std::strerror(errno);
    return r;
  }
  Spawn s{argv, mergedEnv(opts.env), netns, inPipe[0], outPipe[1], errPipe[1]};
  pid_t pid = spawn(s);
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  if (inPipe[0] >= 0) ::close(inPipe[0]);
  if (pid < 0) {
    r.err = std::string("harness: fork: ") + std::strerror(errno);
    ::close(outPipe[0]);
    ::close(errPipe[0]);
    if (inPipe[1] >= 0) ::close(inPipe[1]);
    return r;
  }
  setNonBlocking(outPipe[0]);
  setNonBlocking(errPipe[0]);
  if (inPipe[1] >= 0) setNonBlocking(inPipe[1]);
  size_t inputSent = 0;
  auto deadline = Clock::now() + opts.timeout;
  int status = 0;
  bool exited = false;
  auto drain = [&](int fd, std::string& into) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        into.append(buf, static_cast<size_t>(n));
        continue;
      }
      return n == 0;  // true at EOF
    }
  };
  bool outEof = false, errEof = false;
  while (!exited) {
    pollfd fds[3];
    nfds_t n = 0;
    if (!outEof) fds[n++] = {outPipe[0], POLLIN, 0};
    if (!errEof) fds[n++] = {errPipe[0], POLLIN, 0};
    if (inPipe[1] >= 0) fds[n++] = {inPipe[1], POLLOUT, 0};
    ::poll(fds, n, 20);
    if (!outEof) outEof = drain(outPipe[0], r.out);
    if (!errEof) errEof = drain(errPipe[0], r.err);
    if (inPipe[1] >= 0) {
      ssize_t w = ::write(inPipe[1], opts.input.data() + inputSent, opts.input.size() - inputSent);
      if (w > 0) inputSent += static_cast<size_t>(w);
      if (inputSent == opts.input.size() || (w < 0 && errno != EAGAIN)) {
        ::close(inPipe[1]);
        inPipe[1] = -1;
      }
    }
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) exited = true;
    if (!exited && Clock::now() > deadline) {
      r.timedOut = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exited = true;
    }
  }
  // A daemon the command left behind may hold the pipes open: take what is there and
  // do not wait for EOF.
  drain(outPipe[0], r.out);
  drain(errPipe[0], r.err);
  ::close(outPipe[0]);
  ::close(errPipe[0]);
  if (inPipe[1] >= 0) ::close(inPipe[1]);
  if (WIFEXITED(status)) r.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.status = 128 + WTERMSIG(status);
  return r;
}

std::string normalizeName(std::string_view name) {
  std::string s(name);
  while (!s.empty() && s.back() == '.') s.pop_back();
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string firstOfFamily(const std::string& list, bool v6) {
  for (const auto& a : split(list)) {
    if ((a.find(':') != std::string::npos) == v6) return a;
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------

std::string labUnavailableReason() {
  if (::geteuid() != 0) return "not running as root (network namespaces need CAP_SYS_ADMIN)";
  for (const char* prog : {"ip", "dnsmasq", "tcpdump"}) {
    if (!findInPath(prog)) return std::string(prog) + " not found in PATH";
  }
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(::unshare(CLONE_NEWNET) == 0 ? 0 : 1);
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return "cannot create a network namespace (unshare(CLONE_NEWNET) failed)";
  }
  if (::access(mifBinary().c_str(), X_OK) != 0) {
    return "mif binary not built at " + mifBinary();
  }
  return {};
}

CommandResult runHere(const std::vector<std::string>& argv, const ExecOptions& opts) {
  return runCommand(argv, opts, "");
}

std::string mifBinary() {
  if (const char* bin = std::getenv("MIF_BIN")) return bin;
  return std::string(MIF_BIN_DIR) + "/mif";
}

std::string CommandResult::describe() const {
  std::string s = "status " + std::to_string(status);
  if (timedOut) s += " (timed out)";
  s += "; stdout: " + trimmed(out) + "; stderr: " + trimmed(err);
  return s;
}

// --- Capture ---------------------------------------------------------------------------

Capture::Capture(Capture&& other) noexcept { *this = std::move(other); }

Capture& Capture::operator=(Capture&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = std::exchange(other.pid_, -1);
    file_ = std::move(other.file_);
    error_ = std::move(other.error_);
    lines_ = std::move(other.lines_);
    read_ = std::exchange(other.read_, false);
  }
  return *this;
}

Capture::~Capture() { stop(); }

void Capture::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGINT);
  auto deadline = Clock::now() + std::chrono::seconds(2);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::vector<std::string> Capture::packets() {
  stop();
  if (!read_ && !file_.empty()) {
    ExecOptions opts;
    auto r = runCommand({"tcpdump", "-n", "-r", file_}, opts, "");
    lines_ = split(r.out, '\n');
    read_ = true;
  }
  return lines_;
}

size_t Capture::count(std::string_view needle) {
  auto lines = packets();
  return static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
    return needle.empty() || l.find(needle) != std::string::npos;
  }));
}

// --- Lab -------------------------------------------------------------------------------

namespace {

std::string defaultInstance(const std::string& topology) {
  std::string base = fs::path(topology).stem();
  std::string clean;
  for (char c : base) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    clean += ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') ? c : '-';
  }
  return clean.substr(0, 28) + "-t" + std::to_string(::getpid());
}

// Instances named "<x>-t<pid>" whose test process no longer exists.
std::vector<std::string> orphanInstances() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kStateRoot, ec)) {
    std::string n = e.path().filename();
    auto t = n.rfind("-t");
    if (t == std::string::npos || t + 2 >= n.size()) continue;
    std::string digits = n.substr(t + 2);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::atol(digits.c_str()));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) out.push_back(n);
  }
  return out;
}

}  // namespace

Lab::Lab(std::string topology, std::string instance)
    : topology_(std::move(topology)),
      name_(instance.empty() ? defaultInstance(topology_) : std::move(instance)) {
  const auto bound = ExecOptions().within(std::chrono::seconds(30));
  for (const auto& orphan : orphanInstances()) mif({"lab", "down", orphan}, bound);
  // A fresh lab each time: an earlier run of this instance may have left a half-built one.
  mif({"lab", "down", name_}, bound);
  // Its logs start empty: forget offsets remembered for an earlier Lab of the same name.
  for (auto it = logBaselines().begin(); it != logBaselines().end();) {
    if (it->first.rfind(stateDir() + "/", 0) == 0) it = logBaselines().erase(it);
    else ++it;
  }
  auto up = mif({"lab", "up", topology_, "--as", name_}, bound);
  if (!up.ok()) {
    error_ = "mif lab up " + topology_ + " --as " + name_ + " failed: " + up.describe();
    return;
  }
  if (!loadFacts()) return;
  ok_ = true;
}

Lab::~Lab() {
  auto r = mif({"lab", "down", name_}, ExecOptions().within(std::chrono::seconds(30)));
  if (!r.ok()) ADD_FAILURE() << "mif lab down " << name_ << " failed: " << r.describe();
}

bool Lab::loadFacts() {
  auto r = mif({"lab", "facts", name_});
  if (!r.ok()) {
    error_ = "mif lab facts " + name_ + " failed: " + r.describe();
    return false;
  }
  facts_.clear();
  for (const auto& line : split(r.out, '\n')) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    facts_.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  if (fact("name") != name_) {
    error_ = "mif lab facts " + name_ + " printed name '" + fact("name") + "'";
    return false;
  }
  return true;
}

std::string Lab::fact(std::string_view key) const {
  for (const auto& [k, v] : facts_) {
    if (k == key) return v;
  }
  return {};
}

std::string Lab::dns4(std::string_view pvd) const {
  return firstOfFamily(fact("pvd." + std::string(pvd) + ".dns"), false);
}

std::string Lab::dns6(std::string_view pvd) const {
  return firstOfFamily(fact("pvd." + std::string(pvd) + ".dns"), true);
}

std::string Lab::pvdOfAddress(std::string_view address) const {
  for (const auto& pvd : split(fact("pvds"))) {
    for (const auto& a : split(fact("pvd." + pvd + ".addrs"))) {
      if (a == address) return pvd;
    }
  }
  return {};
}

std::string Lab::ns(std::string_view role) const {
  if (role.starts_with("miflab-")) return std::string(role);
  return fact("ns." + std::string(role));
}

std::string Lab::stateDir() const { return std::string(kStateRoot) + "/" + name_; }

CommandResult Lab::exec(const std::vector<std::string>& argv, const ExecOptions& opts) const {
  std::string netns = ns(opts.where);
  if (netns.empty()) {
    CommandResult r;
    r.err = "harness: no namespace for role '" + opts.where + "' in topology " + name_;
    return r;
  }
  return runCommand(argv, opts, netns);
}

CommandResult Lab::shell(const std::string& script, const ExecOptions& opts) const {
  return exec({"/bin/sh", "-c", script}, opts);
}

CommandResult Lab::mifRun(const std::vector<std::string>& mifArgs,
                          const std::vector<std::string>& argv, const ExecOptions& opts) const {
  std::vector<std::string> full{mifBinary(), "run"};
  full.insert(full.end(), mifArgs.begin(), mifArgs.end());
  full.emplace_back("--");
  full.insert(full.end(), argv.begin(), argv.end());
  return exec(full, opts);
}

CommandResult Lab::mif(const std::vector<std::string>& args, const ExecOptions& opts) const {
  std::vector<std::string> full{mifBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return runCommand(full, opts, "");
}

std::vector<DnsQuery> Lab::dnsQueries(std::string_view pvd) const {
  std::vector<DnsQuery> out;
  // dnsmasq --log-queries lines: "... query[AAAA] wiki.corp.example from 192.0.2.10"
  for (const auto& line : split(readLog(stateDir() + "/dns-" + std::string(pvd) + ".log"), '\n')) {
    auto q = line.find(" query[");
    if (q == std::string::npos) continue;
    auto close = line.find(']', q);
    auto from = line.find(" from ", close);
    if (close == std::string::npos || from == std::string::npos) continue;
    DnsQuery d;
    d.type = line.substr(q + 7, close - (q + 7));
    d.name = line.substr(close + 2, from - (close + 2));
    d.from = trimmed(line.substr(from + 6));
    out.push_back(std::move(d));
  }
  return out;
}

bool Lab::dnsSaw(std::string_view pvd, std::string_view name,
                 std::chrono::milliseconds wait) const {
  auto deadline = Clock::now() + wait;
  std::string want = normalizeName(name);
  for (;;) {
    for (const auto& q : dnsQueries(pvd)) {
      if (normalizeName(q.name) == want) return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<Served> Lab::served(std::string_view host, std::string_view proto) const {
  std::vector<Served> out;
  for (auto& s : served(host))
    if (s.proto == proto) out.push_back(std::move(s));
  return out;
}

std::vector<Served> Lab::served(std::string_view host) const {
  std::vector<Served> out;
  std::error_code ec;
  std::vector<std::string> logs;
  for (const auto& entry : fs::directory_iterator(stateDir(), ec)) {
    std::string file = entry.path().filename();
    if (file.starts_with("served-") && file.ends_with(".log")) logs.push_back(entry.path());
  }
  std::sort(logs.begin(), logs.end());
  for (const auto& log : logs) {
    // Service log lines: "proto=http host=www client=192.0.2.10 port=40112 local=203.0.113.80"
    for (const auto& line : split(readLog(log), '\n')) {
      Served s;
      for (const auto& field : split(line)) {
        auto eq = field.find('=');
        if (eq == std::string::npos) continue;
        std::string k = field.substr(0, eq), v = field.substr(eq + 1);
        if (k == "proto") s.proto = v;
        else if (k == "host") s.host = v;
        else if (k == "client") s.client = v;
        else if (k == "port") s.clientPort = std::atoi(v.c_str());
        else if (k == "local") s.local = v;
      }
      if (s.proto.empty()) continue;
      if (host.empty() || s.host == host) out.push_back(std::move(s));
    }
  }
  return out;
}

void Lab::clearLogs() const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(stateDir(), ec)) {
    if (entry.path().extension() == ".log") {
      logBaselines()[entry.path()] = static_cast<size_t>(fs::file_size(entry.path(), ec));
    }
  }
}

Capture Lab::capture(std::string_view iface, const std::string& filter,
                     std::string_view where) const {
  Capture c;
  std::string dev(iface);
  if (std::string l = link(iface); !l.empty() && where == "node") dev = l;
  std::string netns = ns(where);
  c.file_ = stateDir() + "/capture-" + std::to_string(++captures_) + ".pcap";
  std::string errFile = c.file_ + ".err";
  int errFd = ::open(errFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (netns.empty() || errFd < 0) {
    c.error_ = "cannot capture on " + dev + " in '" + std::string(where) + "'";
    if (errFd >= 0) ::close(errFd);
    return c;
  }
  // -U and --immediate-mode: each packet reaches the file when it is seen, so a capture
  // stopped right after the traffic misses nothing (FACTS.md). -Z root: Debian's tcpdump
  // otherwise drops to a user that cannot write the state directory.
  std::vector<std::string> argv{"tcpdump", "-i", dev, "-n", "-U", "--immediate-mode",
                                "-Z", "root", "-w", c.file_};
  for (const auto& word : split(filter)) argv.push_back(word);
  Spawn s{argv, mergedEnv({}), netns, -1, -1, errFd};
  c.pid_ = spawn(s);
  ::close(errFd);
  auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    if (readFile(errFile).find("listening on") != std::string::npos) break;
    int status = 0;
    if (::waitpid(c.pid_, &status, WNOHANG) == c.pid_ || Clock::now() > deadline) {
      c.error_ = "tcpdump did not start: " + trimmed(readFile(errFile));
      if (Clock::now() > deadline) c.stop();
      c.pid_ = -1;
      ADD_FAILURE() << c.error_;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return c;
}

namespace {
bool reportIfFailed(const CommandResult& r, const std::string& what) {
  if (r.ok()) return true;
  ADD_FAILURE() << what << ": " << r.describe();
  return false;
}
}  // namespace

bool Lab::linkDown(std::string_view pvd) const {
  return reportIfFailed(runCommand({"ip", "-n", ns(), "link", "set", link(pvd), "down"}, {}, ""),
                        "link down " + std::string(pvd));
}

bool Lab::linkUp(std::string_view pvd) const {
  // The kernel dropped the link's routes when it went down; a network manager would put
  // them back, and so does `mif lab up` (which also sets the link up).
  return reportIfFailed(runCommand({"ip", "-n", ns(), "link", "set", link(pvd), "up"}, {}, ""),
                        "link up " + std::string(pvd)) &&
         reportIfFailed(mif({"lab", "up", topology_, "--as", name_},
                            ExecOptions().within(std::chrono::seconds(30))),
                        "link up " + std::string(pvd) + " (mif lab up)");
}

bool Lab::linkDelete(std::string_view pvd) const {
  return reportIfFailed(runCommand({"ip", "-n", ns(), "link", "del", link(pvd)}, {}, ""),
                        "link delete " + std::string(pvd));
}

bool Lab::linkRecreate(std::string_view pvd) const {
  return reportIfFailed(mif({"lab", "up", topology_, "--as", name_},
                             ExecOptions().within(std::chrono::seconds(30))),
                        "link recreate " + std::string(pvd) + " (mif lab up)");
}

bool Lab::setPortalAuthenticated(std::string_view pvd, bool authenticated) const {
  return reportIfFailed(mif({"lab", "portal", name_, std::string(pvd),
                             authenticated ? "auth" : "unauth"}),
                        "mif lab portal");
}

std::string goProgram(const std::string& name, std::string* why) {
  static std::mutex m;
  static std::map<std::string, std::pair<std::string, std::string>> built;  // path, error
  std::lock_guard<std::mutex> lock(m);
  auto it = built.find(name);
  if (it == built.end()) {
    const char* tmp = std::getenv("TMPDIR");
    const std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/mif-go";
    const std::string out = base + "/" + name;
    const std::string cmd = "mkdir -p " + base + "/cache " + base + "/path && cd " + base +
                            " && GOCACHE=" + base + "/cache GOPATH=" + base +
                            "/path GOFLAGS=-mod=mod CGO_ENABLED=0 GOPROXY=off go build -o " +
                            out + " " + MIF_SOURCE_DIR + "/tests/e2e/programs/" + name +
                            ".go 2>&1";
    it = built.emplace(name, std::system(cmd.c_str()) == 0
                                 ? std::make_pair(out, std::string())
                                 : std::make_pair(std::string(), "go build failed: " + cmd))
             .first;
  }
  if (why) *why = it->second.second;
  return it->second.first;
}

TempDir::TempDir(std::string_view tag) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/mif-" + std::string(tag) + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  const std::string file = path_ + "/" + name;
  std::ofstream(file) << text;
  return file;
}

std::string renamedTopology(const std::string& builtin, const std::string& name) {
  std::ifstream in(std::string(MIF_SOURCE_DIR) + "/tools/lab/topologies/" + builtin + ".toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string t = text.str();
  const std::string from = "name = \"" + builtin + "\"";
  if (auto at = t.find(from); at != std::string::npos) t.replace(at, from.size(), "name = \"" + name + "\"");
  const char* tmp = std::getenv("TMPDIR");
  std::string out = std::string(tmp && *tmp ? tmp : "/tmp") + "/mif-topology-" + name + ".toml";
  std::ofstream(out) << t;
  return out;
}

}  // namespace mif::e2e
