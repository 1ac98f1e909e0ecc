// libFuzzer: arbitrary bytes as a policy file, in each layer; what loads is compiled, and
// what compiles is asked a few questions through both decide() paths, which must agree.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mif/policy/loader.h"
#include "mif/policy/policy.h"

using namespace mif::policy;

namespace {

void ask(const Policy& p, Query q) {
  std::vector<PvdState> states(p.pvds().size());
  for (size_t i = 0; i < states.size(); ++i) states[i] = PvdState{true, i % 2 == 0, i % 3 != 0};
  View v{states};
  Decision fast = p.decide(q, v);
  Explanation e;
  Decision slow = p.decide(q, v, &e);
  if (fast.count != slow.count || fast.step != slow.step || fast.rule != slow.rule ||
      fast.strict != slow.strict)
    __builtin_trap();
  for (int i = 0; i < fast.count; ++i)
    if (fast.pvds[static_cast<size_t>(i)] != slow.pvds[static_cast<size_t>(i)]) __builtin_trap();
  for (const auto& m : e.matches) (void)m.where.toString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Layer layer = static_cast<Layer>(data[0] % 3);
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  LoadResult r = loadString(text, "fuzz.toml", layer);
  for (const auto& d : r.diagnostics) {
    (void)d.format();
    (void)d.toJson();
  }
  Pin pin;
  if (data[0] & 0x10) pin.pvds = {"eth0"};
  pin.strict = (data[0] & 0x20) != 0;
  auto c = Policy::compile({r.doc}, pin);
  if (!c.policy) return 0;
  const Policy& p = *c.policy;
  Query q;
  q.kind = Query::Kind::Resolve;
  q.name = "www.corp.example";
  q.app = "curl";
  ask(p, q);
  q.kind = Query::Kind::Connect;
  q.hasAddress = true;
  q.address = IpAddress::v4(10, 1, 2, 3);
  q.port = 443;
  q.proto = Proto::Tcp;
  q.taggedPvd = p.pvds().empty() ? -1 : 0;
  ask(p, q);
  q.address = *IpAddress::parse("2001:db8::1");
  q.proto = Proto::Udp;
  q.port = 8080;
  q.taggedPvd = -1;
  ask(p, q);
  q.kind = Query::Kind::Bind;
  q.address = IpAddress::v4(192, 0, 2, 10);
  ask(p, q);
  return 0;
}
