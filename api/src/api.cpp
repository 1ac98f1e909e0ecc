// libmif-api: the C API of <mif/mif.h> over the engine's own code (mif/policy, mif/view,
// mif/dns), linked in statically and hidden, so a program run without `mif run` gets the
// same policy, live view and per-PvD resolver the interposer uses.
//
// State: an Engine (compiled policy, live view, resolver) built on the first call, under
// a mutex, from the policy layers init.cpp reads (system, user, MIF_POLICY). Naming an
// interface that no PvD names makes an ad hoc PvD for it: a new Engine is compiled with
// every ad hoc name asked so far (the pin of `mif run --pvd IFNAME`) and published with
// an atomic store. Engines are never freed (another thread may still be using the one it
// loaded); there is one per distinct interface name asked, so they are few. Each keeps
// the one it replaced (`previous`), so all stay reachable from gEngine: a leak checker
// sees them held, as they are.
//
// After the first call the socket path (mif_socket_set_pvd on a known PvD) takes no lock
// and allocates nothing: an acquire load, a lookup by name, the view's freshness check and
// the system calls of pinning.
//
// Inside `mif run` (libmif.so preloaded, its engine governing the process) none of that is
// built: every call goes through the engine's function table (preload/src/engine_api.h,
// found once through libmif.so's mif_preload_api), so pins, lookups, the process default
// and the PvD list are the engine's own (its policy, view, resolver cache and tags,
// datagram cache, trace, and its strict pin).
#include "mif/mif.h"

#include <dlfcn.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine_api.h"
#include "mif/dns/addrinfo.h"
#include "mif/dns/local_names.h"
#include "mif/dns/resolver.h"
#include "mif/policy/loader.h"
#include "mif/policy/policy.h"
#include "mif/view/live_view.h"

#define MIF_API_EXPORT extern "C" __attribute__((visibility("default")))

namespace mif::api {
namespace {

struct Engine {
  std::vector<std::string> adhoc;  // interface names pinned as ad hoc PvDs
  std::optional<policy::Policy> policy;
  std::unique_ptr<view::LiveView> view;
  std::unique_ptr<dns::Resolver> resolver;
  std::string error;  // why the policy could not be loaded ("" = fine)
  Engine* previous = nullptr;  // the Engine this one replaced (never freed)
};

std::atomic<Engine*> gEngine{nullptr};
std::mutex gBuild;  // building an Engine, and the process default below
std::atomic<const char*> gProcessPvd{nullptr};  // interned in gNames, never freed
std::set<std::string>* gNames = nullptr;        // under gBuild

// The calling thread's last failure, for mif_strerror.
// Allocated per thread on its first failure (or mif_strerror), not kept in TLS itself:
// this library's TLS is static TLS (STATIC_TLS: the archives linked in use the
// initial-exec model), so a program that dlopens it (Python's ctypes) spends the loader's
// small static TLS surplus on it, and libmif-engine.so, dlopened later by `mif run`'s stub
// and needing ~1.5 KB of it, would no longer load ("cannot allocate memory in static TLS
// block"). Only a pointer stays in TLS.
struct LastError {
  int code = 0;
  char text[320] = {};
  char message[384] = {};
};
LastError gSharedLast;  // when a thread's own cannot be allocated
struct LastHolder {
  LastError* p = nullptr;
  ~LastHolder() {
    if (p != &gSharedLast) delete p;
  }
};
thread_local LastHolder tLast;

LastError& last() noexcept {
  if (tLast.p == nullptr) {
    const int saved = errno;
    tLast.p = new (std::nothrow) LastError();
    if (tLast.p == nullptr) tLast.p = &gSharedLast;
    errno = saved;
  }
  return *tLast.p;
}

template <typename... A>
void setError(int code, const char* fmt, A... args) noexcept {
  LastError& l = last();
  l.code = code;
  std::snprintf(l.text, sizeof l.text, fmt, args...);
}

// Records a message the engine wrote (inside `mif run`) as the thread's last failure.
void keepError(int code, const char* why) noexcept {
  const int saved = errno;
  LastError& l = last();
  l.code = code;
  const size_t n = std::min(std::strlen(why), sizeof l.text - 1);
  std::memcpy(l.text, why, n);
  l.text[n] = '\0';
  errno = saved;
}

int fail(int err) noexcept {
  errno = err;
  return -1;
}

std::vector<std::string> layerFiles() {
  std::vector<std::string> files;
  for (const std::string& p : {policy::systemPolicyPath(), policy::userPolicyPath()})
    if (!p.empty() && access(p.c_str(), R_OK) == 0) files.push_back(p);
  if (const char* p = std::getenv("MIF_POLICY"); p != nullptr && *p != '\0') files.emplace_back(p);
  return files;
}

// A new Engine from the policy layers with `adhoc` as the pin's interfaces.
Engine* build(std::vector<std::string> adhoc) {
  auto e = std::make_unique<Engine>();
  e->adhoc = std::move(adhoc);
  std::vector<policy::PolicyDoc> layers;
  std::string problems;
  for (const std::string& file : layerFiles()) {
    policy::Layer layer = file == policy::systemPolicyPath() ? policy::Layer::System
                          : file == policy::userPolicyPath() ? policy::Layer::User
                                                             : policy::Layer::CommandLine;
    policy::LoadResult lr = policy::loadFile(file, layer);
    for (const auto& d : lr.diagnostics)
      if (d.severity == policy::Severity::Error) problems += (problems.empty() ? "" : "; ") + d.format();
    layers.push_back(std::move(lr.doc));
  }
  if (problems.empty()) {
    policy::Pin pin;
    pin.pvds = e->adhoc;
    policy::CompileResult cr = policy::Policy::compile(std::move(layers), pin);
    for (const auto& d : cr.diagnostics)
      if (d.severity == policy::Severity::Error) problems += (problems.empty() ? "" : "; ") + d.format();
    if (cr.policy) e->policy.emplace(std::move(*cr.policy));
  }
  if (!e->policy) {
    e->error = "invalid policy: " + problems;
    return e.release();
  }
  e->view = std::make_unique<view::LiveView>(*e->policy);
  dns::ResolverOptions o;
  o.policy = &*e->policy;
  e->resolver = std::make_unique<dns::Resolver>(o);
  return e.release();  // never freed: see above
}

// The current Engine, built on first use; null (errno-style failure recorded) only when
// out of memory.
Engine* engine() noexcept {
  Engine* e = gEngine.load(std::memory_order_acquire);
  if (e != nullptr) return e;
  const int saved = errno;
  try {
    std::lock_guard<std::mutex> lock(gBuild);
    e = gEngine.load(std::memory_order_acquire);
    if (e == nullptr) {
      e = build({});
      gEngine.store(e, std::memory_order_release);
    }
  } catch (...) {
    e = nullptr;
  }
  errno = saved;
  return e;
}

// The preloaded engine's table, or null (no `mif run`, MIF_DISABLE, or an engine with
// nothing to govern): looked up once. *refuse: libmif.so is there under MIF_STRICT but its
// engine did not load, so the API must not do anything the engine would have judged.
struct Preloaded {
  const mif_engine_api* table = nullptr;
  bool refuse = false;
};

bool envTrue(const char* name) noexcept {
  const char* v = std::getenv(name);
  return v != nullptr && (std::strcmp(v, "1") == 0 || std::strcmp(v, "yes") == 0 ||
                          std::strcmp(v, "true") == 0);
}

const Preloaded& preloaded() noexcept {
  static const Preloaded p = [] {
    Preloaded r;
    const int saved = errno;
    void* sym = dlsym(RTLD_DEFAULT, "mif_preload_api");
    if (sym != nullptr) {
      const mif_engine_api* t = reinterpret_cast<mif_preload_api_fn>(sym)();
      if (t != nullptr && t->version == MIF_ENGINE_API_VERSION &&
          t->size >= sizeof(mif_engine_api) && t->ready() != 0)
        r.table = t;
      else if (t == nullptr && envTrue("MIF_STRICT") && !envTrue("MIF_DISABLE"))
        r.refuse = true;
    }
    errno = saved;
    return r;
  }();
  return p;
}

// Under a strict `mif run` whose engine did not load: nothing is pinned or resolved.
bool refused(const char* pvd) noexcept {
  if (!preloaded().refuse) return false;
  setError(EPERM, "mif: PvD '%s': mif run is strict and its engine did not load: nothing is allowed",
           pvd != nullptr ? pvd : "");
  return true;
}

// Runs an engine call (-1 and errno on failure) that may explain its failure in `why`.
template <typename F>
int viaEngine(F call) noexcept {
  char why[sizeof LastError::text];
  why[0] = '\0';
  const int rc = call(why, sizeof why);
  if (rc != 0 && why[0] != '\0') keepError(errno, why);
  return rc;
}

enum class Found { Ok, Unknown, NoPolicy, NoMemory };

// The Engine and PvD id for `name`: a policy PvD, else an interface (ad hoc PvD).
Found findPvd(const char* name, Engine** out, policy::PvdId* id) noexcept {
  Engine* e = engine();
  if (e == nullptr) {
    setError(ENOMEM, "mif: PvD '%s': out of memory", name);
    return Found::NoMemory;
  }
  if (!e->policy) {
    setError(EINVAL, "mif: PvD '%s': %s", name, e->error.c_str());
    return Found::NoPolicy;
  }
  if (auto found = e->policy->findPvd(name)) {
    *out = e;
    *id = *found;
    return Found::Ok;
  }
  // Not a policy PvD: an interface of that name, here now, becomes an ad hoc PvD.
  const size_t n = std::strlen(name);
  if (n == 0 || n >= IFNAMSIZ || if_nametoindex(name) == 0) {
    setError(ENOENT, "mif: PvD '%s': no PvD of that name in the policy and no such interface",
             name);
    return Found::Unknown;
  }
  const int saved = errno;
  try {
    std::lock_guard<std::mutex> lock(gBuild);
    Engine* cur = gEngine.load(std::memory_order_acquire);
    if (!cur->policy->findPvd(name)) {
      std::vector<std::string> adhoc = cur->adhoc;
      adhoc.emplace_back(name);
      Engine* next = build(std::move(adhoc));
      if (!next->policy) {
        errno = saved;
        setError(EINVAL, "mif: PvD '%s': %s", name, next->error.c_str());
        delete next;  // never published: no other thread has seen it
        return Found::NoPolicy;
      }
      next->previous = cur;
      gEngine.store(next, std::memory_order_release);
      cur = next;
    }
    *out = cur;
    *id = *cur->policy->findPvd(name);
  } catch (...) {
    errno = saved;
    setError(ENOMEM, "mif: PvD '%s': out of memory", name);
    return Found::NoMemory;
  }
  errno = saved;
  return Found::Ok;
}

int foundErrno(Found f) noexcept {
  switch (f) {
    case Found::Ok: return 0;
    case Found::Unknown: return ENOENT;
    case Found::NoPolicy: return EINVAL;
    case Found::NoMemory: return ENOMEM;
  }
  return EINVAL;
}

const view::BoundPvd* boundPvd(const view::Snapshot& snap, policy::PvdId id) noexcept {
  return id < snap.pvds.size() ? &snap.pvds[id] : nullptr;
}

using engine_api::copyName;

using GaiFn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
using FreeFn = void (*)(addrinfo*);

// libc's own getaddrinfo (past libmif.so's when preloaded: the service probe must see
// glibc's answer, not the interposer's).
GaiFn libcGetaddrinfo() noexcept {
  static GaiFn f = [] {
    void* p = dlsym(RTLD_NEXT, "getaddrinfo");
    return p != nullptr ? reinterpret_cast<GaiFn>(p) : &::getaddrinfo;
  }();
  return f;
}
FreeFn libcFreeaddrinfo() noexcept {
  static FreeFn f = [] {
    void* p = dlsym(RTLD_NEXT, "freeaddrinfo");
    return p != nullptr ? reinterpret_cast<FreeFn>(p) : &::freeaddrinfo;
  }();
  return f;
}

int resolveThrough(Engine* e, policy::PvdId id, const char* pvdName, const char* node,
                   const char* service, const addrinfo* hints, addrinfo** res) {
  // glibc's own checks (flags, family, service, socktype) first, from glibc itself.
  std::vector<dns::ServTuple> services;
  const int probe = dns::probeService(libcGetaddrinfo(), libcFreeaddrinfo(), service, *hints, &services);
  if (probe == EAI_BADFLAGS || probe == EAI_FAMILY) return probe;
  const view::SnapshotRef snap = e->view->current();  // held across the lookup
  const view::BoundPvd* bp = boundPvd(*snap, id);
  // AI_ADDRCONFIG judged on the PvD's own interface, as the interposer does.
  addrinfo eff = *hints;
  if (bp != nullptr)
    if (int rc = dns::applyAddrconfig(*snap, bp, &eff)) return rc;
  if (probe != 0) return probe;
  const bool want4 = eff.ai_family != AF_INET6 || (eff.ai_flags & AI_V4MAPPED);
  const bool want6 = eff.ai_family != AF_INET;
  const policy::PvdId order[1] = {id};
  dns::Answer a = e->resolver->lookup(*snap, order, node, want4, want6, "mif_getaddrinfo");
  if (a.exhausted) {
    setError(EAI_AGAIN, "mif: PvD '%s': no DNS server of the PvD answered for %s (%s)", pvdName,
             node, a.why.empty() ? "no answer" : a.why.c_str());
    return EAI_AGAIN;
  }
  if (a.status != dns::Status::Ok) return dns::eaiFor(a.status);
  return dns::buildAddrinfo(node, eff, a, services, snap.get(), boundPvd(*snap, a.pvd), res);
}

}  // namespace
}  // namespace mif::api

using namespace mif;
using namespace mif::api;

MIF_API_EXPORT int mif_api_version(void) { return MIF_API_VERSION; }

MIF_API_EXPORT int mif_socket_set_pvd(int fd, const char* pvd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    const int err = errno;
    setError(err, "mif: socket %d: %s", fd, std::strerror(err));
    return fail(err);
  }
  if (domain != AF_INET && domain != AF_INET6) {
    setError(EAFNOSUPPORT, "mif: socket %d: not an AF_INET or AF_INET6 socket (family %d)", fd,
             domain);
    return fail(EAFNOSUPPORT);
  }
  if (refused(pvd)) return fail(EPERM);
  if (const mif_engine_api* t = preloaded().table)
    return viaEngine([&](char* why, size_t n) { return t->socket_set_pvd(fd, pvd, why, n); });
  if (pvd == nullptr) {
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "", 0) != 0) {
      const int err = errno;
      setError(err, "mif: socket %d: unbinding from its device: %s", fd, std::strerror(err));
      return fail(err);
    }
    return 0;
  }
  Engine* e = nullptr;
  policy::PvdId id = 0;
  if (Found f = findPvd(pvd, &e, &id); f != Found::Ok) return fail(foundErrno(f));
  const view::SnapshotRef snap = e->view->current();
  const view::BoundPvd* bp = boundPvd(*snap, id);
  if (bp == nullptr || !bp->state.present || bp->ifname.empty()) {
    setError(ENETDOWN, "mif: PvD '%s': no interface matches it", pvd);
    return fail(ENETDOWN);
  }
  if (!bp->state.anyUsable()) {
    setError(ENETDOWN, "mif: PvD '%s': interface %s is down or has no usable address", pvd,
             bp->ifname.c_str());
    return fail(ENETDOWN);
  }
  if (const int err = engine_api::pinSocket(fd, domain, *bp, &::bind, nullptr)) {
    setError(err, "mif: PvD '%s': binding socket %d to %s: %s", pvd, fd, bp->ifname.c_str(),
             std::strerror(err));
    return fail(err);
  }
  return 0;
}

MIF_API_EXPORT int mif_getaddrinfo(const char* pvd, const char* node, const char* service,
                                   const struct addrinfo* hints, struct addrinfo** res) {
  static const addrinfo kDefaultHints = [] {
    addrinfo h{};
    h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;  // glibc's default_hints
    return h;
  }();
  const mif_engine_api* t = preloaded().table;
  char processPvd[MIF_PVD_NAME_MAX];
  if (pvd == nullptr && t != nullptr && t->process_get_pvd(processPvd, sizeof processPvd) > 0)
    pvd = processPvd;
  if (pvd == nullptr && t == nullptr) pvd = gProcessPvd.load(std::memory_order_acquire);
  const addrinfo* h = hints != nullptr ? hints : &kDefaultHints;
  if (pvd == nullptr || node == nullptr || (h->ai_flags & AI_NUMERICHOST) ||
      (h->ai_family != AF_UNSPEC && h->ai_family != AF_INET && h->ai_family != AF_INET6) ||
      dns::leaveToLibc(node))
    return getaddrinfo(node, service, hints, res);
  if (refused(pvd)) {
    last().code = EAI_SYSTEM;
    errno = EPERM;
    return EAI_SYSTEM;
  }
  if (t != nullptr) {
    char why[sizeof LastError::text];
    why[0] = '\0';
    const int rc = t->getaddrinfo(pvd, node, service, h, res, why, sizeof why);
    if (rc != 0 && why[0] != '\0') keepError(rc, why);
    return rc;
  }
  Engine* e = nullptr;
  policy::PvdId id = 0;
  if (Found f = findPvd(pvd, &e, &id); f != Found::Ok) {
    last().code = EAI_SYSTEM;
    errno = foundErrno(f);
    return EAI_SYSTEM;
  }
  const int saved = errno;
  int rc;
  try {
    rc = resolveThrough(e, id, pvd, node, service, h, res);
  } catch (const std::bad_alloc&) {
    rc = EAI_MEMORY;
  } catch (...) {
    rc = EAI_FAIL;
  }
  errno = saved;
  return rc;
}

MIF_API_EXPORT void mif_freeaddrinfo(struct addrinfo* res) { freeaddrinfo(res); }

MIF_API_EXPORT int mif_process_set_pvd(const char* pvd) {
  if (refused(pvd)) return fail(EPERM);
  if (const mif_engine_api* t = preloaded().table)
    return viaEngine([&](char* why, size_t n) { return t->process_set_pvd(pvd, why, n); });
  if (pvd == nullptr) {
    gProcessPvd.store(nullptr, std::memory_order_release);
    return 0;
  }
  Engine* e = nullptr;
  policy::PvdId id = 0;
  if (Found f = findPvd(pvd, &e, &id); f != Found::Ok) return fail(foundErrno(f));
  try {
    std::lock_guard<std::mutex> lock(gBuild);
    if (gNames == nullptr) gNames = new std::set<std::string>();
    gProcessPvd.store(gNames->emplace(pvd).first->c_str(), std::memory_order_release);
  } catch (...) {
    return fail(ENOMEM);
  }
  return 0;
}

MIF_API_EXPORT int mif_process_get_pvd(char* buf, size_t len) {
  if (const mif_engine_api* t = preloaded().table) return t->process_get_pvd(buf, len);
  const char* p = gProcessPvd.load(std::memory_order_acquire);
  if (p == nullptr) p = "";
  if (buf != nullptr && len > 0) copyName(p, buf, len);
  return static_cast<int>(std::strlen(p));
}

MIF_API_EXPORT int mif_pvd_list(struct mif_pvd* out, size_t max) {
  if (const mif_engine_api* t = preloaded().table) return t->pvd_list(out, max);
  Engine* e = engine();
  if (e == nullptr) return fail(ENOMEM);
  if (!e->policy) {
    setError(EINVAL, "mif: %s", e->error.c_str());
    return fail(EINVAL);
  }
  const view::SnapshotRef snap = e->view->current();
  return engine_api::fillPvdList(*e->policy, *snap, out, max);
}

MIF_API_EXPORT uint64_t mif_view_generation(void) {
  if (const mif_engine_api* t = preloaded().table) return t->view_generation();
  Engine* e = engine();
  if (e == nullptr || !e->view) return 0;
  return e->view->current()->generation;
}

MIF_API_EXPORT const char* mif_strerror(int err) {
  LastError& l = last();
  if (err != 0 && err == l.code && l.text[0] != '\0') {
    copyName(l.text, l.message, sizeof l.message);
  } else if (err < 0) {
    copyName(gai_strerror(err), l.message, sizeof l.message);
  } else {
    char buf[128];
    const char* s = strerror_r(err, buf, sizeof buf);
    copyName(s, l.message, sizeof l.message);
  }
  return l.message;
}
