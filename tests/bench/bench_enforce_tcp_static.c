/* bench_enforce's TCP loop as a static program (linked with -static: no preload library can
 * reach it, so under `mif run --enforce` every connect is the supervisor's to decide, and
 * under a list of PvDs it is held: docs/performance.md "Held connects when the first PvD
 * works"). Same loop as bench_enforce --tcp: 500 warm-up iterations, then N timed ones,
 * each a connect to ADDR:PORT, a read of the server's reset-close and a close. Prints the
 * loop's wall time and the process CPU time spent in it, in seconds.
 *
 *   bench_enforce_tcp_static ADDR PORT N
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int once(const struct sockaddr_in* to) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  if (connect(fd, (const struct sockaddr*)to, sizeof *to) != 0) {
    int done = errno == ECONNRESET;
    close(fd);
    return done;
  }
  char c;
  if (read(fd, &c, 1) < 0 && errno != ECONNRESET) {
    close(fd);
    return 0;
  }
  close(fd);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s ADDR PORT N\n", argv[0]);
    return 2;
  }
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    fprintf(stderr, "%s: not an IPv4 address: %s\n", argv[0], argv[1]);
    return 2;
  }
  long n = atol(argv[3]);
  for (int i = 0; i < 500; ++i)
    if (!once(&to)) {
      perror("bench_enforce_tcp_static: connect");
      return 1;
    }
  double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
  for (long i = 0; i < n; ++i)
    if (!once(&to)) {
      perror("bench_enforce_tcp_static: connect");
      return 1;
    }
  printf("%.6f %.6f\n", now(CLOCK_MONOTONIC) - w0, now(CLOCK_PROCESS_CPUTIME_ID) - c0);
  return 0;
}
