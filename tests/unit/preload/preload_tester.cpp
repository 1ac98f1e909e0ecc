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
#include <sys/socket.h>
#include <sys/un.h>
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
  return 0;
}
