/* An ordinary dynamic program that connects through io_uring, as liburing, libuv and
 * tokio programs do, with the raw system calls (no liburing): socket(), then
 * IORING_OP_CONNECT submitted with io_uring_enter, then an HTTP/1.0 GET with write() and
 * the reply read with read(). When io_uring_setup fails (a kernel without io_uring, or
 * `mif run --strict`, which answers it with ENOSYS) it falls back to connect(), as those
 * programs do. The preload sees its socket() but never an io_uring connect.
 *
 *   uring_connect ADDRESS PORT   first line "io_uring" or "fallback: <why>", then the
 *                                reply; exit 0, or 2 with the errno text
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

struct ring {
  int fd;
  unsigned* sqTail;
  unsigned* sqMask;
  unsigned* sqArray;
  unsigned* cqHead;
  unsigned* cqTail;
  unsigned* cqMask;
  struct io_uring_sqe* sqes;
  struct io_uring_cqe* cqes;
};

/* 0, or -errno of the call that failed (io_uring_setup's first of all). */
static int ringOpen(struct ring* r) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  long fd = syscall(__NR_io_uring_setup, 4, &p);
  if (fd < 0) return -errno;
  r->fd = (int)fd;
  size_t sqLen = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cqLen = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && cqLen > sqLen) sqLen = cqLen;
  char* sq = mmap(NULL, sqLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                  IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) return -errno;
  char* cq = sq;
  if (!single) {
    cq = mmap(NULL, cqLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
              IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) return -errno;
  }
  void* sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) return -errno;
  r->sqTail = (unsigned*)(sq + p.sq_off.tail);
  r->sqMask = (unsigned*)(sq + p.sq_off.ring_mask);
  r->sqArray = (unsigned*)(sq + p.sq_off.array);
  r->cqHead = (unsigned*)(cq + p.cq_off.head);
  r->cqTail = (unsigned*)(cq + p.cq_off.tail);
  r->cqMask = (unsigned*)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe*)(cq + p.cq_off.cqes);
  r->sqes = sqes;
  return 0;
}

/* Submits one IORING_OP_CONNECT and waits for its completion: its result (0 or -errno). */
static int ringConnect(struct ring* r, int s, const struct sockaddr* to, socklen_t len) {
  unsigned tail = *r->sqTail;
  unsigned idx = tail & *r->sqMask;
  struct io_uring_sqe* sqe = &r->sqes[idx];
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = IORING_OP_CONNECT;
  sqe->fd = s;
  sqe->addr = (unsigned long)to;
  sqe->off = len;
  sqe->user_data = 1;
  r->sqArray[idx] = idx;
  __atomic_store_n(r->sqTail, tail + 1, __ATOMIC_RELEASE);
  if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) return -errno;
  unsigned head = __atomic_load_n(r->cqHead, __ATOMIC_RELAXED);
  if (head == __atomic_load_n(r->cqTail, __ATOMIC_ACQUIRE)) return -EAGAIN;
  int res = r->cqes[head & *r->cqMask].res;
  __atomic_store_n(r->cqHead, head + 1, __ATOMIC_RELEASE);
  return res;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: uring_connect ADDRESS PORT\n");
    return 64;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in* in = (struct sockaddr_in*)&ss;
  struct sockaddr_in6* in6 = (struct sockaddr_in6*)&ss;
  socklen_t len;
  if (inet_pton(AF_INET, argv[1], &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)atoi(argv[2]));
    len = sizeof *in;
  } else if (inet_pton(AF_INET6, argv[1], &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)atoi(argv[2]));
    len = sizeof *in6;
  } else {
    fprintf(stderr, "uring_connect: %s: not an address\n", argv[1]);
    return 64;
  }
  int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    fprintf(stderr, "uring_connect: socket: %s\n", strerror(errno));
    return 2;
  }
  struct ring r;
  memset(&r, 0, sizeof r);
  int rc = ringOpen(&r);
  if (rc == 0) {
    printf("io_uring\n");
    rc = ringConnect(&r, s, (struct sockaddr*)&ss, len);
  } else {
    printf("fallback: io_uring_setup: %s\n", strerror(-rc));
    rc = connect(s, (struct sockaddr*)&ss, len) == 0 ? 0 : -errno;
  }
  fflush(stdout);
  if (rc != 0) {
    fprintf(stderr, "uring_connect: connect: %s\n", strerror(-rc));
    return 2;
  }
  struct timeval tv = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  static const char request[] = "GET / HTTP/1.0\r\nHost: uring\r\nConnection: close\r\n\r\n";
  if (write(s, request, sizeof request - 1) != (ssize_t)(sizeof request - 1)) {
    fprintf(stderr, "uring_connect: write: %s\n", strerror(errno));
    return 2;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(s, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
  if (n < 0) {
    fprintf(stderr, "uring_connect: read: %s\n", strerror(errno));
    return 2;
  }
  close(s);
  return 0;
}
