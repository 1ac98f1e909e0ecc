/* The floor of what pinning a socket costs, for bench_socket: an LD_PRELOAD shim that
   only binds every AF_INET connect to one device and source (MIF_SHIM_DEV, MIF_SHIM_SRC)
   with SO_BINDTODEVICE + IP_BIND_ADDRESS_NO_PORT + bind, then connects. No policy, no
   view, no checks: the system calls any pinning interposer must make, and nothing else. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int (*real_connect)(int, const struct sockaddr*, socklen_t);
static const char* dev;
static struct sockaddr_in src;

__attribute__((visibility("default"))) int connect(int fd, const struct sockaddr* addr,
                                                   socklen_t len) {
  if (real_connect == NULL) {
    real_connect = (int (*)(int, const struct sockaddr*, socklen_t))dlsym(RTLD_NEXT, "connect");
    dev = getenv("MIF_SHIM_DEV");
    const char* s = getenv("MIF_SHIM_SRC");
    src.sin_family = AF_INET;
    if (s != NULL) inet_pton(AF_INET, s, &src.sin_addr);
  }
  if (addr != NULL && addr->sa_family == AF_INET && dev != NULL) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev));
    setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    bind(fd, (const struct sockaddr*)&src, sizeof src);
  }
  return real_connect(fd, addr, len);
}
