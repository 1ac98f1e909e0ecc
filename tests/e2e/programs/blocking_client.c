// A plain blocking C client, as programs were written before event loops: getaddrinfo,
// then for each address socket() and a blocking connect() until one connects; sends an
// HTTP/1.0 GET and prints one line: how long connect took, the source address, the body.
// Dynamically linked, so the preload reaches it (issue 30's "a blocking C client").
//
//   blocking_client HOST PORT [TIMEOUT_S]
// TIMEOUT_S (default none) sets SO_SNDTIMEO, the socket's own connect timeout: the program
// then prints "error EINPROGRESS" when it elapses, as the kernel reports it.
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long msSince(const struct timespec* t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: blocking_client HOST PORT [TIMEOUT_S]\n");
    return 64;
  }
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = NULL;
  int rc = getaddrinfo(argv[1], argv[2], &hints, &res);
  if (rc != 0) {
    printf("error %s\n", gai_strerror(rc));
    return 1;
  }
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int fd = -1, err = 0;
  for (struct addrinfo* ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    int s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (s < 0) continue;
    if (argc > 3) {
      struct timeval tv = {atoi(argv[3]), 0};
      setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
      fd = s;
    } else {
      err = errno;
      close(s);
    }
  }
  freeaddrinfo(res);
  const long ms = msSince(&t0);
  if (fd < 0) {
    printf("error %s ms %ld\n", err == EINPROGRESS ? "EINPROGRESS" : strerror(err), ms);
    return 1;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char local[INET6_ADDRSTRLEN] = "?";
  if (getsockname(fd, (struct sockaddr*)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET6)
      inet_ntop(AF_INET6, &((struct sockaddr_in6*)&ss)->sin6_addr, local, sizeof local);
    else
      inet_ntop(AF_INET, &((struct sockaddr_in*)&ss)->sin_addr, local, sizeof local);
  }
  static const char get[] = "GET / HTTP/1.0\r\n\r\n";
  if (write(fd, get, sizeof get - 1) != (ssize_t)(sizeof get - 1)) return 1;
  static char reply[65536];
  size_t n = 0;
  ssize_t got;
  while (n < sizeof reply - 1 && (got = read(fd, reply + n, sizeof reply - 1 - n)) > 0) n += (size_t)got;
  reply[n] = '\0';
  const char* body = strstr(reply, "\r\n\r\n");
  body = body ? body + 4 : reply;
  size_t len = strlen(body);
  while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r')) --len;
  printf("ok ms %ld local %s | %.*s\n", ms, local, (int)len, body);
  close(fd);
  return 0;
}
