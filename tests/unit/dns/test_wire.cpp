// dns::wire::question: the question of a message, as the --enforce DNS stub matches a
// program's query to its answers (tools/enforce/dns_stub.cpp).
#include <gtest/gtest.h>

#include "mif/dns/wire.h"

namespace mif::dns::wire {
namespace {

TEST(WireQuestion, ReadsNameTypeAndClass) {
  auto q = buildQuery("CDN.example.com.", kTypeAaaa, 0x1234);
  std::string name;
  uint16_t type = 0, cls = 0;
  ASSERT_TRUE(question(q, &name, &type, &cls));
  EXPECT_EQ(name, "CDN.example.com");
  EXPECT_EQ(type, kTypeAaaa);
  EXPECT_EQ(cls, 1);
}

TEST(WireQuestion, RefusesWhatHasNoQuestion) {
  auto q = buildQuery("example.com", kTypeA, 1);
  std::string name;
  uint16_t type = 0, cls = 0;
  EXPECT_FALSE(question(std::span<const uint8_t>(q.data(), 11), &name, &type, &cls)) << "short header";
  EXPECT_FALSE(question(std::span<const uint8_t>(q.data(), q.size() - 1), &name, &type, &cls))
      << "truncated question";
  q[5] = 0;  // QDCOUNT 0
  EXPECT_FALSE(question(q, &name, &type, &cls));
}

}  // namespace
}  // namespace mif::dns::wire
