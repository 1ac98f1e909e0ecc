// The per-thread getaddrinfo memo (mif/dns/addrinfo_memo.h): what it answers, and each
// change that must make it miss so that the full path decides again.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <string>
#include <vector>

#include "mif/dns/addrinfo_memo.h"
#include "mif/dns/tags.h"

using mif::dns::AddrinfoMemo;
using mif::dns::Answer;
using mif::policy::IpAddress;

namespace {

constexpr int64_t kSecond = 1000000000;

// A glibc-layout list (one malloc per node) of `addrs`, one SOCK_STREAM node each.
addrinfo* listOf(const std::vector<std::string>& addrs, const char* canon = nullptr) {
  addrinfo* head = nullptr;
  addrinfo** tail = &head;
  for (const auto& a : addrs) {
    const bool v6 = a.find(':') != std::string::npos;
    const socklen_t len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    auto* ai = static_cast<addrinfo*>(calloc(1, sizeof(addrinfo) + len));
    ai->ai_flags = AI_CANONNAME;
    ai->ai_family = v6 ? AF_INET6 : AF_INET;
    ai->ai_socktype = SOCK_STREAM;
    ai->ai_protocol = IPPROTO_TCP;
    ai->ai_addrlen = len;
    ai->ai_addr = reinterpret_cast<sockaddr*>(ai + 1);
    if (v6) {
      auto* s = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
      s->sin6_family = AF_INET6;
      s->sin6_port = htons(443);
      inet_pton(AF_INET6, a.c_str(), &s->sin6_addr);
    } else {
      auto* s = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
      s->sin_family = AF_INET;
      s->sin_port = htons(443);
      inet_pton(AF_INET, a.c_str(), &s->sin_addr);
    }
    *tail = ai;
    tail = &ai->ai_next;
  }
  if (head != nullptr && canon != nullptr) head->ai_canonname = strdup(canon);
  return head;
}

std::vector<std::string> addressesOf(const addrinfo* r) {
  std::vector<std::string> out;
  for (; r != nullptr; r = r->ai_next) {
    char buf[INET6_ADDRSTRLEN];
    const void* src = r->ai_family == AF_INET6
                          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(r->ai_addr)->sin6_addr)
                          : &reinterpret_cast<sockaddr_in*>(r->ai_addr)->sin_addr;
    inet_ntop(r->ai_family, src, buf, sizeof buf);
    out.emplace_back(buf);
  }
  return out;
}

class AddrinfoMemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mif::dns::clearTags();
    hints_.ai_flags = AI_CANONNAME;
    hints_.ai_socktype = SOCK_STREAM;
    answer_.status = mif::dns::Status::Ok;
    answer_.pvd = 2;
    answer_.qname = "Wiki.Corp.Example";
    answer_.ttl = 300;
    state_.viewGeneration = 7;
    state_.hostsGeneration = 3;
    state_.nowNs = 1000 * kSecond;
    // The full path records each address's tag with the normalised qname.
    for (const char* a : {"10.8.0.5", "2001:db8:8::5"})
      mif::dns::recordTag(*IpAddress::parse(a), 2, "wiki.corp.example", 300);
    built_ = listOf({"2001:db8:8::5", "10.8.0.5"}, "wiki.corp.example");
    memo_.remember("wiki.corp.example", "443", hints_, state_, answer_, built_);
  }
  void TearDown() override {
    freeaddrinfo(built_);
    mif::dns::clearTags();
  }
  int find(const char* node, const char* service, const AddrinfoMemo::State& st,
           addrinfo** res) {
    return memo_.find(node, service, hints_, st, res);
  }

  AddrinfoMemo memo_;
  addrinfo hints_{};
  Answer answer_;
  AddrinfoMemo::State state_;
  addrinfo* built_ = nullptr;
};

}  // namespace

TEST_F(AddrinfoMemoTest, AnswersTheSameListInTheSameOrderAsANewAllocation) {
  addrinfo* r = nullptr;
  ASSERT_EQ(find("wiki.corp.example", "443", state_, &r), 0);
  EXPECT_EQ(addressesOf(r), (std::vector<std::string>{"2001:db8:8::5", "10.8.0.5"}));
  EXPECT_NE(r, built_);
  ASSERT_NE(r->ai_canonname, nullptr);
  EXPECT_STREQ(r->ai_canonname, "wiki.corp.example");
  EXPECT_NE(r->ai_canonname, built_->ai_canonname);
  EXPECT_EQ(r->ai_next->ai_canonname, nullptr);
  EXPECT_EQ(r->ai_flags, AI_CANONNAME);
  EXPECT_EQ(r->ai_socktype, SOCK_STREAM);
  EXPECT_EQ(r->ai_protocol, IPPROTO_TCP);
  EXPECT_EQ(r->ai_addrlen, socklen_t(sizeof(sockaddr_in6)));
  EXPECT_EQ(reinterpret_cast<sockaddr_in6*>(r->ai_addr)->sin6_port, htons(443));
  EXPECT_EQ(reinterpret_cast<char*>(r->ai_addr), reinterpret_cast<char*>(r + 1));
  freeaddrinfo(r);  // glibc's own free: the layout is glibc's
}

TEST_F(AddrinfoMemoTest, MissesWhenAnArgumentDiffers) {
  addrinfo* r = nullptr;
  EXPECT_EQ(find("wiki.corp.example", "80", state_, &r), -1);
  EXPECT_EQ(find("wiki.corp.example", nullptr, state_, &r), -1);
  EXPECT_EQ(find("WIKI.corp.example", "443", state_, &r), -1);  // another spelling
  EXPECT_EQ(find("wiki.corp.example.", "443", state_, &r), -1);
  hints_.ai_family = AF_INET;
  EXPECT_EQ(find("wiki.corp.example", "443", state_, &r), -1);
  hints_.ai_family = AF_UNSPEC;
  hints_.ai_flags = 0;
  EXPECT_EQ(find("wiki.corp.example", "443", state_, &r), -1);
  EXPECT_EQ(r, nullptr);
}

TEST_F(AddrinfoMemoTest, MissesWhenTheViewOrHostsChanged) {
  addrinfo* r = nullptr;
  auto st = state_;
  st.viewGeneration = 8;
  EXPECT_EQ(find("wiki.corp.example", "443", st, &r), -1);
  st = state_;
  st.hostsGeneration = 4;
  EXPECT_EQ(find("wiki.corp.example", "443", st, &r), -1);
}

TEST_F(AddrinfoMemoTest, ExpiresWithTheRecordsTtl) {
  addrinfo* r = nullptr;
  auto st = state_;
  st.nowNs += 299 * kSecond;
  ASSERT_EQ(find("wiki.corp.example", "443", st, &r), 0);
  freeaddrinfo(r);
  st.nowNs += kSecond;
  EXPECT_EQ(find("wiki.corp.example", "443", st, &r), -1);
}

TEST_F(AddrinfoMemoTest, MissesWhenATagNoLongerNamesThePvd) {
  addrinfo* r = nullptr;
  // Another PvD's answer for the same address replaced the tag: the full path must write
  // it again, so the memo may not answer.
  mif::dns::recordTag(*IpAddress::parse("10.8.0.5"), 1, "other.example", 300);
  EXPECT_EQ(find("wiki.corp.example", "443", state_, &r), -1);
  mif::dns::recordTag(*IpAddress::parse("10.8.0.5"), 2, "wiki.corp.example", 300);
  ASSERT_EQ(find("wiki.corp.example", "443", state_, &r), 0);
  freeaddrinfo(r);
  // Another name of the same PvD with the same address took the tag: still this PvD's
  // address, still answered from the memo.
  mif::dns::recordTag(*IpAddress::parse("10.8.0.5"), 2, "cdn.corp.example", 300);
  ASSERT_EQ(find("wiki.corp.example", "443", state_, &r), 0);
  freeaddrinfo(r);
  mif::dns::dropTagsForPvd(2);  // the PvD went down
  EXPECT_EQ(find("wiki.corp.example", "443", state_, &r), -1);
}

TEST_F(AddrinfoMemoTest, NamedServicesAndZeroTtlAreNotRemembered) {
  EXPECT_TRUE(AddrinfoMemo::memoisable(nullptr));
  EXPECT_TRUE(AddrinfoMemo::memoisable("65535"));
  EXPECT_FALSE(AddrinfoMemo::memoisable("https"));
  EXPECT_FALSE(AddrinfoMemo::memoisable(""));
  EXPECT_FALSE(AddrinfoMemo::memoisable("123456"));
  addrinfo* r = nullptr;
  memo_.remember("wiki.corp.example", "https", hints_, state_, answer_, built_);
  EXPECT_EQ(find("wiki.corp.example", "https", state_, &r), -1);
  answer_.ttl = 0;
  memo_.remember("zero.corp.example", "443", hints_, state_, answer_, built_);
  EXPECT_EQ(find("zero.corp.example", "443", state_, &r), -1);
}

TEST_F(AddrinfoMemoTest, KeepsTheNewestEntriesAndReplacesItsOwn) {
  addrinfo* r = nullptr;
  // A newer answer for the same arguments replaces the entry.
  addrinfo* newer = listOf({"10.8.0.5"});
  memo_.remember("wiki.corp.example", "443", hints_, state_, answer_, newer);
  freeaddrinfo(newer);
  ASSERT_EQ(find("wiki.corp.example", "443", state_, &r), 0);
  EXPECT_EQ(addressesOf(r), std::vector<std::string>{"10.8.0.5"});
  EXPECT_EQ(r->ai_canonname, nullptr);
  freeaddrinfo(r);
  // As many other names as entries push it out.
  for (size_t i = 0; i < AddrinfoMemo::kEntries; ++i)
    memo_.remember(("n" + std::to_string(i) + ".example").c_str(), "443", hints_, state_,
                   answer_, built_);
  EXPECT_EQ(find("wiki.corp.example", "443", state_, &r), -1);
  memo_.clear();
  EXPECT_EQ(find("n7.example", "443", state_, &r), -1);
}
