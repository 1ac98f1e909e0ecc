// A small libresolv user: res_query / res_search of NAME for TYPE (A, AAAA, PTR, TXT),
// printing the answer's rcode, answer count and records, or h_errno. Used by the
// end-to-end tests as "a dig-style program".
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s query|search NAME [A|AAAA|PTR]\n", argv[0]);
    return 2;
  }
  int type = ns_t_a;
  if (argc > 3 && std::strcmp(argv[3], "AAAA") == 0) type = ns_t_aaaa;
  if (argc > 3 && std::strcmp(argv[3], "PTR") == 0) type = ns_t_ptr;
  unsigned char buf[4096];
  int n = std::strcmp(argv[1], "search") == 0 ? res_search(argv[2], ns_c_in, type, buf, sizeof buf)
                                              : res_query(argv[2], ns_c_in, type, buf, sizeof buf);
  if (n < 0) {
    std::printf("h_errno=%d\n", h_errno);
    return 1;
  }
  ns_msg msg;
  if (ns_initparse(buf, n, &msg) != 0) {
    std::printf("unparsable\n");
    return 1;
  }
  std::printf("rcode=%d answers=%d\n", ns_msg_getflag(msg, ns_f_rcode), ns_msg_count(msg, ns_s_an));
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) break;
    char text[256] = "";
    if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4)
      inet_ntop(AF_INET, ns_rr_rdata(rr), text, sizeof text);
    else if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16)
      inet_ntop(AF_INET6, ns_rr_rdata(rr), text, sizeof text);
    else if (ns_rr_type(rr) == ns_t_ptr)
      ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr), text, sizeof text);
    std::printf("%s %d %s\n", ns_rr_name(rr), ns_rr_type(rr), text);
  }
  return 0;
}
