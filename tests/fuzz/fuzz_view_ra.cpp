// libFuzzer: the live view's parsers of what the network hands it about DNS.
// - First byte even: the rest is the payload of an RTM_NEWNDUSEROPT netlink message (an
//   nduseroptmsg, the router advertisement's options — RDNSS 25, DNSSL 31, captive portal
//   37, PREF64 38 among them — and the attributes after them, NDUSEROPT_SRCADDR), recorded
//   by RaStore::record as LiveView does while draining its socket, then looked up for the
//   interface it names (DNS, NAT64 prefixes, portal), told a dump's routes (bit 2 of the
//   first byte: a default route through the interface via fe80::1, else none: the router
//   left), and looked up at a time past every lifetime. The message
//   family and ICMP type are forced to an RA's (else nothing is parsed); its option
//   length is the fuzzer's when the byte says so, else the rest of the message.
// - First byte even with bit 3 set: the rest is a whole ICMPv6 router advertisement as the
//   discovery listener reads it from its raw socket (mif/view/ra_options.h: the header, the
//   options, the RFC 8801 PvD option and the options nested in it), every value it gives
//   checked against what the parser promises.
// - First byte odd, bit 1 clear: the rest is a resolv.conf (read through a memfd by the
//   resolv.conf source) and, line by line, server texts for parseServer.
// - First byte odd, bit 1 set: the rest is the records of a state file under /run/mif
//   (mif/view/ra_state.h; the version line is put before them, so the records are
//   reached), loaded by RaStore::load, told a dump with a default route via fe80::1 on
//   every interface it names, looked up; written back and loaded again, which must give
//   the same text (nothing is lost or invented on the way).
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dns_sources.h"
#include "mif/view/ra_options.h"
#include "ra_source.h"

using namespace mif::view;
using namespace mif::view::detail;

namespace {

void checkFacts(const DnsFacts& f) {
  for (const auto& d : f.domains) {
    if (d.empty()) __builtin_trap();
    for (char c : d)
      if (c >= 'A' && c <= 'Z') __builtin_trap();  // lower case, as documented
  }
}

void checkRouterFacts(const BoundPvd& b) {
  for (const auto& p : b.pref64) {
    if (p.prefix.addr.family != mif::policy::Family::V6) __builtin_trap();
    if (p.prefix.length != 96 && p.prefix.length != 64 && p.prefix.length != 56 &&
        p.prefix.length != 48 && p.prefix.length != 40 && p.prefix.length != 32)
      __builtin_trap();
    for (int bit = p.prefix.length; bit < 128; ++bit)  // host bits cleared
      if (p.prefix.addr.bytes[bit / 8] & (0x80u >> (bit % 8))) __builtin_trap();
  }
  for (const auto& c : b.captive) {
    if (c.uri.empty()) __builtin_trap();
    for (char ch : c.uri)
      if (ch <= 0x20 || ch >= 0x7f) __builtin_trap();  // printable, as documented
  }
}

void routerAdvertisement(const uint8_t* data, size_t size, bool ownLength, bool routed) {
  static RaStore store;  // kept across inputs: withdrawals and the entry cap get exercised
  std::vector<uint8_t> buf(NLMSG_SPACE(sizeof(nduseroptmsg) + size), 0);
  auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
  h->nlmsg_type = RTM_NEWNDUSEROPT;
  h->nlmsg_len = uint32_t(NLMSG_LENGTH(sizeof(nduseroptmsg) + size));
  auto* m = static_cast<nduseroptmsg*>(NLMSG_DATA(h));
  const size_t head = std::min(size, sizeof *m);
  std::memcpy(m, data, head);
  std::memcpy(m + 1, data + head, size - head);
  m->nduseropt_family = AF_INET6;
  m->nduseropt_icmp_type = ND_ROUTER_ADVERT;
  if (!ownLength) m->nduseropt_opts_len = uint16_t(std::min<size_t>(size - head, 0xffff));
  m->nduseropt_ifindex &= 0xf;  // a few interfaces, so that entries meet again
  const auto now = RaStore::Clock::now();
  store.record(h, now);
  DnsFacts f;
  store.lookup(m->nduseropt_ifindex, now, f);
  checkFacts(f);
  std::vector<Route> routes;
  if (routed) {
    Route r;
    r.family = mif::policy::Family::V6;
    r.dst.addr.family = mif::policy::Family::V6;
    r.hasGateway = true;
    r.gateway = *mif::policy::IpAddress::parse("fe80::1");
    r.ifindex = m->nduseropt_ifindex;
    r.protocol = RTPROT_RA;
    routes.push_back(r);
  }
  store.routesSeen(routes);
  BoundPvd b;
  store.facts(m->nduseropt_ifindex, now, b);
  checkRouterFacts(b);
  (void)store.routerLeft(m->nduseropt_ifindex);
  if (store.nextExpiry(now) <= now) __builtin_trap();  // what ended is dropped
  DnsFacts later;
  store.lookup(m->nduseropt_ifindex, now + std::chrono::hours(24 * 365 * 200), later);
  checkFacts(later);
  BoundPvd gone;
  store.facts(m->nduseropt_ifindex, now + std::chrono::hours(24 * 365 * 200), gone);
  checkRouterFacts(gone);
}

void checkName(const std::string& n) {
  if (n.empty() || n.size() > 253 || n.front() == '.' || n.back() == '.') __builtin_trap();
  if (n.find("..") != std::string::npos) __builtin_trap();
  for (char c : n)
    if (c <= 0x20 || c >= 0x7f || (c >= 'A' && c <= 'Z')) __builtin_trap();
}

void checkPrefix(const mif::policy::Prefix& p) {
  if (p.addr.family != mif::policy::Family::V6 || p.length > 128) __builtin_trap();
  for (int bit = p.length; bit < 128; ++bit)
    if (p.addr.bytes[bit / 8] & (0x80u >> (bit % 8))) __builtin_trap();
}

void checkOptions(const mif::view::ra::Options& o) {
  for (const auto& r : o.rdnss)
    if (r.servers.empty()) __builtin_trap();
  for (const auto& d : o.dnssl) {
    if (d.domains.empty()) __builtin_trap();
    for (const auto& n : d.domains) checkName(n);
  }
  for (const auto& p : o.pref64) checkPrefix(p.prefix);
  for (const auto& p : o.prefixes) {
    checkPrefix(p.prefix);
    if (p.preferredLifetime > p.validLifetime) __builtin_trap();
  }
  for (const auto& r : o.routes) {
    checkPrefix(r.prefix);
    if (r.preference < -1 || r.preference > 1) __builtin_trap();
  }
  if (o.mtu && *o.mtu < 1280) __builtin_trap();
}

void advertisement(const uint8_t* data, size_t size) {
  namespace ra = mif::view::ra;
  ra::Advertisement a;
  std::string why;
  if (!ra::parseAdvertisement(ra::Bytes(data, size), a, why)) {
    if (why.empty()) __builtin_trap();  // a rejection always says why
    return;
  }
  checkOptions(a.options);
  for (const auto& r : a.rejected)
    if (r.empty()) __builtin_trap();
  if (a.pvd) {
    checkName(a.pvd->id);
    if (a.pvd->delay > 15) __builtin_trap();
    checkOptions(a.pvd->options);
  }
}

void resolvConf(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    DnsServer s;
    if (parseServer(text.substr(start, nl - start), DnsOrigin::ResolvConf, s) &&
        s.addr.family != mif::policy::Family::V4 && s.addr.family != mif::policy::Family::V6)
      __builtin_trap();
    start = nl + 1;
  }
  static int fd = memfd_create("resolv.conf", 0);
  if (fd < 0) return;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size)) return;
  static auto source = makeResolvConfSource("/proc/self/fd/" + std::to_string(fd));
  Interface ifc;
  ifc.index = 2;
  ifc.name = "eth0";
  DnsFacts f;
  source->lookup(ifc, true, f);
  checkFacts(f);
}

void stateFile(const uint8_t* data, size_t size) {
  const std::string text =
      "mif-ra-state 1\n" + std::string(reinterpret_cast<const char*>(data), size);
  const auto now = RaStore::Clock::now();
  const int64_t boot = 1000000;  // any CLOCK_BOOTTIME: the records' times are below it
  RaStore store;
  if (!store.load(text, now, boot)) __builtin_trap();  // the version line is right
  std::vector<Route> routes;
  for (int ifindex = 0; ifindex < 64; ++ifindex) {
    Route r;
    r.family = mif::policy::Family::V6;
    r.dst.addr.family = mif::policy::Family::V6;
    r.hasGateway = true;
    r.gateway = *mif::policy::IpAddress::parse("fe80::1");
    r.ifindex = ifindex;
    r.protocol = RTPROT_RA;
    routes.push_back(r);
  }
  store.routesSeen(routes);
  for (int ifindex = 0; ifindex < 64; ++ifindex) {
    DnsFacts f;
    store.lookup(ifindex, now, f);
    checkFacts(f);
    BoundPvd b;
    store.facts(ifindex, now, b);
    checkRouterFacts(b);
  }
  const std::string once = store.serialize(now, boot);
  RaStore again;
  if (!again.load(once, now, boot)) __builtin_trap();
  if (again.serialize(now, boot) != once) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 3) == 3)
    stateFile(data + 1, size - 1);
  else if (data[0] & 1)
    resolvConf(data + 1, size - 1);
  else if (data[0] & 8)
    advertisement(data + 1, size - 1);
  else
    routerAdvertisement(data + 1, size - 1, (data[0] & 2) != 0, (data[0] & 4) != 0);
  return 0;
}
