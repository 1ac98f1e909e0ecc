/* libmif.so, the object LD_PRELOAD names: a small C stub with no C++ runtime, no libnl, no
   c-ares. Until the program's first network call it only forwards to libc, so a process
   that never touches the network maps a few pages and runs no constructor of ours. The
   first AF_INET/AF_INET6 socket call (or name lookup) dlopens libmif-engine.so from the
   same directory (RTLD_LOCAL: none of its symbols becomes visible to the program) and
   from then on every hook forwards to the engine's function of the same name, which does
   the real work (hook_*.cpp).

   Threading: the engine is loaded once under a mutex; afterwards each hook is one
   acquire load and an indirect call. A thread that re-enters while loading (a constructor
   of the engine making a call we hook) is sent to libc.

   Longer than the ~400 lines a file in preload/ should be: one forwarding function per
   hooked libc entry point (sockets, the resolver APIs, the close family, the waits), each a few lines
   with its own signature, plus the strict refusals of the resolver APIs when the engine
   cannot be loaded; split, the list would only be spread over files that each repeat the
   loading logic. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "caller_memory.h"

#define EXPORT __attribute__((visibility("default")))

enum { kUnloaded = 0, kLoaded = 1, kFailed = 2 };
static atomic_int state = kUnloaded;
static pthread_mutex_t loadLock = PTHREAD_MUTEX_INITIALIZER;
static __thread int loading __attribute__((tls_model("initial-exec")));

/* One slot per forwarded function: the engine's, and libc's for before (or without) it. */
enum Fn {
  F_connect, F_sendto, F_sendmsg, F_sendmmsg, F_bind, F_listen, F_accept, F_accept4,
  F_close, F_close_range, F_closefrom, F_dup2, F_dup3, F_socket,
  F_poll, F_poll_chk, F_ppoll, F_ppoll_chk, F_select, F_pselect, F_getsockopt, F_setsockopt,
  F_fcntl, F_fcntl64, F_fcntl_alias, F_ioctl,
  F_epoll_ctl, F_epoll_wait, F_epoll_pwait, F_epoll_pwait2,
  F_getaddrinfo, F_freeaddrinfo, F_getnameinfo, F_gethostbyname, F_gethostbyname2,
  F_gethostbyname_r, F_gethostbyname2_r, F_gethostbyaddr, F_gethostbyaddr_r,
  F_res_query, F_res_search, F_res_querydomain, F_res_nquery, F_res_nsearch, F_res_nquerydomain,
  F_count
};
static const char* const names[F_count] = {
  "connect", "sendto", "sendmsg", "sendmmsg", "bind", "listen", "accept", "accept4",
  "close", "close_range", "closefrom", "dup2", "dup3", "socket",
  "poll", "__poll_chk", "ppoll", "__ppoll_chk", "select", "pselect", "getsockopt", "setsockopt",
  "fcntl", "fcntl64", "__fcntl", "ioctl",
  "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
  "getaddrinfo", "freeaddrinfo", "getnameinfo", "gethostbyname", "gethostbyname2",
  "gethostbyname_r", "gethostbyname2_r", "gethostbyaddr", "gethostbyaddr_r",
  "res_query", "res_search", "res_querydomain", "res_nquery", "res_nsearch", "res_nquerydomain",
};
static void* engineFn[F_count];
static const void* engineTable; /* the engine's mif_engine_table (engine_api.h) */
static _Atomic(void*) libcFn[F_count];

static void* libc(enum Fn f) {
  void* p = atomic_load_explicit(&libcFn[f], memory_order_relaxed);
  if (p == NULL) {
    p = dlsym(RTLD_NEXT, names[f]);
    atomic_store_explicit(&libcFn[f], p, memory_order_relaxed);
  }
  return p;
}

/* The engine's "real function" lookup: what comes after libmif.so for the program. */
/* Not a tail call: RTLD_NEXT goes by the object dlsym returns to, and a `jmp dlsym` (what
   -O2 made of a plain `return dlsym(...)`) returned to the engine, whose "next" is libc:
   every library preloaded after libmif.so was skipped by the engine's real calls. */
static void* next(const char* name) {
  void* p = dlsym(RTLD_NEXT, name);
  __asm__ volatile("" : : "r"(p) : "memory");
  return p;
}

static void say(const char* a, const char* b) {
  (void)!write(STDERR_FILENO, "mif: ", 5);
  (void)!write(STDERR_FILENO, a, strlen(a));
  (void)!write(STDERR_FILENO, b, strlen(b));
  (void)!write(STDERR_FILENO, "\n", 1);
}

static int envSet(const char* name) {
  const char* v = getenv(name);
  return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0);
}

/* True once the engine is loaded; loads it if asked to and not yet tried. */
static int engine(int load) {
  int s = atomic_load_explicit(&state, memory_order_acquire);
  if (s != kUnloaded || !load || loading) return s == kLoaded;
  int savedErrno = errno;
  pthread_mutex_lock(&loadLock);
  if (atomic_load_explicit(&state, memory_order_relaxed) == kUnloaded) {
    int result = kFailed;
    if (!envSet("MIF_DISABLE")) {
      loading = 1;
      Dl_info self;
      char path[4096];
      void* h = NULL;
      if (dladdr((void*)&engine, &self) != 0 && self.dli_fname != NULL &&
          strlen(self.dli_fname) + 32 < sizeof path) {
        strcpy(path, self.dli_fname);
        char* slash = strrchr(path, '/');
        strcpy(slash != NULL ? slash + 1 : path, "libmif-engine.so");
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
      }
      void (*init)(void* (*)(const char*)) = NULL;
      if (h != NULL) *(void**)&init = dlsym(h, "mif_engine_init");
      if (h != NULL && init != NULL) {
        init(next);
        result = kLoaded;
        engineTable = dlsym(h, "mif_engine_table");
        for (int f = 0; f < F_count; ++f) {
          engineFn[f] = dlsym(h, names[f]);
          if (engineFn[f] == NULL) engineFn[f] = libc((enum Fn)f);
        }
      } else {
        /* Never a silent success: say why, and under --strict refuse the network. */
        const char* err = dlerror();
        say("cannot load libmif-engine.so: ", err != NULL ? err : "not found beside libmif.so");
        if (envSet("MIF_STRICT"))
          say("strict: ", "every connection and every name lookup that needs a server is refused");
      }
      loading = 0;
    }
    atomic_store_explicit(&state, result, memory_order_release);
  }
  pthread_mutex_unlock(&loadLock);
  errno = savedErrno;
  return atomic_load_explicit(&state, memory_order_acquire) == kLoaded;
}

/* The one symbol of libmif.so that is not a libc function: the C API (libmif-api.so,
   linked into a program run under `mif run`) finds it with dlsym(RTLD_DEFAULT) and uses
   the engine's state through the table it returns (engine_api.h) instead of building a
   second policy, view and resolver. Loads the engine (an API call is a network call);
   NULL when mif is disabled or the engine did not load. */
EXPORT const void* mif_preload_api(void) { return engine(1) ? engineTable : NULL; }

/* The engine failed to load under MIF_STRICT: no network at all rather than unpinned. */
static int refuseStrict(void) {
  if (atomic_load_explicit(&state, memory_order_acquire) == kFailed && envSet("MIF_STRICT") &&
      !envSet("MIF_DISABLE")) {
    errno = ENETUNREACH;
    return 1;
  }
  return 0;
}

/* The same, for the resolver entry points: true when a lookup must not reach any server. */
static int lookupsRefused(void) {
  return atomic_load_explicit(&state, memory_order_acquire) == kFailed && envSet("MIF_STRICT") &&
         !envSet("MIF_DISABLE");
}

/* Before the engine is loaded the stub reads the program's memory (a sockaddr's family, a
   msghdr) to know whether a call is a network call. A pointer the kernel answers with
   EFAULT must still get EFAULT, not a crash here: caller_memory.h, as the engine does.
   `frame` is the hook's live frame. */
static int readCaller(void* dst, const void* src, size_t n, const void* frame) {
  if (!mifCallerReadable(src, n, frame)) return 0;
  memcpy(dst, src, n);
  return 1;
}

static int isInet(const struct sockaddr* sa, socklen_t len, const void* frame) {
  if (sa == NULL || len < (socklen_t)sizeof(sa_family_t)) return 0;
  sa_family_t f;
  if (!readCaller(&f, sa, sizeof f, frame)) return 0; /* libc says EFAULT */
  return f == AF_INET || f == AF_INET6;
}
static int isInetMsg(const struct msghdr* m, const void* frame) {
  struct msghdr copy;
  return m != NULL && readCaller(&copy, m, sizeof copy, frame) &&
         isInet((const struct sockaddr*)copy.msg_name, copy.msg_namelen, frame);
}

static int isInetSocket(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int savedErrno = errno;
  int r = getsockname(fd, (struct sockaddr*)&ss, &len) == 0 &&
          (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
  errno = savedErrno;
  return r;
}

#define CALL(f, type, ...) (((type)(engine(0) ? engineFn[f] : libc(f)))(__VA_ARGS__))
#define LOADED_OR(cond) (engine(0) || ((cond) && engine(1)))

typedef int (*connect_t)(int, const struct sockaddr*, socklen_t);
EXPORT int connect(int fd, const struct sockaddr* a, socklen_t l) {
  if (engine(0)) return ((connect_t)engineFn[F_connect])(fd, a, l);
  int inet = isInet(a, l, __builtin_frame_address(0));
  if (inet && engine(1)) return ((connect_t)engineFn[F_connect])(fd, a, l);
  if (inet && refuseStrict()) return -1;
  return ((connect_t)libc(F_connect))(fd, a, l);
}
EXPORT int __connect(int fd, const struct sockaddr* a, socklen_t l) { return connect(fd, a, l); }

typedef ssize_t (*sendto_t)(int, const void*, size_t, int, const struct sockaddr*, socklen_t);
EXPORT ssize_t sendto(int fd, const void* b, size_t n, int fl, const struct sockaddr* a, socklen_t l) {
  if (engine(0)) return ((sendto_t)engineFn[F_sendto])(fd, b, n, fl, a, l);
  int inet = isInet(a, l, __builtin_frame_address(0));
  if (inet && engine(1)) return ((sendto_t)engineFn[F_sendto])(fd, b, n, fl, a, l);
  if (inet && refuseStrict()) return -1;
  return ((sendto_t)libc(F_sendto))(fd, b, n, fl, a, l);
}

typedef ssize_t (*sendmsg_t)(int, const struct msghdr*, int);
EXPORT ssize_t sendmsg(int fd, const struct msghdr* m, int fl) {
  if (engine(0)) return ((sendmsg_t)engineFn[F_sendmsg])(fd, m, fl);
  int inet = isInetMsg(m, __builtin_frame_address(0));
  if (inet && engine(1)) return ((sendmsg_t)engineFn[F_sendmsg])(fd, m, fl);
  if (inet && refuseStrict()) return -1;
  return ((sendmsg_t)libc(F_sendmsg))(fd, m, fl);
}

typedef int (*sendmmsg_t)(int, struct mmsghdr*, unsigned int, int);
EXPORT int sendmmsg(int fd, struct mmsghdr* v, unsigned int n, int fl) {
  if (engine(0)) return ((sendmmsg_t)engineFn[F_sendmmsg])(fd, v, n, fl);
  int inet = 0;
  for (unsigned int i = 0; v != NULL && i < n && !inet; ++i)
    inet = isInetMsg(&v[i].msg_hdr, __builtin_frame_address(0));
  if (inet && engine(1)) return ((sendmmsg_t)engineFn[F_sendmmsg])(fd, v, n, fl);
  if (inet && refuseStrict()) return -1;
  return ((sendmmsg_t)libc(F_sendmmsg))(fd, v, n, fl);
}

typedef int (*bind_t)(int, const struct sockaddr*, socklen_t);
EXPORT int bind(int fd, const struct sockaddr* a, socklen_t l) {
  if (LOADED_OR(isInet(a, l, __builtin_frame_address(0))))
    return ((bind_t)engineFn[F_bind])(fd, a, l);
  return ((bind_t)libc(F_bind))(fd, a, l);
}

typedef int (*listen_t)(int, int);
EXPORT int listen(int fd, int backlog) {
  if (LOADED_OR(isInetSocket(fd))) return ((listen_t)engineFn[F_listen])(fd, backlog);
  return ((listen_t)libc(F_listen))(fd, backlog);
}

typedef int (*accept_t)(int, struct sockaddr*, socklen_t*);
EXPORT int accept(int fd, struct sockaddr* a, socklen_t* l) {
  if (LOADED_OR(isInetSocket(fd))) return ((accept_t)engineFn[F_accept])(fd, a, l);
  return ((accept_t)libc(F_accept))(fd, a, l);
}

typedef int (*accept4_t)(int, struct sockaddr*, socklen_t*, int);
EXPORT int accept4(int fd, struct sockaddr* a, socklen_t* l, int flags) {
  if (LOADED_OR(isInetSocket(fd))) return ((accept4_t)engineFn[F_accept4])(fd, a, l, flags);
  return ((accept4_t)libc(F_accept4))(fd, a, l, flags);
}

/* Descriptor calls: the engine protects its own descriptors once it exists. */
EXPORT int close(int fd) { return CALL(F_close, int (*)(int), fd); }
EXPORT int close_range(unsigned int a, unsigned int b, int fl) {
  return CALL(F_close_range, int (*)(unsigned int, unsigned int, int), a, b, fl);
}
EXPORT void closefrom(int lo) { CALL(F_closefrom, void (*)(int), lo); }
EXPORT int dup2(int a, int b) { return CALL(F_dup2, int (*)(int, int), a, b); }
EXPORT int dup3(int a, int b, int fl) { return CALL(F_dup3, int (*)(int, int, int), a, b, fl); }
EXPORT int socket(int d, int t, int p) { return CALL(F_socket, int (*)(int, int, int), d, t, p); }

/* The waits and getsockopt, where a non-blocking connect's race across PvDs runs
   (nb_race.h). They never load the engine: a race needs a connect first. */
EXPORT int poll(struct pollfd* f, nfds_t n, int t) {
  return CALL(F_poll, int (*)(struct pollfd*, nfds_t, int), f, n, t);
}
EXPORT int __poll_chk(struct pollfd* f, nfds_t n, int t, size_t l) {
  return CALL(F_poll_chk, int (*)(struct pollfd*, nfds_t, int, size_t), f, n, t, l);
}
EXPORT int ppoll(struct pollfd* f, nfds_t n, const struct timespec* t, const sigset_t* m) {
  return CALL(F_ppoll, int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*), f, n, t, m);
}
EXPORT int __ppoll_chk(struct pollfd* f, nfds_t n, const struct timespec* t, const sigset_t* m, size_t l) {
  return CALL(F_ppoll_chk,
              int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*, size_t), f, n,
              t, m, l);
}
EXPORT int select(int n, fd_set* r, fd_set* w, fd_set* e, struct timeval* t) {
  return CALL(F_select, int (*)(int, fd_set*, fd_set*, fd_set*, struct timeval*), n, r, w, e, t);
}
EXPORT int pselect(int n, fd_set* r, fd_set* w, fd_set* e, const struct timespec* t, const sigset_t* m) {
  return CALL(F_pselect,
              int (*)(int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*), n, r,
              w, e, t, m);
}
EXPORT int getsockopt(int fd, int l, int o, void* v, socklen_t* len) {
  return CALL(F_getsockopt, int (*)(int, int, int, void*, socklen_t*), fd, l, o, v, len);
}
/* setsockopt never loads the engine either: it only tells the engine what the program
   changed on a socket made since the engine loaded (known_fds.h). */
EXPORT int setsockopt(int fd, int l, int o, const void* v, socklen_t len) {
  return CALL(F_setsockopt, int (*)(int, int, int, const void*, socklen_t), fd, l, o, v, len);
}
/* fcntl, its other names and ioctl never load the engine either (known_fds.h). The
   variadic argument is taken as glibc's wrappers take it, one pointer-sized word, and
   passed on to a variadic call. */
typedef int (*fcntl_t)(int, int, ...);
#define FCNTL_ARG(last) \
  va_list ap;           \
  va_start(ap, last);   \
  void* arg = va_arg(ap, void*); \
  va_end(ap)
EXPORT int fcntl(int fd, int cmd, ...) {
  FCNTL_ARG(cmd);
  return CALL(F_fcntl, fcntl_t, fd, cmd, arg);
}
EXPORT int fcntl64(int fd, int cmd, ...) {
  FCNTL_ARG(cmd);
  return CALL(F_fcntl64, fcntl_t, fd, cmd, arg);
}
EXPORT int __fcntl(int fd, int cmd, ...) {
  FCNTL_ARG(cmd);
  return CALL(F_fcntl_alias, fcntl_t, fd, cmd, arg);
}
EXPORT int ioctl(int fd, unsigned long request, ...) {
  FCNTL_ARG(request);
  return CALL(F_ioctl, int (*)(int, unsigned long, ...), fd, request, arg);
}
#undef FCNTL_ARG
EXPORT int epoll_ctl(int ep, int op, int fd, struct epoll_event* e) {
  return CALL(F_epoll_ctl, int (*)(int, int, int, struct epoll_event*), ep, op, fd, e);
}
EXPORT int epoll_wait(int ep, struct epoll_event* e, int n, int t) {
  return CALL(F_epoll_wait, int (*)(int, struct epoll_event*, int, int), ep, e, n, t);
}
EXPORT int epoll_pwait(int ep, struct epoll_event* e, int n, int t, const sigset_t* m) {
  return CALL(F_epoll_pwait, int (*)(int, struct epoll_event*, int, int, const sigset_t*), ep, e, n, t, m);
}
EXPORT int epoll_pwait2(int ep, struct epoll_event* e, int n, const struct timespec* t, const sigset_t* m) {
  return CALL(F_epoll_pwait2,
              int (*)(int, struct epoll_event*, int, const struct timespec*, const sigset_t*), ep, e,
              n, t, m);
}

/* Name lookups are network calls: they load the engine. When it cannot be loaded under
   MIF_STRICT, nothing may be asked of any server (glibc's resolver would ask the system's,
   through whatever route the kernel picks, and glibc may hand the name to nscd or to an
   NSS module that asks a daemon): only what needs no lookup at all is answered, by libc
   itself (numeric addresses, a NULL node, a numeric getnameinfo); every other lookup
   fails with the error the API uses for "cannot reach a server now" (docs/architecture.md,
   "Strict on every path"). errno is left as it was. */
#define RESOLVE(f) (engine(1) ? engineFn[f] : libc(f))

/* An IPv4 dotted or IPv6 literal that glibc parses without any lookup. A name with any
   other character (a space, letters outside hex, "%scope") counts as not numeric: the
   strict answer to it is a refusal, never a lookup. */
static int numericName(const char* n) {
  if (n == NULL || *n == '\0') return 0;
  int v4 = 1, v6 = 1;
  for (const char* c = n; *c != '\0'; ++c) {
    const int digit = *c >= '0' && *c <= '9';
    const int hex = digit || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F');
    v4 = v4 && (digit || *c == '.');
    v6 = v6 && (hex || *c == ':' || *c == '.');
  }
  struct in_addr a4;
  struct in6_addr a6;
  return (v4 && inet_aton(n, &a4) != 0) || (v6 && inet_pton(AF_INET6, n, &a6) == 1);
}

typedef int (*gai_t)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
EXPORT int getaddrinfo(const char* n, const char* s, const struct addrinfo* h, struct addrinfo** r) {
  if (engine(1)) return ((gai_t)engineFn[F_getaddrinfo])(n, s, h, r);
  if (n == NULL || !lookupsRefused()) return ((gai_t)libc(F_getaddrinfo))(n, s, h, r);
  /* AI_NUMERICHOST: glibc parses the literal and asks nothing of anyone; a name then gets
     EAI_NONAME, which under strict is EAI_AGAIN (no server could be asked), unless the
     program itself said the node is numeric. */
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  if (h != NULL) {
    hints = *h;
  } else {
    hints.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG; /* glibc's defaults for NULL hints */
  }
  const int numericAsked = hints.ai_flags & AI_NUMERICHOST;
  hints.ai_flags |= AI_NUMERICHOST;
  int rc = ((gai_t)libc(F_getaddrinfo))(n, s, &hints, r);
  return rc == EAI_NONAME && !numericAsked ? EAI_AGAIN : rc;
}
/* freeaddrinfo must match whoever allocated: the engine's knows both kinds. Never loads. */
EXPORT void freeaddrinfo(struct addrinfo* r) { CALL(F_freeaddrinfo, void (*)(struct addrinfo*), r); }

typedef int (*gni_t)(const struct sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
EXPORT int getnameinfo(const struct sockaddr* sa, socklen_t sl, char* h, socklen_t hl, char* s,
                       socklen_t svl, int fl) {
  if (engine(1)) return ((gni_t)engineFn[F_getnameinfo])(sa, sl, h, hl, s, svl, fl);
  if (!lookupsRefused() || !isInet(sa, sl, __builtin_frame_address(0)))
    return ((gni_t)libc(F_getnameinfo))(sa, sl, h, hl, s, svl, fl);
  /* A name is required and none may be looked up: what a resolver that cannot be reached
     says. Otherwise the numeric form, which glibc gives when no name is found. */
  if ((fl & NI_NAMEREQD) && h != NULL && hl > 0) {
    errno = 0; /* what glibc's getnameinfo leaves after a lookup, as the engine does */
    return EAI_AGAIN;
  }
  return ((gni_t)libc(F_getnameinfo))(sa, sl, h, hl, s, svl, fl | NI_NUMERICHOST);
}

/* The hostent calls under strict without the engine: TRY_AGAIN, as glibc reports a
   resolver it cannot reach (the _r forms return EAGAIN with no result). */
static struct hostent* refusedHostent(void) {
  h_errno = TRY_AGAIN;
  errno = EAGAIN; /* as the engine and glibc leave it: errno is the _r form's result */
  return NULL;
}
static int refusedHostentR(struct hostent** res, int* e) {
  if (res != NULL) *res = NULL;
  if (e != NULL) *e = TRY_AGAIN;
  h_errno = TRY_AGAIN;
  errno = EAGAIN;
  return EAGAIN;
}

EXPORT struct hostent* gethostbyname(const char* n) {
  if (!engine(1) && lookupsRefused() && !numericName(n)) return refusedHostent();
  return ((struct hostent * (*)(const char*)) RESOLVE(F_gethostbyname))(n);
}
EXPORT struct hostent* gethostbyname2(const char* n, int af) {
  if (!engine(1) && lookupsRefused() && !numericName(n)) return refusedHostent();
  return ((struct hostent * (*)(const char*, int)) RESOLVE(F_gethostbyname2))(n, af);
}
EXPORT int gethostbyname_r(const char* n, struct hostent* ret, char* b, size_t bl,
                           struct hostent** res, int* e) {
  if (!engine(1) && lookupsRefused() && !numericName(n)) return refusedHostentR(res, e);
  return ((int (*)(const char*, struct hostent*, char*, size_t, struct hostent**, int*))RESOLVE(
      F_gethostbyname_r))(n, ret, b, bl, res, e);
}
EXPORT int gethostbyname2_r(const char* n, int af, struct hostent* ret, char* b, size_t bl,
                            struct hostent** res, int* e) {
  if (!engine(1) && lookupsRefused() && !numericName(n)) return refusedHostentR(res, e);
  return ((int (*)(const char*, int, struct hostent*, char*, size_t, struct hostent**, int*))
              RESOLVE(F_gethostbyname2_r))(n, af, ret, b, bl, res, e);
}
/* A reverse lookup always needs a server (or /etc/hosts, which is not worth the risk of
   NSS modules that ask a daemon): refused. */
EXPORT struct hostent* gethostbyaddr(const void* a, socklen_t l, int t) {
  if (!engine(1) && lookupsRefused()) return refusedHostent();
  return ((struct hostent * (*)(const void*, socklen_t, int)) RESOLVE(F_gethostbyaddr))(a, l, t);
}
EXPORT int gethostbyaddr_r(const void* a, socklen_t l, int t, struct hostent* ret, char* b,
                           size_t bl, struct hostent** res, int* e) {
  if (!engine(1) && lookupsRefused()) return refusedHostentR(res, e);
  return ((int (*)(const void*, socklen_t, int, struct hostent*, char*, size_t, struct hostent**,
                   int*))RESOLVE(F_gethostbyaddr_r))(a, l, t, ret, b, bl, res, e);
}

/* res_*: -1 with h_errno TRY_AGAIN (and the res_state's copy for the res_n* forms), as
   libresolv reports servers it cannot reach. */
static int refusedRes(res_state s) {
  if (s != NULL) s->res_h_errno = TRY_AGAIN;
  h_errno = TRY_AGAIN;
  errno = 0; /* what glibc's res_* leave after a lookup, as the engine does */
  return -1;
}
static int resRefused(void) { return !engine(1) && lookupsRefused(); }

typedef int (*resq_t)(const char*, int, int, unsigned char*, int);
typedef int (*resqd_t)(const char*, const char*, int, int, unsigned char*, int);
typedef int (*resnq_t)(res_state, const char*, int, int, unsigned char*, int);
typedef int (*resnqd_t)(res_state, const char*, const char*, int, int, unsigned char*, int);
/* <resolv.h> renames res_query & co. to __res_query by macro; both names are exported. */
#undef res_query
#undef res_search
#undef res_querydomain
#undef res_nquery
#undef res_nsearch
#undef res_nquerydomain
EXPORT int res_query(const char* n, int c, int t, unsigned char* a, int l) {
  if (resRefused()) return refusedRes(NULL);
  return ((resq_t)RESOLVE(F_res_query))(n, c, t, a, l);
}
EXPORT int __res_query(const char* n, int c, int t, unsigned char* a, int l) { return res_query(n, c, t, a, l); }
EXPORT int res_search(const char* n, int c, int t, unsigned char* a, int l) {
  if (resRefused()) return refusedRes(NULL);
  return ((resq_t)RESOLVE(F_res_search))(n, c, t, a, l);
}
EXPORT int __res_search(const char* n, int c, int t, unsigned char* a, int l) { return res_search(n, c, t, a, l); }
EXPORT int res_querydomain(const char* n, const char* d, int c, int t, unsigned char* a, int l) {
  if (resRefused()) return refusedRes(NULL);
  return ((resqd_t)RESOLVE(F_res_querydomain))(n, d, c, t, a, l);
}
EXPORT int __res_querydomain(const char* n, const char* d, int c, int t, unsigned char* a, int l) {
  return res_querydomain(n, d, c, t, a, l);
}
EXPORT int res_nquery(res_state s, const char* n, int c, int t, unsigned char* a, int l) {
  if (resRefused()) return refusedRes(s);
  return ((resnq_t)RESOLVE(F_res_nquery))(s, n, c, t, a, l);
}
EXPORT int __res_nquery(res_state s, const char* n, int c, int t, unsigned char* a, int l) {
  return res_nquery(s, n, c, t, a, l);
}
EXPORT int res_nsearch(res_state s, const char* n, int c, int t, unsigned char* a, int l) {
  if (resRefused()) return refusedRes(s);
  return ((resnq_t)RESOLVE(F_res_nsearch))(s, n, c, t, a, l);
}
EXPORT int __res_nsearch(res_state s, const char* n, int c, int t, unsigned char* a, int l) {
  return res_nsearch(s, n, c, t, a, l);
}
EXPORT int res_nquerydomain(res_state s, const char* n, const char* d, int c, int t, unsigned char* a, int l) {
  if (resRefused()) return refusedRes(s);
  return ((resnqd_t)RESOLVE(F_res_nquerydomain))(s, n, d, c, t, a, l);
}
EXPORT int __res_nquerydomain(res_state s, const char* n, const char* d, int c, int t,
                              unsigned char* a, int l) {
  return res_nquerydomain(s, n, d, c, t, a, l);
}
