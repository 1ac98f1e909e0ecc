/* <mif/mif.h>: the C API of mif for programs that choose their provisioning domain
   (PvD) themselves, as Android's <android/multinetwork.h> lets an app choose its network.

   Link with libmif-api (pkg-config mif; CMake find_package(mif) and mif::api; from Python,
   `import mif`). The library works in a program run without `mif run`: on the first call
   it loads the same policy layers the interposer reads (/etc/mif/policy.toml, the user's
   $XDG_CONFIG_HOME/mif/policy.toml, then $MIF_POLICY) and opens its own live view of the
   host's interfaces. Inside `mif run` it uses the interposer's own policy, view, resolver
   and trace instead. docs/api.md describes every function, its errors and its Android
   counterpart.

   Every function may be called from any thread. Functions returning int return 0 on
   success and -1 with errno set on failure (mif_getaddrinfo: an EAI_* code). The message
   of the calling thread's last failure, naming the PvD, is mif_strerror(errno). */
#ifndef MIF_MIF_H
#define MIF_MIF_H

#include <stddef.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* This header's version; mif_api_version() is the library's (same encoding). A program
   may check MIF_API_VERSION_MAJOR at build time and mif_api_version() >> 16 at run time. */
#define MIF_API_VERSION_MAJOR 0
#define MIF_API_VERSION_MINOR 1
#define MIF_API_VERSION ((MIF_API_VERSION_MAJOR << 16) | MIF_API_VERSION_MINOR)
int mif_api_version(void);

/* Pins socket `fd` to the PvD `pvd`: a PvD of the policy by name or, where no PvD has that
   name, an interface (an ad hoc PvD, as `mif run --pvd IFNAME`; inside `mif run`, only
   the interfaces its --pvd named). On success the socket is
   bound to the PvD's interface (SO_BINDTODEVICE) and, when the PvD has a source address of
   the socket's family to choose, bound to it with IP_BIND_ADDRESS_NO_PORT (no port is
   taken until connect), so that a later connect or sendto leaves through the PvD with a
   source valid there. `pvd` NULL removes the device binding (an address already bound
   stays bound). Errors:
     ENOENT        no PvD of the policy and no interface has that name
     ENETDOWN      the PvD's interface is absent, down, or has no usable address
     EBADF         fd is not an open descriptor
     ENOTSOCK      fd is not a socket
     EAFNOSUPPORT  the socket is not AF_INET or AF_INET6
     EINVAL        the policy layers could not be loaded (mif_strerror says why)
     EPERM         inside a strict `mif run`: the run does not allow this PvD
     others        from setsockopt(SO_BINDTODEVICE) */
int mif_socket_set_pvd(int fd, const char *pvd);

/* getaddrinfo(3) through the DNS servers of `pvd` only, over its interface: never the
   system resolver, never another PvD (like a strict pin). `pvd` NULL: the process default
   (mif_process_set_pvd), or, when there is none, getaddrinfo(3) itself. Numeric hosts,
   localhost and names of /etc/hosts are answered by getaddrinfo(3), as under `mif run`.
   Returns 0 or an EAI_* code: EAI_AGAIN when none of the PvD's servers answered (or it has
   none, or it is down), EAI_NONAME / EAI_NODATA as getaddrinfo's, EAI_SYSTEM with errno
   ENOENT for an unknown PvD (EINVAL: the policy could not be loaded; EPERM: a strict
   `mif run` resolves the name through other PvDs only). Free the result
   with mif_freeaddrinfo (or freeaddrinfo: the layout is glibc's). */
int mif_getaddrinfo(const char *pvd, const char *node, const char *service,
                    const struct addrinfo *hints, struct addrinfo **res);
void mif_freeaddrinfo(struct addrinfo *res);

/* The default PvD of the process; NULL returns to the policy. Inside `mif run` (as
   android_setprocnetwork) every new socket and lookup of the process goes to it, unless a
   strict decision, a locked system rule or the socket's own device binding says
   otherwise (when the PvD is not usable they are left to the kernel and the system
   resolver: a default, not a strict pin). Without `mif run` the library cannot see the
   program's sockets: the default applies to mif_getaddrinfo with a NULL PvD. Errors as
   mif_socket_set_pvd's for the name (ENOENT, EINVAL, EPERM); a PvD that is down is
   accepted (it may come up). mif_process_get_pvd copies the current default's name into
   buf (size len; "" for none) and returns its length. */
int mif_process_set_pvd(const char *pvd);
int mif_process_get_pvd(char *buf, size_t len);

/* The PvDs of the live view. */
#define MIF_PVD_NAME_MAX 64
#define MIF_PVD_MAX_ADDRS 8
#define MIF_PVD_MAX_DNS 4

/* mif_pvd.flags */
#define MIF_PVD_PRESENT 0x1u /* an interface matches the PvD */
#define MIF_PVD_IPV4 0x2u    /* usable for IPv4: up, carrier, a usable IPv4 address */
#define MIF_PVD_IPV6 0x4u    /* usable for IPv6 */
#define MIF_PVD_ADHOC 0x8u   /* made from an interface name, not defined by the policy */
/* Health, inside `mif run` only (what the process's own traffic said; docs/api.md): */
#define MIF_PVD_DEGRADED 0x10u /* a connect or every DNS server timed out through it */
#define MIF_PVD_FAILED 0x20u   /* its path was broken (a router answered unreachable) or it
                                  timed out again: tried last until its back-off elapses */

struct mif_addr {
  int family;                /* AF_INET or AF_INET6 */
  unsigned char addr[16];    /* network order; 4 bytes used for AF_INET */
};

struct mif_pvd {
  char name[MIF_PVD_NAME_MAX];  /* the PvD's name (truncated, NUL-terminated) */
  char ifname[16];              /* its interface ("" when none matches) */
  unsigned int ifindex;         /* 0 when none matches */
  unsigned int flags;           /* MIF_PVD_* */
  unsigned int n_addrs;         /* addresses of the interface that belong to the PvD */
  struct mif_addr addrs[MIF_PVD_MAX_ADDRS];
  unsigned int n_dns;           /* the PvD's DNS servers (policy, resolver, RA) */
  struct mif_addr dns[MIF_PVD_MAX_DNS];
  uint64_t generation;          /* the view's generation this entry was read from */
};

/* Fills out[0..max) with the PvDs of the live view (policy PvDs in policy order, then ad
   hoc PvDs a call of this API named) and returns how many there are, which may be more
   than max (call again with a larger array); -1 with errno EINVAL when the policy could
   not be loaded. out may be NULL when max is 0. */
int mif_pvd_list(struct mif_pvd *out, size_t max);

/* The live view's generation: increases whenever the view changes (an interface, address,
   route or DNS server came, went or changed). Poll it and call mif_pvd_list again when it
   moved. 0 when the policy could not be loaded. */
uint64_t mif_view_generation(void);

/* A message for an errno value or an EAI_* code returned by this API. When `err` is the
   calling thread's last failure in this API, the message names the PvD and what was
   wrong ("mif: PvD 'vpn': interface tun0 is down"); otherwise strerror(err) or
   gai_strerror(err). The string is the thread's own, valid until its next call. */
const char *mif_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* MIF_MIF_H */
