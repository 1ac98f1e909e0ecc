/* A fault injector for the end-to-end fault tests (issue 28, item 4), preloaded after
 * libmif.so (mif run keeps the program's own LD_PRELOAD after its library). It makes one
 * kind of system call fail with a chosen errno, as a kernel under
 * pressure or a vanishing interface would:
 *   MIF_FAULT=bindtodevice:EPERM   setsockopt(SOL_SOCKET, SO_BINDTODEVICE) (pinning, and
 *                                  the per-PvD DNS sockets)
 *   MIF_FAULT=bindtodevice:ENODEV  the same, as for an interface that just vanished
 *   MIF_FAULT=netlink:EMFILE       socket(AF_NETLINK) made through the PLT
 *   MIF_FAULT=dnssocket:EMFILE     socket(AF_INET/AF_INET6, SOCK_DGRAM) made through the PLT
 * (mif's own netlink and DNS sockets do not go through here today: see
 * e2e_fault_injection.cpp.)
 * Any errno name of the list below works with any site. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int wanted(const char* site) {
  const char* f = getenv("MIF_FAULT");
  if (f == NULL) return 0;
  size_t n = strlen(site);
  if (strncmp(f, site, n) != 0 || f[n] != ':') return 0;
  const char* e = f + n + 1;
  static const struct {
    const char* name;
    int value;
  } names[] = {{"EPERM", EPERM},   {"ENODEV", ENODEV}, {"EMFILE", EMFILE}, {"ENOMEM", ENOMEM},
               {"EINTR", EINTR},   {"EAGAIN", EAGAIN}, {"ENOBUFS", ENOBUFS},
               {"ENETDOWN", ENETDOWN}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
    if (strcmp(e, names[i].name) == 0) return names[i].value;
  return 0;
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  static int (*real)(int, int, int, const void*, socklen_t);
  if (real == NULL) real = (int (*)(int, int, int, const void*, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
  if (level == SOL_SOCKET && name == SO_BINDTODEVICE) {
    int e = wanted("bindtodevice");
    if (e != 0) {
      errno = e;
      return -1;
    }
  }
  return real(fd, level, name, value, len);
}

int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (real == NULL) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  int e = 0;
  if (domain == AF_NETLINK) e = wanted("netlink");
  if ((domain == AF_INET || domain == AF_INET6) && (type & 0xf) == SOCK_DGRAM) e = wanted("dnssocket");
  if (e != 0) {
    errno = e;
    return -1;
  }
  return real(domain, type, protocol);
}
