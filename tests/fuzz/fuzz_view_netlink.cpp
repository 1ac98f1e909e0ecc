// libFuzzer: the live view's reading of a netlink dump, and the PvD binding that consumes
// it. The input is a sequence of messages, each `type len payload`: one byte whose value
// % 3 picks RTM_NEWLINK, RTM_NEWADDR or RTM_NEWROUTE, two bytes (little-endian) of payload
// length, then the payload (an ifinfomsg, ifaddrmsg or rtmsg and its attributes, as the
// kernel sends them; tests/fuzz/corpus/fuzz_view_netlink holds a real dump cut this way). Each message goes
// through parseDumpMessage (libnl's parser and mif's readers, as dumpKernel uses them);
// the snapshot is then sorted as a dump sorts it and bound to a fixed policy.
// Checked: no crash or sanitizer report, and the readers' invariants (a prefix length
// never beyond its family's bits, addresses only on interfaces that exist).
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "binding.h"
#include "dns_sources.h"
#include "mif/policy/loader.h"
#include "mif/policy/policy.h"
#include "netlink_dump.h"

using namespace mif;

namespace {

const policy::Policy& fixedPolicy() {
  static const policy::Policy* p = [] {
    auto loaded = policy::loadString(
        "[pvd.wifi]\ninterface = \"wlan0\"\n"
        "[pvd.vpn]\ninterface = \"tun0\"\nprefixes = [\"10.8.0.0/16\", \"2001:db8:8::/48\"]\n"
        "[pvd.cell]\ninterface = \"wwan0\"\nsource = [\"100.64.0.2\"]\n"
        "[default]\npvd = [\"vpn\", \"wifi\", \"cell\"]\n",
        "fuzz.toml", policy::Layer::User);
    std::vector<policy::PolicyDoc> docs;
    docs.push_back(std::move(loaded.doc));
    auto c = policy::Policy::compile(std::move(docs), policy::Pin{});
    if (!c.policy) __builtin_trap();
    return new policy::Policy(std::move(*c.policy));
  }();
  return *p;
}

unsigned bitsOf(policy::Family f) { return f == policy::Family::V4 ? 32 : 128; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const uint16_t kTypes[3] = {RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE};
  view::Snapshot snap;
  std::vector<uint8_t> buf;
  size_t i = 0;
  while (i + 3 <= size) {
    const uint16_t type = kTypes[data[i] % 3];
    const size_t len = std::min<size_t>(size_t(data[i + 1]) | size_t(data[i + 2]) << 8, size - i - 3);
    i += 3;
    buf.assign(NLMSG_HDRLEN + len, 0);
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
    h->nlmsg_len = uint32_t(buf.size());
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_MULTI;
    std::memcpy(buf.data() + NLMSG_HDRLEN, data + i, len);
    i += len;
    view::detail::parseDumpMessage(buf.data(), buf.size(), snap);
    if (type == RTM_NEWLINK)  // as dumpKernel does once the links are in
      std::sort(snap.interfaces.begin(), snap.interfaces.end(),
                [](const view::Interface& a, const view::Interface& b) { return a.index < b.index; });
  }
  for (const auto& itf : snap.interfaces)
    for (const auto& a : itf.addresses)
      if (a.prefixLength > bitsOf(a.addr.family)) __builtin_trap();
  for (const auto& r : snap.routes) {
    if (r.dst.length > bitsOf(r.family) || r.dst.addr.family != r.family) __builtin_trap();
    if (r.hasSource && r.source.length > bitsOf(r.family)) __builtin_trap();
  }
  static const std::vector<std::unique_ptr<view::detail::DnsSource>> noSources;
  view::detail::bindPvds(fixedPolicy(), noSources, snap);
  return 0;
}
