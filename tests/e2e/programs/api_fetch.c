/* Fetches http://www.example.com/ once through each PvD named on the command line, with
   the C API and without `mif run` (issue 12): mif_getaddrinfo through that PvD's DNS,
   mif_socket_set_pvd on the socket, then an ordinary connect. Prints "PVD ADDRESS STATUS"
   per PvD; exits 1 at the first failure, saying why with mif_strerror. */
#include <arpa/inet.h>
#include <errno.h>
#include <mif/mif.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fetch(const char *pvd) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int rc = mif_getaddrinfo(pvd, "www.example.com", "80", &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "api_fetch: %s: %s\n", pvd, mif_strerror(rc));
    return -1;
  }
  int fd = socket(res->ai_family, res->ai_socktype, 0);
  if (mif_socket_set_pvd(fd, pvd) != 0) {
    fprintf(stderr, "api_fetch: %s\n", mif_strerror(errno));
    return -1;
  }
  char addr[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof addr);
  if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    fprintf(stderr, "api_fetch: %s: connect %s: %s\n", pvd, addr, strerror(errno));
    return -1;
  }
  mif_freeaddrinfo(res);
  static const char req[] = "GET / HTTP/1.0\r\nHost: www.example.com\r\n\r\n";
  if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) return -1;
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  printf("%s %s %s\n", pvd, addr, buf);
  return 0;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (fetch(argv[i]) != 0) return 1;
  return 0;
}
