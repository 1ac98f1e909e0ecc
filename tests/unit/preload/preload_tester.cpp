// Runs a table of socket calls and prints, per case, "NAME rc=RC errno=NAME". The parity
// test runs it once plainly and once under LD_PRELOAD=libmif.so and compares the two
// outputs line by line: the library must not change what a program sees (return values,
// errno, EINPROGRESS/EALREADY/EISCONN), only where packets go.
//
// Usage: preload_tester IFNAME PEER4   (run inside a private network namespace where
// IFNAME holds LOCAL4 = PEER4's /24 .1 and PEER4 is an unanswered neighbour)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <net/if.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

std::string local4;  // an address of this namespace (192.0.2.1)
std::string peer4;   // a neighbour that never answers (192.0.2.99)

void report(const char* name, long rc, int err) {
  std::printf("%s rc=%ld errno=%s\n", name, rc, rc < 0 ? strerrorname_np(err) : "-");
}
#define CASE(name, expr)            \
  do {                              \
    errno = 0;                      \
    long rc_ = static_cast<long>(expr); \
    report(name, rc_, errno);       \
  } while (0)

sockaddr_in v4(const std::string& a, int port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, a.c_str(), &s.sin_addr);
  return s;
}
sockaddr_in6 mapped(const std::string& a, int port) {
  sockaddr_in6 s{};
  s.sin6_family = AF_INET6;
  s.sin6_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET6, ("::ffff:" + a).c_str(), &s.sin6_addr);
  return s;
}
const sockaddr* sa(const void* p) { return static_cast<const sockaddr*>(p); }

void connectCases() {
  sockaddr_in peer = v4(peer4, 9);
  CASE("connect_bad_fd", connect(-1, sa(&peer), sizeof peer));
  CASE("connect_closed_fd", connect(900, sa(&peer), sizeof peer));
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CASE("connect_not_a_socket", connect(devnull, sa(&peer), sizeof peer));
  close(devnull);

  int s = socket(AF_INET, SOCK_STREAM, 0);
  CASE("connect_null_addr", connect(s, nullptr, 0));
  CASE("connect_null_addr_len", connect(s, nullptr, sizeof peer));
  CASE("connect_short_len", connect(s, sa(&peer), 4));
  sockaddr_in6 six = mapped(peer4, 9);
  CASE("connect_v6_addr_on_v4_socket", connect(s, sa(&six), sizeof six));
  sockaddr weird{};
  weird.sa_family = AF_APPLETALK;
  CASE("connect_other_family", connect(s, &weird, sizeof weird));
  close(s);

  int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "/nonexistent/mif-tester.sock");
  CASE("connect_unix_missing", connect(u, sa(&un), sizeof un));
  close(u);

  // Non-blocking connect to a neighbour that never answers: EINPROGRESS, then EALREADY.
  int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CASE("connect_nonblocking", connect(nb, sa(&peer), sizeof peer));
  CASE("connect_nonblocking_again", connect(nb, sa(&peer), sizeof peer));
  close(nb);
  int nb6 = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CASE("connect_nonblocking_v4mapped", connect(nb6, sa(&six), sizeof six));
  close(nb6);

  // A local listener: connect succeeds, a second connect says EISCONN; errno untouched.
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in here = v4(local4, 0);
  bind(l, sa(&here), sizeof here);
  listen(l, 4);
  socklen_t hl = sizeof here;
  getsockname(l, reinterpret_cast<sockaddr*>(&here), &hl);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  errno = 4242;
  int rc = connect(c, sa(&here), sizeof here);
  std::printf("connect_established rc=%d errno_kept=%d\n", rc, errno == 4242);
  CASE("connect_again_isconn", connect(c, sa(&here), sizeof here));
  int a = accept(l, nullptr, nullptr);
  CASE("accept_ok", a >= 0 ? 0 : -1);
  close(a);
  close(c);
  CASE("accept_not_listening", accept(c, nullptr, nullptr));
  CASE("accept4_bad_fd", accept4(-1, nullptr, nullptr, SOCK_CLOEXEC));
  close(l);
}

void sendCases() {
  sockaddr_in peer = v4(peer4, 9);
  const char msg[] = "mif";
  CASE("sendto_bad_fd", sendto(-1, msg, 3, 0, sa(&peer), sizeof peer));
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CASE("sendto_not_a_socket", sendto(devnull, msg, 3, 0, sa(&peer), sizeof peer));
  close(devnull);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  CASE("sendto_udp", sendto(u, msg, 3, 0, sa(&peer), sizeof peer));
  CASE("sendto_udp_short_len", sendto(u, msg, 3, 0, sa(&peer), 3));
  CASE("sendto_udp_no_addr", sendto(u, msg, 3, 0, nullptr, 0));
  CASE("send_udp_unconnected", send(u, msg, 3, 0));

  // sendmsg with the program's own control message (IP_TOS) kept beside ours.
  iovec iov{const_cast<char*>(msg), 3};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_name = &peer;
  m.msg_namelen = sizeof peer;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TOS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int tos = 0x10;
  std::memcpy(CMSG_DATA(c), &tos, sizeof tos);
  CASE("sendmsg_udp_own_cmsg", sendmsg(u, &m, 0));
  const bool untouched = m.msg_control == control && m.msg_controllen == sizeof control;
  std::printf("sendmsg_msghdr_untouched %d\n", untouched);
  m.msg_namelen = 2;
  CASE("sendmsg_udp_short_name", sendmsg(u, &m, 0));
  CASE("sendmsg_null", sendmsg(u, nullptr, 0));

  sockaddr_in dests[3] = {v4(peer4, 9), v4(peer4, 10), v4(peer4, 11)};
  mmsghdr mm[3] = {};
  iovec iovs[3];
  for (int i = 0; i < 3; ++i) {
    iovs[i] = {const_cast<char*>(msg), 3};
    mm[i].msg_hdr.msg_name = &dests[i];
    mm[i].msg_hdr.msg_namelen = sizeof dests[i];
    mm[i].msg_hdr.msg_iov = &iovs[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  CASE("sendmmsg_udp_three", sendmmsg(u, mm, 3, 0));
  std::printf("sendmmsg_lengths %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
  CASE("sendmmsg_bad_fd", sendmmsg(-1, mm, 3, 0));
  close(u);

  int t = socket(AF_INET, SOCK_STREAM, 0);
  CASE("sendto_tcp_unconnected", sendto(t, msg, 3, MSG_NOSIGNAL, sa(&peer), sizeof peer));
  close(t);
  int tfo = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CASE("sendto_tcp_fastopen", sendto(tfo, msg, 3, MSG_FASTOPEN | MSG_NOSIGNAL, sa(&peer), sizeof peer));
  close(tfo);
  int ud = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "/nonexistent/mif-tester.sock");
  CASE("sendto_unix_missing", sendto(ud, msg, 3, 0, sa(&un), sizeof un));
  close(ud);
}

void bindCases() {
  sockaddr_in here = v4(local4, 0);
  CASE("bind_bad_fd", bind(-1, sa(&here), sizeof here));
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in foreign = v4("203.0.113.77", 0);
  CASE("bind_not_local", bind(s, sa(&foreign), sizeof foreign));
  CASE("bind_short_len", bind(s, sa(&here), 4));
  sockaddr_in6 six = mapped(local4, 0);
  CASE("bind_v6_on_v4_socket", bind(s, sa(&six), sizeof six));
  CASE("bind_local", bind(s, sa(&here), sizeof here));
  CASE("bind_again", bind(s, sa(&here), sizeof here));
  close(s);
  int w = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  CASE("bind_wildcard_v6", bind(w, sa(&any), sizeof any));
  CASE("listen_wildcard_v6", listen(w, 4));
  close(w);
  int auto4 = socket(AF_INET, SOCK_STREAM, 0);
  CASE("listen_autobind", listen(auto4, 4));
  close(auto4);
}

void closeCases() {
  CASE("close_bad_fd", close(-1));
  CASE("close_unopened", close(901));
  CASE("close_range_inverted", close_range(10, 5, 0));
  CASE("dup2_bad_fd", dup2(-1, 905));
  CASE("dup3_same_fd", dup3(1, 1, 0));
  int fd = open("/dev/null", O_RDONLY);
  CASE("dup2_ok", dup2(fd, 906) == 906 ? 0 : -1);
  CASE("close_range_high", close_range(906, 906, 0));
  CASE("close_after_range", close(906));
  close(fd);
}

extern "C" int __fcntl(int fd, int cmd, ...);  // exported by glibc, not declared

// fcntl (and fcntl64, __fcntl) and ioctl, hooked to keep what the library knows of a
// socket's file status flags (known_fds.h): every result, the flags read back, the values
// written through the program's pointers and errno as libc's, for the commands that take
// an integer, a pointer or nothing; and a connect after the flags changed blocks or not as
// the program asked.
void fcntlCases() {
  CASE("fcntl_bad_fd", fcntl(-1, F_GETFL));
  CASE("fcntl_closed_fd", fcntl(902, F_GETFD));
  int s = socket(AF_INET, SOCK_STREAM, 0);
  CASE("fcntl_getfl_socket", fcntl(s, F_GETFL));
  CASE("fcntl_setfl_nonblock", fcntl(s, F_SETFL, O_NONBLOCK));
  CASE("fcntl_getfl_nonblock", fcntl(s, F_GETFL));
  int off = 0, on = 1;
  CASE("ioctl_fionbio_off", ioctl(s, FIONBIO, &off));
  CASE("fcntl64_getfl_after_fionbio", fcntl64(s, F_GETFL));
  CASE("ioctl_fionbio_on", ioctl(s, FIONBIO, &on));
  CASE("__fcntl_getfl_after_fionbio", __fcntl(s, F_GETFL));
  CASE("fcntl_setfl_odirect", fcntl(s, F_SETFL, O_DIRECT));
  CASE("fcntl_getfd", fcntl(s, F_GETFD));
  CASE("fcntl_setfd", fcntl(s, F_SETFD, FD_CLOEXEC));
  CASE("fcntl_getfd_cloexec", fcntl(s, F_GETFD));
  CASE("fcntl_dupfd", fcntl(s, F_DUPFD, 907));
  CASE("fcntl_dupfd_cloexec", fcntl(s, F_DUPFD_CLOEXEC, 907));
  close(907);
  close(908);
  CASE("fcntl_unknown_cmd", fcntl(s, 0x7fff, 0));
  int n = -1;
  CASE("ioctl_fionread", ioctl(s, FIONREAD, &n));
  std::printf("ioctl_fionread_value %d\n", n);
  termios t{};
  CASE("ioctl_tcgets_socket", ioctl(s, TCGETS, &t));
  CASE("ioctl_fionbio_efault", ioctl(s, FIONBIO, reinterpret_cast<int*>(8)));
  CASE("ioctl_bad_fd", ioctl(-1, FIONBIO, &on));
  close(s);

  // Locks: a pointer argument read and written by the kernel.
  int m = memfd_create("mif-tester", MFD_CLOEXEC);
  struct flock lk{};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  CASE("fcntl_getlk", fcntl(m, F_GETLK, &lk));
  std::printf("fcntl_getlk_type %d\n", lk.l_type);
  lk.l_type = F_WRLCK;
  CASE("fcntl_setlkw", fcntl(m, F_SETLKW, &lk));
  CASE("fcntl64_ofd_getlk_efault", fcntl64(m, F_OFD_GETLK, reinterpret_cast<struct flock*>(8)));
  CASE("fcntl_getlk_null", fcntl(m, F_GETLK, nullptr));
  close(m);

  // The flags the program set are the ones a connect goes by: made non-blocking, made
  // blocking again, made non-blocking by ioctl.
  sockaddr_in peer = v4(peer4, 9);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in here = v4(local4, 0);
  bind(l, sa(&here), sizeof here);
  listen(l, 4);
  socklen_t hl = sizeof here;
  getsockname(l, reinterpret_cast<sockaddr*>(&here), &hl);
  int b = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CASE("fcntl_setfl_blocking", fcntl(b, F_SETFL, fcntl(b, F_GETFL) & ~O_NONBLOCK));
  CASE("connect_made_blocking", connect(b, sa(&here), sizeof here));
  close(b);
  int nb = socket(AF_INET, SOCK_STREAM, 0);
  CASE("ioctl_fionbio_before_connect", ioctl(nb, FIONBIO, &on));
  CASE("connect_made_nonblocking", connect(nb, sa(&peer), sizeof peer));
  CASE("fcntl_getfl_after_connect", fcntl(nb, F_GETFL));
  close(nb);
  int f = socket(AF_INET, SOCK_STREAM, 0);
  CASE("fcntl_setfl_nonblock_before_connect", fcntl(f, F_SETFL, O_NONBLOCK));
  CASE("connect_made_nonblocking_fcntl", connect(f, sa(&peer), sizeof peer));
  close(f);
  close(l);
}

// Caller memory the kernel rejects: invalid pointers (EFAULT) and lengths (EINVAL), for
// every hooked call that takes the program's memory, both families. Under the library the
// hooks read these before the kernel does; they must neither crash nor change the answer,
// nor pin the socket on the way.
struct Memory {
  char* page = nullptr;       // two readable pages, then an unmapped one
  char* unmapped = nullptr;   // the third page
  char* protNone = nullptr;   // a PROT_NONE page
};

Memory mapMemory() {
  Memory m;
  auto* base = static_cast<char*>(
      mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  munmap(base + 2 * 4096, 4096);
  m.page = base;
  m.unmapped = base + 2 * 4096;
  m.protNone = static_cast<char*>(
      mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  return m;
}

std::string boundDevice(int fd) {
  char dev[IFNAMSIZ + 1] = {};
  socklen_t len = IFNAMSIZ;
  getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len);
  return dev;
}

// `what` placed so that its first `readable` bytes end the second readable page and the
// rest falls into the unmapped one (readable == size: it ends exactly at the boundary).
template <typename T>
const sockaddr* straddling(const Memory& m, const T& what, size_t readable) {
  char* at = m.unmapped - readable;
  std::memcpy(at, &what, readable);
  return reinterpret_cast<const sockaddr*>(at);
}

void faultCases() {
  const Memory m = mapMemory();
  const sockaddr* bad = reinterpret_cast<const sockaddr*>(1);
  const sockaddr* unmapped = reinterpret_cast<const sockaddr*>(m.unmapped);
  const sockaddr* protNone = reinterpret_cast<const sockaddr*>(m.protNone);
  const socklen_t negative = static_cast<socklen_t>(-1);
  const char msg[] = "mif";

  for (int family : {AF_INET, AF_INET6}) {
    const bool v6 = family == AF_INET6;
    const std::string f = v6 ? "_v6" : "_v4";
    sockaddr_storage peerStore{}, hereStore{}, farStore{};
    socklen_t slen;
    if (v6) {
      auto p = mapped(peer4, 22), h = mapped(local4, 0), x = mapped(peer4, 23);
      std::memcpy(&peerStore, &p, sizeof p);
      std::memcpy(&hereStore, &h, sizeof h);
      std::memcpy(&farStore, &x, sizeof x);
      slen = sizeof p;
    } else {
      auto p = v4(peer4, 22), h = v4(local4, 0), x = v4(peer4, 23);
      std::memcpy(&peerStore, &p, sizeof p);
      std::memcpy(&hereStore, &h, sizeof h);
      std::memcpy(&farStore, &x, sizeof x);
      slen = sizeof p;
    }
    // A well-formed sockaddr whose last 4 bytes are unmapped (the kernel copies all of it).
    const sockaddr* cut = straddling(m, peerStore, slen - 4);
    // Oversized lengths around a valid sockaddr (a buffer larger than sockaddr_storage).
    alignas(sockaddr_storage) char big[256] = {};
    std::memcpy(big, &peerStore, slen);
    const sockaddr* bigAddr = reinterpret_cast<const sockaddr*>(big);

    int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const char* n;
    std::string name;
#define FCASE(label, expr)           \
  name = std::string(label) + f;     \
  n = name.c_str();                  \
  CASE(n, expr)
    FCASE("connect_efault_small_pointer", connect(s, bad, slen));
    FCASE("connect_efault_unmapped", connect(s, unmapped, slen));
    FCASE("connect_efault_prot_none", connect(s, protNone, slen));
    FCASE("connect_efault_cut", connect(s, cut, slen));
    FCASE("connect_einval_negative_len", connect(s, bigAddr, negative));
    FCASE("connect_einval_oversized_len", connect(s, bigAddr, sizeof(sockaddr_storage) + 1));
    FCASE("connect_einval_negative_len_bad_pointer", connect(s, bad, negative));
    std::printf("connect_fault_socket_unpinned%s dev=%s\n", f.c_str(), boundDevice(s).c_str());
    close(s);

    int b = socket(family, SOCK_DGRAM, 0);
    FCASE("bind_efault_small_pointer", bind(b, bad, slen));
    FCASE("bind_efault_unmapped", bind(b, unmapped, slen));
    FCASE("bind_efault_prot_none", bind(b, protNone, slen));
    FCASE("bind_efault_cut", bind(b, straddling(m, hereStore, slen - 4), slen));
    std::memcpy(big, &hereStore, slen);
    FCASE("bind_einval_negative_len", bind(b, bigAddr, negative));
    FCASE("bind_einval_oversized_len", bind(b, bigAddr, sizeof(sockaddr_storage) + 1));
    std::printf("bind_fault_socket_unpinned%s dev=%s\n", f.c_str(), boundDevice(b).c_str());
    std::memcpy(big, &peerStore, slen);

    FCASE("sendto_efault_small_pointer", sendto(b, msg, 3, 0, bad, slen));
    FCASE("sendto_efault_unmapped", sendto(b, msg, 3, 0, unmapped, slen));
    FCASE("sendto_efault_prot_none", sendto(b, msg, 3, 0, protNone, slen));
    FCASE("sendto_efault_cut", sendto(b, msg, 3, 0, cut, slen));
    FCASE("sendto_einval_negative_len", sendto(b, msg, 3, 0, bigAddr, negative));
    FCASE("sendto_einval_oversized_len", sendto(b, msg, 3, 0, bigAddr, sizeof(sockaddr_storage) + 1));
    FCASE("sendto_efault_bad_buffer", sendto(b, bad, 3, 0, bigAddr, slen));

    iovec iov{const_cast<char*>(msg), 3};
    msghdr h{};
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    FCASE("sendmsg_efault_msghdr", sendmsg(b, reinterpret_cast<const msghdr*>(bad), 0));
    FCASE("sendmsg_efault_msghdr_unmapped", sendmsg(b, reinterpret_cast<const msghdr*>(m.unmapped), 0));
    h.msg_name = const_cast<sockaddr*>(bad);
    h.msg_namelen = slen;
    FCASE("sendmsg_efault_name", sendmsg(b, &h, 0));
    h.msg_name = const_cast<sockaddr*>(cut);
    FCASE("sendmsg_efault_name_cut", sendmsg(b, &h, 0));
    h.msg_name = big;
    h.msg_namelen = negative;
    FCASE("sendmsg_einval_negative_namelen", sendmsg(b, &h, 0));
    // An oversized msg_namelen is cut to sizeof(sockaddr_storage) by the kernel, not refused.
    h.msg_namelen = sizeof big;
    FCASE("sendmsg_oversized_namelen_sent", sendmsg(b, &h, 0));
    h.msg_namelen = slen;
    h.msg_control = const_cast<sockaddr*>(bad);
    h.msg_controllen = CMSG_SPACE(sizeof(int));
    FCASE("sendmsg_efault_control", sendmsg(b, &h, 0));
    h.msg_control = nullptr;
    FCASE("sendmsg_efault_control_null", sendmsg(b, &h, 0));
    h.msg_control = m.unmapped - 8;  // a cmsghdr header cut by the unmapped page
    FCASE("sendmsg_efault_control_cut", sendmsg(b, &h, 0));
    h.msg_control = m.page;
    h.msg_controllen = 1 << 20;
    FCASE("sendmsg_control_too_large", sendmsg(b, &h, 0));
    h.msg_control = nullptr;
    h.msg_controllen = 0;

    mmsghdr mm[2] = {};
    for (auto& e : mm) {
      e.msg_hdr.msg_iov = &iov;
      e.msg_hdr.msg_iovlen = 1;
      e.msg_hdr.msg_name = big;
      e.msg_hdr.msg_namelen = slen;
    }
    FCASE("sendmmsg_efault_vector", sendmmsg(b, reinterpret_cast<mmsghdr*>(1), 2, 0));
    auto* cutVec = reinterpret_cast<mmsghdr*>(m.unmapped - sizeof(mmsghdr));
    std::memcpy(cutVec, &mm[0], sizeof(mmsghdr));
    FCASE("sendmmsg_second_entry_unmapped", sendmmsg(b, cutVec, 2, 0));
    mm[1].msg_hdr.msg_name = const_cast<sockaddr*>(bad);
    FCASE("sendmmsg_second_name_bad", sendmmsg(b, mm, 2, 0));
    mm[0].msg_hdr.msg_name = const_cast<sockaddr*>(bad);
    FCASE("sendmmsg_first_name_bad", sendmmsg(b, mm, 2, 0));
    mm[0].msg_hdr.msg_name = big;
    mm[0].msg_hdr.msg_namelen = negative;
    FCASE("sendmmsg_einval_negative_namelen", sendmmsg(b, mm, 1, 0));

    // A loopback address of the family (the listener and the datagram socket below).
    sockaddr_storage lo{};
    socklen_t loLen;
    if (v6) {
      auto a = mapped("127.0.0.1", 0);
      std::memcpy(&lo, &a, sizeof a);
      loLen = sizeof a;
    } else {
      auto a = v4("127.0.0.1", 0);
      std::memcpy(&lo, &a, sizeof a);
      loLen = sizeof a;
    }

    // recvfrom's address out-parameter (not hooked; the answer must still be glibc's).
    sockaddr_storage self{};
    socklen_t selfLen = sizeof self;
    int r = socket(family, SOCK_DGRAM, 0);
    bind(r, reinterpret_cast<sockaddr*>(&lo), loLen);
    getsockname(r, reinterpret_cast<sockaddr*>(&self), &selfLen);
    sendto(r, msg, 3, 0, reinterpret_cast<sockaddr*>(&self), selfLen);
    char in[8];
    socklen_t roomy = sizeof(sockaddr_storage);
    FCASE("recvfrom_efault_address", recvfrom(r, in, sizeof in, MSG_DONTWAIT, const_cast<sockaddr*>(bad), &roomy));
    FCASE("getsockname_efault", getsockname(r, const_cast<sockaddr*>(bad), &roomy));
    FCASE("getsockname_efault_len", getsockname(r, reinterpret_cast<sockaddr*>(&self), reinterpret_cast<socklen_t*>(1)));
    close(r);
    close(b);

    // Valid addresses away from the stack (the probe must not refuse them): decided and
    // sent as usual; the parity test finds them in the trace by their ports.
    const sockaddr* offStack = straddling(m, farStore, slen);  // ends at the unmapped page
    int nb = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    FCASE("connect_off_stack", connect(nb, offStack, slen));
    close(nb);
    auto* twoPages = reinterpret_cast<sockaddr*>(m.page + 4096 - 8);  // across two pages
    std::memcpy(twoPages, &farStore, slen);
    int u = socket(family, SOCK_DGRAM, 0);
    FCASE("sendto_across_pages", sendto(u, msg, 3, 0, twoPages, slen));
    close(u);

    // accept/accept4: a loopback listener, one pending connection per case (a failed copy
    // of the peer's address costs the kernel that connection).
    int l = socket(family, SOCK_STREAM, 0);
    bind(l, reinterpret_cast<sockaddr*>(&lo), loLen);
    listen(l, 8);
    getsockname(l, reinterpret_cast<sockaddr*>(&lo), &loLen);
    auto pending = [&] {
      int c = socket(family, SOCK_STREAM, 0);
      connect(c, reinterpret_cast<sockaddr*>(&lo), loLen);
      return c;
    };
    auto acceptCase = [&](const char* label, auto call) {
      int c = pending();
      name = std::string(label) + f;
      errno = 0;
      const int a = call();
      report(name.c_str(), a >= 0 ? 0 : -1, errno);
      if (a >= 0) close(a);
      close(c);
    };
    socklen_t room = sizeof(sockaddr_storage), none = 0;
    acceptCase("accept_efault_address", [&] { return accept(l, const_cast<sockaddr*>(bad), &room); });
    room = sizeof(sockaddr_storage);
    acceptCase("accept_efault_len", [&] {
      return accept(l, reinterpret_cast<sockaddr*>(&self), reinterpret_cast<socklen_t*>(1));
    });
    acceptCase("accept_efault_len_null", [&] { return accept(l, reinterpret_cast<sockaddr*>(&self), nullptr); });
    // No room given: the kernel writes no address (only the length), so a bad pointer is fine.
    acceptCase("accept_no_room_bad_address", [&] { return accept(l, const_cast<sockaddr*>(bad), &none); });
    std::printf("accept_no_room_len%s %u\n", f.c_str(), none);
    none = 1;
    acceptCase("accept_one_byte_room", [&] { return accept(l, reinterpret_cast<sockaddr*>(m.unmapped - 1), &none); });
    room = sizeof(sockaddr_storage);
    acceptCase("accept4_efault_address", [&] { return accept4(l, const_cast<sockaddr*>(bad), &room, SOCK_CLOEXEC); });
    none = 0;
    acceptCase("accept4_no_room_bad_address", [&] { return accept4(l, const_cast<sockaddr*>(bad), &none, SOCK_CLOEXEC); });
    close(l);
#undef FCASE
  }
  munmap(m.page, 2 * 4096);
  munmap(m.protNone, 4096);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: preload_tester LOCAL4 PEER4\n");
    return 2;
  }
  local4 = argv[1];
  peer4 = argv[2];
  setvbuf(stdout, nullptr, _IOLBF, 0);
  connectCases();
  sendCases();
  bindCases();
  closeCases();
  fcntlCases();
  std::printf("-- caller memory the kernel rejects\n");
  faultCases();
  return 0;
}
