// `mif discover [--interface IFACE]...`: the RFC 8801 listener (docs/discovery.md). It
// hears router advertisements on a raw ICMPv6 socket (the kernel neither hands the PvD
// option to netlink listeners nor acts on the options nested in it), keeps the explicit
// PvDs they announce (discover/pvd_table.h), configures the SLAAC addresses and RFC 8028
// routes of their nested prefixes (discover/host_config.h) and publishes them as files for
// unprivileged readers (discover/publish.h). It runs in the foreground until SIGTERM or SIGINT, as a
// service manager expects, and then removes what it published.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "discover/host_config.h"
#include "discover/host_plan.h"
#include "discover/https_fetch.h"
#include "discover/publish.h"
#include "discover/pvd_table.h"
#include "mif/view/published_pvds.h"
#include "mif/view/ra_options.h"

namespace mif::cmd {
namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: mif discover [--interface IFACE]... [--ca-file FILE]\n\n"
               "Listens for router advertisements that announce explicit PvDs (RFC 8801:\n"
               "a PvD ID, with its own prefixes, routes, DNS servers and NAT64 prefix) and\n"
               "publishes each for unprivileged readers (mif show, the library) as a file\n"
               "under $MIF_RUN_DIR/pvds (default /run/mif/pvds). Configures what the kernel\n"
               "does not for prefixes nested in a PvD option: a SLAAC address (A flag) and\n"
               "routes from the prefix via the announcing router (RFC 8028, proto 109).\n"
               "Solicits the routers when it starts; runs in the foreground until SIGTERM or\n"
               "SIGINT, then removes the files, addresses and routes. Needs CAP_NET_RAW and\n"
               "CAP_NET_ADMIN (root, or the systemd unit mif-discover.service).\n"
               "Malformed advertisements are logged on stderr and ignored. A PvD with the H\n"
               "flag has its additional information (https://ID/.well-known/pvd, JSON)\n"
               "fetched through the PvD itself, validated and published with it.\n\n"
               "  --interface IFACE  only this interface (repeatable; default: every\n"
               "                     interface with IPv6 but loopback)\n"
               "  --ca-file FILE     the CA certificates (PEM) that the additional\n"
               "                     information's servers are checked against (default:\n"
               "                     the system's)\n"
               "  -h, --help         this help\n\n"
               "Exit status: 0 when stopped by a signal, 1 when it cannot listen.\n");
}

void log(const std::string& line) { std::fprintf(stderr, "mif discover: %s\n", line.c_str()); }

// Bad advertisements come from the network, as fast as anyone on the link sends them: at
// most kBurst lines per minute about them, then one saying how many went unsaid.
class BadLog {
 public:
  void say(const std::string& line) {
    int64_t now = view::bootSeconds();
    if (now - start_ >= 60) {
      if (dropped_) log(std::to_string(dropped_) + " more ignored advertisements not logged");
      start_ = now;
      count_ = dropped_ = 0;
    }
    if (count_++ < kBurst)
      log(line);
    else
      ++dropped_;
  }

 private:
  static constexpr int kBurst = 20;
  int64_t start_ = 0;
  int count_ = 0, dropped_ = 0;
};

bool wanted(const std::vector<std::string>& only, const std::string& ifname) {
  return only.empty() || std::find(only.begin(), only.end(), ifname) != only.end();
}

// RFC 4861 6.3.7: one Router Solicitation to all routers on each interface that can send
// one (up, not loopback, with an IPv6 link-local address).
void solicit(int fd, const std::vector<std::string>& only) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return;
  std::vector<unsigned> done;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET6) continue;
    if (!(a->ifa_flags & IFF_UP) || (a->ifa_flags & IFF_LOOPBACK)) continue;
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
    if (!IN6_IS_ADDR_LINKLOCAL(&sa->sin6_addr) || !wanted(only, a->ifa_name)) continue;
    unsigned index = ::if_nametoindex(a->ifa_name);
    if (!index || std::find(done.begin(), done.end(), index) != done.end()) continue;
    done.push_back(index);
    int ifindex = static_cast<int>(index);
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_scope_id = index;
    inet_pton(AF_INET6, "ff02::2", &to.sin6_addr);
    const uint8_t rs[8] = {ND_ROUTER_SOLICIT, 0, 0, 0, 0, 0, 0, 0};  // the kernel sums it
    if (::sendto(fd, rs, sizeof rs, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != 8)
      log(std::string(a->ifa_name) + ": router solicitation not sent: " + std::strerror(errno));
  }
  ::freeifaddrs(list);
}

int openSocket(std::string& why) {
  int fd = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0) {
    why = std::string("raw ICMPv6 socket: ") + std::strerror(errno) +
          (errno == EPERM || errno == EACCES ? " (needs CAP_NET_RAW: run as root or as the "
                                               "mif-discover service)"
                                             : "");
    return -1;
  }
  icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  ICMP6_FILTER_SETPASS(ND_ROUTER_ADVERT, &filter);
  int on = 1, hops = 255;
  if (::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0 ||
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) != 0 ||
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0 ||
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0) {
    why = std::string("raw ICMPv6 socket options: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// One datagram from the socket: -1 when there was none, 1 when it was an advertisement
// taken into the table, 0 otherwise.
int receive(int fd, const std::vector<std::string>& only, discover::PvdTable& table,
             BadLog& bad) {
  alignas(8) uint8_t buf[65536];
  alignas(cmsghdr) char control[256];
  sockaddr_in6 from{};
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) return -1;
  int hopLimit = -1;
  unsigned ifindex = from.sin6_scope_id;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != IPPROTO_IPV6) continue;
    if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int)))
      std::memcpy(&hopLimit, CMSG_DATA(c), sizeof hopLimit);
    else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      ifindex = pi.ipi6_ifindex;
    }
  }
  char name[IF_NAMESIZE] = "";
  if (!ifindex || !::if_indextoname(ifindex, name)) return 0;
  std::string ifname = name;
  if (!wanted(only, ifname)) return 0;
  policy::IpAddress router;
  router.family = policy::Family::V6;
  std::memcpy(router.bytes.data(), &from.sin6_addr, 16);
  std::string who = ifname + ": advertisement from " + router.toString();
  // RFC 4861 6.1.2: only a neighbour on the link can send with hop limit 255, and a
  // router's advertisement leaves from its link-local address.
  if (hopLimit != 255) {
    bad.say(who + " ignored: hop limit " + std::to_string(hopLimit) + ", not 255");
    return 0;
  }
  if (!IN6_IS_ADDR_LINKLOCAL(&from.sin6_addr)) {
    bad.say(who + " ignored: not from a link-local address");
    return 0;
  }
  view::ra::Advertisement ra;
  std::string why;
  if (!view::ra::parseAdvertisement(view::ra::Bytes(buf, static_cast<size_t>(n)), ra, why)) {
    bad.say(who + " ignored: " + why);
    return 0;
  }
  for (const auto& r : ra.rejected) bad.say(who + ": ignored " + r);
  // Without its PvD option the rest would read as the router leaving its PvD.
  if (ra.pvdMalformed) return 0;
  std::string change = table.heard(ifname, router, ra, view::bootSeconds());
  if (!change.empty()) log(change);
  return 1;
}

}  // namespace

int discover(int argc, char** argv) {
  std::vector<std::string> only;
  discover::HttpsOptions https;
  cli::Args args("discover", argc, argv);
  std::string v;
  while (args.next()) {
    if (args.is("-h") || args.is("--help")) {
      usage(stdout);
      return cli::kExitOk;
    } else if (args.value("--interface", &v)) {
      if (v.empty() || v.size() >= IF_NAMESIZE) {
        cli::error("discover: --interface " + v, "not an interface name");
        return cli::kExitUsage;
      }
      only.push_back(v);
    } else if (args.value("--ca-file", &v)) {
      if (::access(v.c_str(), R_OK) != 0) {
        cli::error("discover: --ca-file " + v, std::strerror(errno));
        return cli::kExitUsage;
      }
      https.caFile = v;
    } else {
      cli::error("discover: " + args.arg(), "unknown option (try 'mif discover --help')");
      return cli::kExitUsage;
    }
  }
  std::string why;
  int fd = openSocket(why);
  if (fd < 0) {
    cli::error("discover", why);
    return cli::kExitFailure;
  }
  // The signals arrive through a descriptor polled beside the socket: no handler runs
  // in the middle of a write.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  int sig = ::signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
  discover::Publisher out(view::publishedPvdDir());
  if (sig < 0 || !out.prepare(why)) {
    cli::error("discover", sig < 0 ? std::string("signalfd: ") + std::strerror(errno) : why);
    ::close(fd);
    return cli::kExitFailure;
  }
  std::string where = only.empty() ? "every interface" : only[0];
  for (size_t i = 1; i < only.size(); ++i) where += ", " + only[i];
  log("listening on " + where + ", publishing in " + out.dir());
  discover::HostConfig host;
  std::vector<std::string> lines;
  auto flush = [&] {
    for (const auto& l : lines) log(l);
    lines.clear();
  };
  if (!host.open(why)) {
    cli::error("discover", why);
    ::close(sig);
    ::close(fd);
    return cli::kExitFailure;
  }
  host.removeLeftovers(lines);
  flush();
  solicit(fd, only);
  discover::PvdTable table;
  BadLog bad;
  // The additional information of PvDs with the H flag, fetched on its own thread.
  std::unique_ptr<discover::InfoFetcher> info = discover::makeHttpsInfoFetcher(https, log);
  auto publish = [&] {
    std::vector<view::PublishedPvd> pvds = table.pvds();
    info->decorate(pvds);
    if (!out.publish(pvds, why)) log("publishing: " + why);
  };
  for (;;) {
    int64_t now = view::bootSeconds();
    int64_t next = table.nextExpiry();
    // Seconds are the files' unit: wake just after the second in which something ends.
    int timeout = next == view::kForever ? 3600 * 1000
                                         : static_cast<int>(std::clamp<int64_t>(next - now, 0, 3600)) * 1000 + 10;
    if (int64_t due = info->nextDueMs(); due != INT64_MAX)
      timeout = static_cast<int>(std::clamp<int64_t>(due - discover::bootMilliseconds(), 0, timeout));
    pollfd p[3] = {{fd, POLLIN, 0}, {sig, POLLIN, 0}, {info->fd(), POLLIN, 0}};
    int r = ::poll(p, 3, timeout);
    if (r < 0 && errno != EINTR) {
      log(std::string("poll: ") + std::strerror(errno));
      break;
    }
    if (p[1].revents & POLLIN) break;
    bool changed = false;
    if (p[0].revents & POLLIN)
      for (int i = 0, got = 0; i < 64 && (got = receive(fd, only, table, bad)) >= 0; ++i)
        changed |= got == 1;
    now = view::bootSeconds();
    changed |= table.expire(now);
    // Every advertisement taken renews the addresses' lifetimes; before publishing, so
    // that the fetch through the PvD finds its address.
    if (changed) {
      host.apply(discover::planHost(table.pvds(), now), now, lines);
      flush();
    }
    changed |= info->collect(table.pvds(), discover::bootMilliseconds(), std::time(nullptr));
    if (changed) publish();
    // After publishing: the fetch finds the PvD as the library does, in its file.
    if (info->track(table.pvds(), discover::bootMilliseconds())) publish();
  }
  info.reset();
  host.removeAll(lines);
  flush();
  out.withdrawAll();
  log("stopped; published PvDs, addresses and routes withdrawn");
  ::close(sig);
  ::close(fd);
  return cli::kExitOk;
}

}  // namespace mif::cmd
