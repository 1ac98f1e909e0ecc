#include <gtest/gtest.h>

#include <thread>

#include "mif/dns/tags.h"

using mif::dns::Tag;
using mif::policy::IpAddress;

TEST(Tags, RecordLookupAndExpiry) {
  mif::dns::clearTags();
  IpAddress a = *IpAddress::parse("10.9.8.7");
  Tag t;
  EXPECT_FALSE(mif::dns::lookupTag(a, &t));
  mif::dns::recordTag(a, 3, "intranet.corp.example", 1);
  ASSERT_TRUE(mif::dns::lookupTag(a, &t));
  EXPECT_EQ(t.pvd, 3);
  EXPECT_STREQ(t.name, "intranet.corp.example");
  // A v4-mapped address is the same destination.
  ASSERT_TRUE(mif::dns::lookupTag(*IpAddress::parse("::ffff:10.9.8.7"), &t));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(mif::dns::lookupTag(a, &t));  // the record's TTL has passed
}

TEST(Tags, NewestAnswerWinsAndDropByPvd) {
  mif::dns::clearTags();
  IpAddress a = *IpAddress::parse("2001:db8::42");
  mif::dns::recordTag(a, 1, "a.example", 60);
  mif::dns::recordTag(a, 2, "b.example", 60);
  Tag t;
  ASSERT_TRUE(mif::dns::lookupTag(a, &t));
  EXPECT_EQ(t.pvd, 2);
  EXPECT_STREQ(t.name, "b.example");
  mif::dns::dropTagsForPvd(2);
  EXPECT_FALSE(mif::dns::lookupTag(a, &t));
}

TEST(Tags, ZeroTtlIsNotRememberedAndFullTableEvictsSoonestExpiry) {
  mif::dns::clearTags();
  IpAddress a = *IpAddress::parse("192.0.2.200");
  mif::dns::recordTag(a, 1, "x", 0);
  EXPECT_FALSE(mif::dns::lookupTag(a, nullptr));
  // Many more addresses than slots: the table never fails a write, and recent long-lived
  // entries survive.
  for (uint32_t i = 0; i < 3 * mif::dns::kTagCapacity; ++i) {
    IpAddress x;
    x.family = mif::policy::Family::V6;
    x.bytes[0] = 0x20;
    x.bytes[1] = 0x01;
    x.bytes[12] = uint8_t(i >> 24);
    x.bytes[13] = uint8_t(i >> 16);
    x.bytes[14] = uint8_t(i >> 8);
    x.bytes[15] = uint8_t(i);
    mif::dns::recordTag(x, 1, "many", 5 + i % 7);
  }
  IpAddress keep = *IpAddress::parse("198.51.100.250");
  mif::dns::recordTag(keep, 4, "keep", 3600);
  EXPECT_TRUE(mif::dns::lookupTag(keep, nullptr));
}

TEST(Tags, ReadersRunAlongsideWriters) {
  mif::dns::clearTags();
  std::atomic<bool> stop{false};
  IpAddress a = *IpAddress::parse("192.0.2.1");
  mif::dns::recordTag(a, 0, "even.example", 60);
  // The writer keeps writing until the reader has seen enough (or 5 s passed), so a
  // loaded machine cannot finish one side before the other starts.
  std::thread w([&] {
    for (int i = 1; !stop; ++i)
      mif::dns::recordTag(a, i % 2, i % 2 ? "odd.example" : "even.example", 60);
  });
  int seen = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (seen < 20000 && std::chrono::steady_clock::now() < until) {
    Tag t;
    if (mif::dns::lookupTag(a, &t)) {
      // Never a torn mix of the two writes.
      if (t.pvd == 1)
        ASSERT_STREQ(t.name, "odd.example");
      else
        ASSERT_STREQ(t.name, "even.example");
      ++seen;
    }
  }
  stop = true;
  w.join();
  EXPECT_GT(seen, 0);
  EXPECT_TRUE(mif::dns::lookupTag(a, nullptr));
}
