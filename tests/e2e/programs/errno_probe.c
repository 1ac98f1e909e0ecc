/* errno_probe NAME ADDR PORT CLOSEDPORT: calls each hooked function once with errno and
   h_errno set to a sentinel, and prints one line per call: its result and the errno and
   h_errno it left. The end-to-end test runs it without mif and under mif and compares the
   lines: a program must not be able to tell mif is there by errno. ADDR:PORT is a TCP
   and UDP service that answers, ADDR:CLOSEDPORT one that refuses. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kSentinel = 4242 };

static void arm(void) {
  errno = kSentinel;
  h_errno = kSentinel;
}

static void report(const char* call, long result) {
  const int e = errno, h = h_errno;
  printf("%s result=%ld errno=%d h_errno=%d\n", call, result, e, h);
}

static struct sockaddr_in inet(const char* addr, int port) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, addr, &sin.sin_addr);
  return sin;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s NAME ADDR PORT CLOSEDPORT\n", argv[0]);
    return 2;
  }
  const char* name = argv[1];
  const char* addr = argv[2];
  const int port = atoi(argv[3]), closed = atoi(argv[4]);

  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  arm();
  int rc = getaddrinfo(name, "80", &hints, &res);
  report("getaddrinfo", rc);
  if (rc == 0) freeaddrinfo(res);

  arm();
  struct hostent* h = gethostbyname(name);
  report("gethostbyname", h != NULL);

  struct hostent he, *result = NULL;
  char buf[4096];
  int herr = 0;
  arm();
  rc = gethostbyname_r(name, &he, buf, sizeof buf, &result, &herr);
  report("gethostbyname_r", rc * 10 + (result != NULL));

  arm();
  h = gethostbyname2(name, AF_INET6);
  report("gethostbyname2", h != NULL);

  unsigned char answer[4096];
  arm();
  rc = res_query(name, ns_c_in, ns_t_a, answer, sizeof answer);
  report("res_query", rc > 0 ? 1 : rc);

  arm();
  rc = res_search(name, ns_c_in, ns_t_a, answer, sizeof answer);
  report("res_search", rc > 0 ? 1 : rc);

  struct sockaddr_in target = inet(addr, port);
  char host[NI_MAXHOST];
  arm();
  rc = getnameinfo((struct sockaddr*)&target, sizeof target, host, sizeof host, NULL, 0, 0);
  report("getnameinfo", rc);

  arm();
  rc = getnameinfo((struct sockaddr*)&target, sizeof target, host, sizeof host, NULL, 0,
                   NI_NAMEREQD);
  report("getnameinfo_namereqd", rc);

  struct in_addr a4;
  inet_pton(AF_INET, addr, &a4);
  arm();
  h = gethostbyaddr(&a4, sizeof a4, AF_INET);
  report("gethostbyaddr", h != NULL);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  arm();
  rc = connect(fd, (struct sockaddr*)&target, sizeof target);
  report("connect", rc);
  close(fd);

  struct sockaddr_in refused = inet(addr, closed);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  arm();
  rc = connect(fd, (struct sockaddr*)&refused, sizeof refused);
  report("connect_refused", rc);
  close(fd);

  fd = socket(AF_INET, SOCK_DGRAM, 0);
  arm();
  ssize_t n = sendto(fd, "x", 1, 0, (struct sockaddr*)&target, sizeof target);
  report("sendto", (long)n);
  struct msghdr m;
  struct iovec iov = {(void*)"y", 1};
  memset(&m, 0, sizeof m);
  m.msg_name = &target;
  m.msg_namelen = sizeof target;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  arm();
  n = sendmsg(fd, &m, 0);
  report("sendmsg", (long)n);
  close(fd);

  fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in any = inet("0.0.0.0", 0);
  arm();
  rc = bind(fd, (struct sockaddr*)&any, sizeof any);
  report("bind", rc);
  close(fd);
  return 0;
}
