#include "ra_source.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>

#include <algorithm>
#include <cstring>

namespace mif::view::detail {
namespace {

constexpr uint8_t kRdnss = 25, kDnssl = 31;
constexpr size_t kMaxEntries = 256;  // a flood of advertisements must not grow us forever

uint32_t be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohl(v);
}

// DNSSL carries names in DNS wire format (length-prefixed labels, zero-terminated), the
// option padded with zeros to a multiple of 8 octets.
std::vector<std::string> wireNames(const uint8_t* p, size_t len) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < len && p[i] != 0) {
    std::string name;
    while (i < len && p[i] != 0) {
      size_t l = p[i++];
      if (l > 63 || i + l > len) return out;
      if (!name.empty()) name += '.';
      for (size_t k = 0; k < l; ++k) name += static_cast<char>(std::tolower(p[i + k]));
      i += l;
    }
    ++i;  // the terminating zero
    if (!name.empty()) out.push_back(std::move(name));
  }
  return out;
}

class RaSource final : public DnsSource {
 public:
  explicit RaSource(std::shared_ptr<const RaStore> s) : store_(std::move(s)) {}
  DnsOrigin origin() const override { return DnsOrigin::RouterAdvertisement; }
  void lookup(const Interface& ifc, bool, DnsFacts& out) const override {
    store_->lookup(ifc.index, RaStore::Clock::now(), out);
  }

 private:
  std::shared_ptr<const RaStore> store_;
};

}  // namespace

void RaStore::put(Entry e, uint32_t lifetime, Clock::time_point now) {
  auto same = [&](const Entry& x) {
    return x.ifindex == e.ifindex && x.server == e.server &&
           (e.server ? x.dns.addr == e.dns.addr : x.domain == e.domain);
  };
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), same), entries_.end());
  if (lifetime == 0) return;  // RFC 8106 5.1: lifetime 0 withdraws the entry
  e.expires =
      lifetime == 0xffffffffu ? Clock::time_point::max() : now + std::chrono::seconds(lifetime);
  if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
  entries_.push_back(std::move(e));
}

void RaStore::record(const nlmsghdr* h, Clock::time_point now) {
  if (h->nlmsg_type != RTM_NEWNDUSEROPT || h->nlmsg_len < NLMSG_LENGTH(sizeof(nduseroptmsg)))
    return;
  const auto* m = static_cast<const nduseroptmsg*>(NLMSG_DATA(h));
  if (m->nduseropt_family != AF_INET6 || m->nduseropt_icmp_type != ND_ROUTER_ADVERT) return;
  size_t len = m->nduseropt_opts_len;
  if (NLMSG_LENGTH(sizeof *m + len) > h->nlmsg_len) return;
  const auto* p = reinterpret_cast<const uint8_t*>(m + 1);
  while (len >= 8) {
    size_t size = static_cast<size_t>(p[1]) * 8;
    if (size == 0 || size > len) break;
    uint32_t lifetime = size >= 8 ? be32(p + 4) : 0;
    if (p[0] == kRdnss && size >= 24) {
      for (size_t off = 8; off + 16 <= size; off += 16) {
        Entry e;
        e.ifindex = m->nduseropt_ifindex;
        e.dns.addr.family = Family::V6;
        std::memcpy(e.dns.addr.bytes.data(), p + off, 16);
        e.dns.origin = DnsOrigin::RouterAdvertisement;
        put(std::move(e), lifetime, now);
      }
    } else if (p[0] == kDnssl && size > 8) {
      for (auto& d : wireNames(p + 8, size - 8)) {
        Entry e;
        e.ifindex = m->nduseropt_ifindex;
        e.server = false;
        e.domain = std::move(d);
        put(std::move(e), lifetime, now);
      }
    }
    p += size;
    len -= size;
  }
}

void RaStore::lookup(int ifindex, Clock::time_point now, DnsFacts& out) const {
  for (const auto& e : entries_) {
    if (e.ifindex != ifindex || e.expires <= now) continue;
    if (e.server)
      out.servers.push_back(e.dns);
    else if (std::find(out.domains.begin(), out.domains.end(), e.domain) == out.domains.end())
      out.domains.push_back(e.domain);
  }
}

std::unique_ptr<DnsSource> makeRaSource(std::shared_ptr<const RaStore> store) {
  return std::make_unique<RaSource>(std::move(store));
}

}  // namespace mif::view::detail
