/* fetch_each: fetches one http:// URL once through each PvD, with the mif C API
   (<mif/mif.h>, docs/api.md), with or without `mif run`.

     fetch_each URL [PVD...]       each PvD named, or every usable PvD of the live view

   For each PvD: the name is resolved through that PvD's own DNS servers only
   (mif_getaddrinfo), the socket is pinned to the PvD (mif_socket_set_pvd: its interface
   and its source address), then an ordinary connect and an HTTP/1.0 GET. Prints one line
   per PvD: "PVD ADDRESS SOURCE STATUS-LINE". Exit status 0 when every fetch succeeded, 1
   otherwise (each failure is explained on stderr with mif_strerror, which names the PvD),
   2 on bad arguments.

   Build: cc fetch_each.c $(pkg-config --cflags --libs mif) -o fetch_each
          or CMake: find_package(mif) and target_link_libraries(... mif::api) */
#include <arpa/inet.h>
#include <errno.h>
#include <mif/mif.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct url {
  char host[256];
  char port[8];
  char path[1024];
};

/* http://HOST[:PORT][/PATH]; [V6] literals too. 0 on success. */
static int parse_url(const char *s, struct url *u) {
  if (strncmp(s, "http://", 7) != 0) return -1;
  s += 7;
  const char *path = strchr(s, '/');
  size_t hostlen = path != NULL ? (size_t)(path - s) : strlen(s);
  snprintf(u->path, sizeof u->path, "%s", path != NULL ? path : "/");
  strcpy(u->port, "80");
  const char *colon = NULL;
  if (*s == '[') {
    const char *end = memchr(s, ']', hostlen);
    if (end == NULL) return -1;
    if (end + 1 < s + hostlen && end[1] == ':') colon = end + 1;
    s++;
    hostlen = (size_t)(end - s);
  } else {
    colon = memchr(s, ':', hostlen);
    if (colon != NULL) hostlen = (size_t)(colon - s);
  }
  if (colon != NULL) {
    size_t n = (size_t)((path != NULL ? path : colon + strlen(colon)) - colon - 1);
    if (n == 0 || n >= sizeof u->port) return -1;
    memcpy(u->port, colon + 1, n);
    u->port[n] = '\0';
  }
  if (hostlen == 0 || hostlen >= sizeof u->host) return -1;
  memcpy(u->host, s, hostlen);
  u->host[hostlen] = '\0';
  return 0;
}

static void text(const struct sockaddr *sa, char *buf, size_t len) {
  const void *a = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                                           : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
  inet_ntop(sa->sa_family, a, buf, (socklen_t)len);
}

static int fetch(const struct url *u, const char *pvd) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  int rc = mif_getaddrinfo(pvd, u->host, u->port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "fetch_each: %s: %s\n", pvd, mif_strerror(rc));
    return -1;
  }
  int ok = -1;
  for (struct addrinfo *ai = res; ai != NULL && ok != 0; ai = ai->ai_next) {
    char addr[INET6_ADDRSTRLEN], source[INET6_ADDRSTRLEN] = "?";
    text(ai->ai_addr, addr, sizeof addr);
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    if (mif_socket_set_pvd(fd, pvd) != 0) {
      fprintf(stderr, "fetch_each: %s\n", mif_strerror(errno));
      close(fd);
      break;  /* the same for every address of the PvD */
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      fprintf(stderr, "fetch_each: %s: connect %s: %s\n", pvd, addr, strerror(errno));
      close(fd);
      continue;
    }
    struct sockaddr_storage local;
    socklen_t llen = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
      text((struct sockaddr *)&local, source, sizeof source);
    char req[1400];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     u->path, u->host);
    char buf[512];
    ssize_t got = -1;
    if (n > 0 && (size_t)n < sizeof req && write(fd, req, (size_t)n) == n)
      got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0) {
      fprintf(stderr, "fetch_each: %s: no answer from %s\n", pvd, addr);
      continue;
    }
    buf[got] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    printf("%s %s %s %s\n", pvd, addr, source, buf);
    ok = 0;
  }
  mif_freeaddrinfo(res);
  return ok;
}

int main(int argc, char **argv) {
  struct url u;
  if (argc < 2 || parse_url(argv[1], &u) != 0) {
    fprintf(stderr, "usage: fetch_each http://HOST[:PORT][/PATH] [PVD...]\n");
    return 2;
  }
  int failures = 0;
  if (argc > 2) {
    for (int i = 2; i < argc; ++i) failures += fetch(&u, argv[i]) != 0;
    return failures != 0;
  }
  /* No PvD named: every usable PvD of the live view. */
  struct mif_pvd list[32];
  int n = mif_pvd_list(list, 32);
  if (n < 0) {
    fprintf(stderr, "fetch_each: %s\n", mif_strerror(errno));
    return 1;
  }
  int tried = 0;
  for (int i = 0; i < n && i < 32; ++i) {
    if (!(list[i].flags & (MIF_PVD_IPV4 | MIF_PVD_IPV6))) continue;
    ++tried;
    failures += fetch(&u, list[i].name) != 0;
  }
  if (tried == 0) fprintf(stderr, "fetch_each: no usable PvD\n");
  return failures != 0 || tried == 0;
}
