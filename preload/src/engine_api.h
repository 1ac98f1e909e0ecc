#pragma once
// What libmif-engine.so hands libmif-api.so inside `mif run` (issue 12, docs/api.md "Inside
// mif run"): one function table, so that a program linked with the C API and run under the
// interposer uses the preloaded engine's policy, view, resolver (its cache and DNS tags),
// datagram cache and trace instead of building its own beside them.
//
// The table is found through one symbol of libmif.so (the stub LD_PRELOAD names, so it is
// in the global scope): `mif_preload_api`, a function that loads the engine if it is not
// loaded yet and returns the table, or NULL when mif is disabled or the engine did not
// load. It hands out libmif-engine.so's `mif_engine_table` (the engine is dlopened
// RTLD_LOCAL, so only the stub can see it). libmif-api looks mif_preload_api up once with
// dlsym(RTLD_DEFAULT); without `mif run` the symbol is absent and the API works
// standalone.
//
// Versioning: members are only ever added at the end (`size` grows); a change that a
// reader of an older table could misread raises `version`, and libmif-api uses a table
// only when the version is its own and the size covers what it calls.
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mif_pvd;

#define MIF_ENGINE_API_VERSION 1u

struct mif_engine_api {
  uint32_t version; /* MIF_ENGINE_API_VERSION */
  uint32_t size;    /* sizeof(struct mif_engine_api) as the engine was built */
  /* 1 when the engine governs this process (a policy or a pin was loaded, or strict
     refuses everything); 0 when it has nothing to do (then the API works standalone). */
  int (*ready)(void);
  /* As mif_socket_set_pvd, for an AF_INET/AF_INET6 socket (the API checked the family);
     pvd NULL unpins. On failure -1, errno, and the message naming the PvD in why. */
  int (*socket_set_pvd)(int fd, const char* pvd, char* why, size_t whylen);
  /* As mif_getaddrinfo for a named PvD, a name (not numeric, not localhost or
     /etc/hosts) and an inet or unspecified family (the API checked those). EAI_SYSTEM
     leaves errno (ENOENT, EPERM) and the message in why. */
  int (*getaddrinfo)(const char* pvd, const char* node, const char* service,
                     const struct addrinfo* hints, struct addrinfo** res, char* why,
                     size_t whylen);
  /* As mif_process_set_pvd / mif_process_get_pvd. */
  int (*process_set_pvd)(const char* pvd, char* why, size_t whylen);
  int (*process_get_pvd)(char* buf, size_t len);
  /* As mif_pvd_list / mif_view_generation, over the engine's policy and view. */
  int (*pvd_list)(struct mif_pvd* out, size_t max);
  uint64_t (*view_generation)(void);
};

typedef const struct mif_engine_api* (*mif_preload_api_fn)(void);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
// Shared by both implementations (api/src/api.cpp standalone, hook_api.cpp inside the
// engine), so the two pin a socket and describe a PvD with the same code.
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "mif/mif.h"
#include "mif/policy/policy.h"
#include "mif/view/snapshot.h"

namespace mif::engine_api {

inline void copyName(std::string_view s, char* buf, size_t len) noexcept {
  if (len == 0) return;
  const size_t n = s.size() < len ? s.size() : len - 1;
  std::memcpy(buf, s.data(), n);
  buf[n] = '\0';
}

inline socklen_t toSockaddr(const policy::IpAddress& a, int socketFamily,
                            sockaddr_storage* ss) noexcept {
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

// Binds socket fd (of `domain`) to the PvD's interface and, when the PvD has a source of
// the socket's family to choose, that source without a port. 0, or the errno of
// SO_BINDTODEVICE. *source is set to the source bound (when sourceBound is not null).
template <typename BindFn>
int pinSocket(int fd, int domain, const view::BoundPvd& bp, BindFn bindFn,
              const policy::IpAddress** source) noexcept {
  // By name, not index: a VPN that comes back with a new index is still found.
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bp.ifname.c_str(),
                 static_cast<socklen_t>(bp.ifname.size())) != 0)
    return errno;
  const bool v4 = domain == AF_INET;
  const bool has = v4 ? bp.hasSource4 : (bp.hasSource6 || bp.hasSource4);
  if (!has) return 0;
  const policy::IpAddress& src = v4 ? bp.source4 : (bp.hasSource6 ? bp.source6 : bp.source4);
  const int one = 1;
  setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_storage ss;
  const socklen_t sl = toSockaddr(src, domain, &ss);
  // EINVAL: the program bound the socket already; its binding stands and the device
  // binding alone keeps it on the PvD.
  if (sl != 0 && bindFn(fd, reinterpret_cast<sockaddr*>(&ss), sl) == 0 && source != nullptr)
    *source = &src;
  return 0;
}

inline void copyAddr(const policy::IpAddress& a, mif_addr* out) noexcept {
  std::memset(out, 0, sizeof *out);
  const bool v4 = a.family == policy::Family::V4;
  out->family = v4 ? AF_INET : AF_INET6;
  std::memcpy(out->addr, a.bytes.data(), v4 ? 4 : 16);
}

// mif_pvd_list over a policy and a snapshot of its view.
inline int fillPvdList(const policy::Policy& pol, const view::Snapshot& snap, mif_pvd* out,
                       size_t max) noexcept {
  const auto& defs = pol.pvds();
  for (size_t i = 0; i < defs.size() && i < max; ++i) {
    mif_pvd& p = out[i];
    std::memset(&p, 0, sizeof p);
    copyName(defs[i].name, p.name, sizeof p.name);
    p.generation = snap.generation;
    if (defs[i].adHoc) p.flags |= MIF_PVD_ADHOC;
    if (i >= snap.pvds.size()) continue;
    const view::BoundPvd& bp = snap.pvds[i];
    copyName(bp.ifname, p.ifname, sizeof p.ifname);
    p.ifindex = static_cast<unsigned>(bp.ifindex);
    if (bp.state.present) p.flags |= MIF_PVD_PRESENT;
    if (bp.state.v4) p.flags |= MIF_PVD_IPV4;
    if (bp.state.v6) p.flags |= MIF_PVD_IPV6;
    for (const auto& a : bp.addresses)
      if (p.n_addrs < MIF_PVD_MAX_ADDRS) copyAddr(a, &p.addrs[p.n_addrs++]);
    for (const auto& d : bp.dns)
      if (p.n_dns < MIF_PVD_MAX_DNS) copyAddr(d.addr, &p.dns[p.n_dns++]);
  }
  return static_cast<int>(defs.size());
}

}  // namespace mif::engine_api
#endif
