// Calls getaddrinfo over a grid of names, flags, families, socktypes and services and
// prints every field of every result (and the layout facts freeaddrinfo depends on), one
// line per node. The differential test runs it under glibc and under libmif.so and
// compares the two outputs byte for byte. Calls that mif may answer from its per-thread
// memo the second time are made twice. Names come from the command line.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

void dumpOne(const char* name, const char* service, const addrinfo* hints) {
  addrinfo* res = nullptr;
  int rc = getaddrinfo(name, service, hints, &res);
  std::printf("%s|%s|", name, service ? service : "(null)");
  if (hints)
    std::printf("f=%d fam=%d st=%d p=%d", hints->ai_flags, hints->ai_family, hints->ai_socktype,
                hints->ai_protocol);
  else
    std::printf("nullhints");
  std::printf(" => %d\n", rc);
  if (rc != 0) return;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0, scope = 0, flow = 0;
    if (p->ai_family == AF_INET) {
      auto* s = reinterpret_cast<sockaddr_in*>(p->ai_addr);
      inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
      port = ntohs(s->sin_port);
      static const char zero[8] = {};
      flow = std::memcmp(s->sin_zero, zero, 8) != 0;  // sin_zero must be zeroed
    } else if (p->ai_family == AF_INET6) {
      auto* s = reinterpret_cast<sockaddr_in6*>(p->ai_addr);
      inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
      port = ntohs(s->sin6_port);
      scope = s->sin6_scope_id;
      flow = s->sin6_flowinfo;
    }
    std::printf(
        "  flags=%d fam=%d st=%d p=%d len=%u sa_fam=%d addr=%s port=%u scope=%u flow=%u inline=%d "
        "canon=%s\n",
        p->ai_flags, p->ai_family, p->ai_socktype, p->ai_protocol, unsigned(p->ai_addrlen),
        p->ai_addr->sa_family, host, port, scope, flow,
        reinterpret_cast<char*>(p->ai_addr) == reinterpret_cast<char*>(p + 1),
        p->ai_canonname ? p->ai_canonname : "(null)");
  }
  freeaddrinfo(res);  // glibc's own: must free what mif built
}

}  // namespace

int main(int argc, char** argv) {
  const int flagSet[] = {0,
                         AI_CANONNAME,
                         AI_V4MAPPED,
                         AI_V4MAPPED | AI_ALL,
                         AI_ADDRCONFIG,
                         AI_PASSIVE,
                         AI_NUMERICSERV,
                         AI_CANONNAME | AI_ADDRCONFIG | AI_V4MAPPED,
                         AI_ALL,
                         0x4000 /* invalid */};
  const int families[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX};
  const int socktypes[][2] = {
      {0, 0},           {SOCK_STREAM, 0},           {SOCK_DGRAM, 0},    {SOCK_RAW, 0},
      {0, IPPROTO_UDP}, {SOCK_STREAM, IPPROTO_UDP}, {SOCK_SEQPACKET, 0}};
  const char* services[] = {nullptr, "80", "http", "domain", "nosuchservice", "", "65536"};
  for (int i = 1; i < argc; ++i) {
    dumpOne(argv[i], nullptr, nullptr);
    dumpOne(argv[i], "443", nullptr);
    dumpOne(argv[i], "443", nullptr);
    for (int f : flagSet)
      for (int fam : families)
        for (const auto& st : socktypes)
          for (const char* svc : services) {
            addrinfo h{};
            h.ai_flags = f;
            h.ai_family = fam;
            h.ai_socktype = st[0];
            h.ai_protocol = st[1];
            // Asked twice where mif may answer the second call from its per-thread memo
            // (no service or a numeric one): both must be glibc's answer.
            const bool again = svc == nullptr || (svc[0] >= '0' && svc[0] <= '9');
            for (int n = 0; n < (again ? 2 : 1); ++n) dumpOne(argv[i], svc, &h);
          }
  }
  return 0;
}
