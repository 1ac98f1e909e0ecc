// libmif-api: the C API of <mif/mif.h> over the engine's own code (mif/policy, mif/view,
// mif/dns), linked in statically and hidden, so a program run without `mif run` gets the
// same policy, live view and per-PvD resolver the interposer uses.
//
// State: an Engine (compiled policy, live view, resolver) built on the first call, under
// a mutex, from the policy layers init.cpp reads (system, user, MIF_POLICY). Naming an
// interface that no PvD names makes an ad hoc PvD for it: a new Engine is compiled with
// every ad hoc name asked so far (the pin of `mif run --pvd IFNAME`) and published with
// an atomic store. Engines are never freed (another thread may still be using the one it
// loaded); there is one per distinct interface name asked, so they are few.
//
// After the first call the socket path (mif_socket_set_pvd on a known PvD) takes no lock
// and allocates nothing: an acquire load, a lookup by name, the view's freshness check and
// the system calls of pinning.
#include "mif/mif.h"

#include <dlfcn.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

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
};

std::atomic<Engine*> gEngine{nullptr};
std::mutex gBuild;  // building an Engine, and the process default below
std::atomic<const char*> gProcessPvd{nullptr};  // interned in gNames, never freed
std::set<std::string>* gNames = nullptr;        // under gBuild

// The calling thread's last failure, for mif_strerror.
struct LastError {
  int code = 0;
  char text[320] = {};
  char message[384] = {};
};
thread_local LastError tLast;

template <typename... A>
void setError(int code, const char* fmt, A... args) noexcept {
  tLast.code = code;
  std::snprintf(tLast.text, sizeof tLast.text, fmt, args...);
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
        return Found::NoPolicy;
      }
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

socklen_t toSockaddr(const policy::IpAddress& a, int socketFamily, sockaddr_storage* ss) noexcept {
  std::memset(ss, 0, sizeof *ss);
  if (socketFamily == AF_INET && a.family == policy::Family::V4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
    return sizeof *sin;
  }
  if (socketFamily == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
    sin6->sin6_family = AF_INET6;
    if (a.family == policy::Family::V4) {
      sin6->sin6_addr.s6_addr[10] = 0xff;
      sin6->sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(&sin6->sin6_addr.s6_addr[12], a.bytes.data(), 4);
    } else {
      std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
    }
    return sizeof *sin6;
  }
  return 0;
}

void copyAddr(const policy::IpAddress& a, mif_addr* out) noexcept {
  std::memset(out, 0, sizeof *out);
  const bool v4 = a.family == policy::Family::V4;
  out->family = v4 ? AF_INET : AF_INET6;
  std::memcpy(out->addr, a.bytes.data(), v4 ? 4 : 16);
}

void copyName(std::string_view s, char* buf, size_t len) noexcept {
  const size_t n = s.size() < len ? s.size() : len - 1;
  std::memcpy(buf, s.data(), n);
  buf[n] = '\0';
}

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
  // By name, not index: a VPN that comes back with a new index is still found.
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bp->ifname.c_str(),
                 static_cast<socklen_t>(bp->ifname.size())) != 0) {
    const int err = errno;
    setError(err, "mif: PvD '%s': binding socket %d to %s: %s", pvd, fd, bp->ifname.c_str(),
             std::strerror(err));
    return fail(err);
  }
  // The PvD's source of the socket's family, when the PvD has one to choose (its `source`
  // set, or several usable addresses): bound now without a port, as the interposer does.
  const bool v4 = domain == AF_INET;
  const bool has = v4 ? bp->hasSource4 : (bp->hasSource6 || bp->hasSource4);
  if (has) {
    const policy::IpAddress& src = v4 || bp->hasSource6 ? (v4 ? bp->source4 : bp->source6) : bp->source4;
    const int one = 1;
    setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_storage ss;
    const socklen_t sl = toSockaddr(src, domain, &ss);
    // EINVAL: the program bound the socket already; its binding stands and the device
    // binding alone keeps it on the PvD.
    if (sl != 0) (void)bind(fd, reinterpret_cast<sockaddr*>(&ss), sl);
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
  if (pvd == nullptr) pvd = gProcessPvd.load(std::memory_order_acquire);
  const addrinfo* h = hints != nullptr ? hints : &kDefaultHints;
  if (pvd == nullptr || node == nullptr || (h->ai_flags & AI_NUMERICHOST) ||
      (h->ai_family != AF_UNSPEC && h->ai_family != AF_INET && h->ai_family != AF_INET6) ||
      dns::leaveToLibc(node))
    return getaddrinfo(node, service, hints, res);
  Engine* e = nullptr;
  policy::PvdId id = 0;
  if (Found f = findPvd(pvd, &e, &id); f != Found::Ok) {
    tLast.code = EAI_SYSTEM;
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
  const char* p = gProcessPvd.load(std::memory_order_acquire);
  if (p == nullptr) p = "";
  if (buf != nullptr && len > 0) copyName(p, buf, len);
  return static_cast<int>(std::strlen(p));
}

MIF_API_EXPORT int mif_pvd_list(struct mif_pvd* out, size_t max) {
  Engine* e = engine();
  if (e == nullptr) return fail(ENOMEM);
  if (!e->policy) {
    setError(EINVAL, "mif: %s", e->error.c_str());
    return fail(EINVAL);
  }
  const view::SnapshotRef snap = e->view->current();
  const auto& defs = e->policy->pvds();
  for (size_t i = 0; i < defs.size() && i < max; ++i) {
    mif_pvd& p = out[i];
    std::memset(&p, 0, sizeof p);
    copyName(defs[i].name, p.name, sizeof p.name);
    p.generation = snap->generation;
    if (defs[i].adHoc) p.flags |= MIF_PVD_ADHOC;
    const view::BoundPvd* bp = boundPvd(*snap, static_cast<policy::PvdId>(i));
    if (bp == nullptr) continue;
    copyName(bp->ifname, p.ifname, sizeof p.ifname);
    p.ifindex = static_cast<unsigned>(bp->ifindex);
    if (bp->state.present) p.flags |= MIF_PVD_PRESENT;
    if (bp->state.v4) p.flags |= MIF_PVD_IPV4;
    if (bp->state.v6) p.flags |= MIF_PVD_IPV6;
    for (const auto& a : bp->addresses)
      if (p.n_addrs < MIF_PVD_MAX_ADDRS) copyAddr(a, &p.addrs[p.n_addrs++]);
    for (const auto& d : bp->dns)
      if (p.n_dns < MIF_PVD_MAX_DNS) copyAddr(d.addr, &p.dns[p.n_dns++]);
  }
  return static_cast<int>(defs.size());
}

MIF_API_EXPORT uint64_t mif_view_generation(void) {
  Engine* e = engine();
  if (e == nullptr || !e->view) return 0;
  return e->view->current()->generation;
}

MIF_API_EXPORT const char* mif_strerror(int err) {
  LastError& l = tLast;
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
