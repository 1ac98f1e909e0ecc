/* A static program that bypasses libc's socket wrappers: raw syscall(SYS_socket),
 * syscall(SYS_connect), then an HTTP/1.0 GET. `mif run` without --enforce cannot see it
 * (a static binary ignores LD_PRELOAD); under --enforce the supervisor decides its connect.
 *
 *   enforce_connect HOST PORT [TOS] prints the response; exit 0, or 2 with the errno text;
 *                                   TOS: the IP_TOS / IPV6_TCLASS byte to set first
 *
 * HOST may be a name: static glibc's own resolver then reads /etc/resolv.conf and queries
 * its servers with its own internal socket calls, which no preload hook can see either.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: enforce_connect ADDRESS PORT [TOS]\n");
    return 64;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  int family;
  struct sockaddr_in* in = (struct sockaddr_in*)&ss;
  struct sockaddr_in6* in6 = (struct sockaddr_in6*)&ss;
  if (inet_pton(AF_INET, argv[1], &in->sin_addr) == 1) {
    family = in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)atoi(argv[2]));
    len = sizeof *in;
  } else if (inet_pton(AF_INET6, argv[1], &in6->sin6_addr) == 1) {
    family = in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)atoi(argv[2]));
    len = sizeof *in6;
  } else {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(argv[1], argv[2], &hints, &res);
    if (rc != 0) {
      fprintf(stderr, "enforce_connect: %s: %s\n", argv[1], gai_strerror(rc));
      return 2;
    }
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    family = res->ai_family;
    freeaddrinfo(res);
  }
  long s = syscall(SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    fprintf(stderr, "enforce_connect: socket: %s\n", strerror(errno));
    return 2;
  }
  if (argc == 4) {
    int tos = atoi(argv[3]);
    int rc = family == AF_INET ? setsockopt((int)s, IPPROTO_IP, IP_TOS, &tos, sizeof tos)
                               : setsockopt((int)s, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
    if (rc != 0) {
      fprintf(stderr, "enforce_connect: setsockopt: %s\n", strerror(errno));
      return 2;
    }
  }
  if (syscall(SYS_connect, s, &ss, len) != 0) {
    fprintf(stderr, "enforce_connect: connect: %s\n", strerror(errno));
    return 2;
  }
  static const char request[] = "GET / HTTP/1.0\r\nHost: mif\r\n\r\n";
  if (syscall(SYS_write, s, request, sizeof request - 1) != (long)(sizeof request - 1)) {
    fprintf(stderr, "enforce_connect: write: %s\n", strerror(errno));
    return 2;
  }
  char buf[4096];
  long n;
  while ((n = syscall(SYS_read, s, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
  return n == 0 ? 0 : 2;
}
