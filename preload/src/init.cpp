// Initialisation on the first network call: nothing of the policy, the view or the
// resolver exists before a program touches an AF_INET/AF_INET6 socket, so a process that
// never does pays only for mapping the library.
//
// State machine: an atomic pointer for the hot path (one acquire load once ready), a mutex
// for the one-time slow path. pthread_atfork holds that mutex across fork() so a child
// never inherits a half-built runtime; a child of an initialised process keeps the
// parent's runtime (policy and snapshots are immutable; the view reopens its netlink
// socket itself when it sees the pid change).
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "guard.h"
#include "nb_race.h"
#include "mif/policy/loader.h"
#include "runtime.h"

namespace mif::preload {

constinit thread_local bool ReentryGuard::active_ = false;

namespace {

enum class State : int { Uninitialised, Ready, Disabled };

std::atomic<Runtime*> instance{nullptr};
std::atomic<State> state{State::Uninitialised};
pthread_mutex_t initMutex = PTHREAD_MUTEX_INITIALIZER;

void lockForFork() { pthread_mutex_lock(&initMutex); }
void unlockAfterFork() { pthread_mutex_unlock(&initMutex); }

std::vector<std::string> splitList(const char* s) {
  std::vector<std::string> out;
  if (s == nullptr) return out;
  std::string_view rest = s;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

bool envTrue(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && (std::strcmp(v, "1") == 0 || std::strcmp(v, "yes") == 0 ||
                          std::strcmp(v, "true") == 0);
}

std::string appName() {
  // The executable's base name: what a policy's `app` key names. /proc/self/exe follows
  // the real binary; program_invocation_short_name is the fallback when /proc is absent
  // (sandboxes).
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    const char* slash = std::strrchr(buf, '/');
    return slash != nullptr ? slash + 1 : buf;
  }
  return program_invocation_short_name;
}

Runtime::Config configFromEnvironment() {
  Runtime::Config c;
  for (const std::string& p : {policy::systemPolicyPath(), policy::userPolicyPath()}) {
    if (!p.empty() && access(p.c_str(), R_OK) == 0) c.layerFiles.push_back(p);
  }
  if (const char* p = std::getenv("MIF_POLICY"); p != nullptr && *p != '\0') {
    c.layerFiles.emplace_back(p);
  }
  c.pin.pvds = splitList(std::getenv("MIF_PVD"));
  for (const std::string& s : splitList(std::getenv("MIF_DNS"))) {
    if (auto a = policy::IpAddress::parse(s)) c.pin.dns.push_back(*a);
  }
  c.pin.strict = envTrue("MIF_STRICT");
  if (const char* t = std::getenv("MIF_TRACE")) c.trace = t;
  if (const char* f = std::getenv("MIF_PROBES")) c.probes = f;
  c.app = appName();
  return c;
}

Runtime* initialise() {
  ReentryGuard guard;
  pthread_mutex_lock(&initMutex);
  Runtime* r = instance.load(std::memory_order_acquire);
  if (r == nullptr && state.load(std::memory_order_acquire) == State::Uninitialised) {
    const int savedErrno = errno;
    if (envTrue("MIF_DISABLE")) {
      state.store(State::Disabled, std::memory_order_release);
    } else {
      try {
        std::string error;
        std::unique_ptr<Runtime> built = Runtime::create(configFromEnvironment(), &error);
        if (!error.empty()) std::fprintf(stderr, "mif: %s\n", error.c_str());
        if (built) {
          r = built.release();  // never freed: threads may be in a hook at exit
          r->listenToResolver();  // DNS timeouts feed per-PvD health (failover.cpp)
          pthread_atfork(lockForFork, unlockAfterFork, unlockAfterFork);
          // A child forgets the parent's non-blocking races and closes its copies of their
          // fresh sockets (nb_race.h); the parent's races go on.
          pthread_atfork(nullptr, nullptr, [] {
            nbrace::forgetAfterFork();
            if (Runtime* rt = Runtime::peek()) rt->probesAfterFork();  // probe_watch.h
          });
          instance.store(r, std::memory_order_release);
          state.store(State::Ready, std::memory_order_release);
        } else {
          state.store(State::Disabled, std::memory_order_release);
        }
      } catch (...) {
        // Out of memory or an unexpected failure: the program runs as if mif were absent
        // rather than crash; under strict it runs with the network refused instead.
        if (envTrue("MIF_STRICT")) {
          std::fputs("mif: initialisation failed under --strict, refusing all connections\n", stderr);
          r = Runtime::failClosedInstance();
          instance.store(r, std::memory_order_release);
          state.store(State::Ready, std::memory_order_release);
        } else {
          std::fputs("mif: initialisation failed; running without mif\n", stderr);
          state.store(State::Disabled, std::memory_order_release);
        }
      }
    }
    errno = savedErrno;
  }
  pthread_mutex_unlock(&initMutex);
  return r;
}

}  // namespace

Runtime* Runtime::get() noexcept {
  Runtime* r = instance.load(std::memory_order_acquire);
  if (r != nullptr) return r;
  if (ReentryGuard::active() || state.load(std::memory_order_acquire) == State::Disabled) {
    return nullptr;
  }
  return initialise();
}

Runtime* Runtime::peek() noexcept { return instance.load(std::memory_order_acquire); }

void Runtime::installForTest(Runtime* rt) noexcept {
  pthread_mutex_lock(&initMutex);
  instance.store(rt, std::memory_order_release);
  state.store(rt != nullptr ? State::Ready : State::Disabled, std::memory_order_release);
  pthread_mutex_unlock(&initMutex);
}

Runtime* Runtime::failClosedInstance() noexcept {
  static Runtime closed = [] {
    Runtime r;
    r.failClosed_ = true;
    return r;
  }();
  return &closed;
}

std::unique_ptr<Runtime> Runtime::create(const Config& config, std::string* error) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->app_ = config.app;
  rt->trace_.configure(config.trace);
  if (config.layerFiles.empty() && config.pin.pvds.empty()) return nullptr;  // nothing to do

  std::vector<policy::PolicyDoc> layers;
  std::string problems;
  for (size_t i = 0; i < config.layerFiles.size(); ++i) {
    const std::string& file = config.layerFiles[i];
    // The last file is the command line's (MIF_POLICY) unless it is a default layer.
    policy::Layer layer = file == policy::systemPolicyPath() ? policy::Layer::System
                          : file == policy::userPolicyPath() ? policy::Layer::User
                                                             : policy::Layer::CommandLine;
    policy::LoadResult lr = policy::loadFile(file, layer);
    for (const auto& d : lr.diagnostics) {
      if (d.severity == policy::Severity::Error) problems += (problems.empty() ? "" : "; ") + d.format();
    }
    layers.push_back(std::move(lr.doc));
  }
  if (problems.empty()) {
    policy::CompileResult cr = policy::Policy::compile(std::move(layers), config.pin);
    for (const auto& d : cr.diagnostics) {
      if (d.severity == policy::Severity::Error) problems += (problems.empty() ? "" : "; ") + d.format();
    }
    if (cr.policy) rt->policy_.emplace(std::move(*cr.policy));
  }
  if (!rt->policy_) {
    if (config.pin.strict) {
      // Strict means never a silent fallback: refuse every connection rather than let the
      // program out through whatever the kernel picks.
      *error = "invalid policy under --strict, refusing all connections: " + problems;
      rt->failClosed_ = true;
      return rt;
    }
    *error = "invalid policy, running without mif: " + problems;
    return nullptr;
  }
  const policy::Policy& p = *rt->policy_;
  rt->strictPossible_ = config.pin.strict || (p.defaults() && p.defaults()->strict);
  rt->needsDscp_ = p.usesDscp();
  rt->attemptDelayMs_ = p.attemptDelayMs();
  // Active probes: only when mif run started a prober and some PvD has `probe`.
  if (!config.probes.empty() &&
      std::any_of(p.pvds().begin(), p.pvds().end(), [](const policy::PvdDef& d) { return d.probe.has_value(); }))
    rt->probes_.start(config.probes);
  for (const auto& rule : p.rules()) {
    if (rule.proto != policy::Proto::Any) rt->needsProto_ = true;
    if (rule.strict) rt->strictPossible_ = true;
  }
  rt->resolver_ = config.resolver;
  rt->view_ = config.view ? config.view(p) : std::make_unique<view::LiveView>(p);
  // A change is seen within 100 us of the kernel announcing it, instead of one system call
  // on every decision (docs/architecture.md, "How fresh the view is").
  rt->view_->setFreshnessWindow(std::chrono::microseconds(100));
  return rt;
}

}  // namespace mif::preload
