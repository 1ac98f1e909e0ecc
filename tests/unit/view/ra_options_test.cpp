// The router advertisement parser (mif/view/ra_options.h): RFC 8801's PvD option laid out
// as section 3.1 draws it, with its nested options, and each way it can be malformed.
#include "mif/view/ra_options.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace mif::view::ra {
namespace {

using Buf = std::vector<uint8_t>;

void put16(Buf& b, unsigned v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Buf& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
void putAddr(Buf& b, const char* a, size_t n = 16) {
  uint8_t x[16];
  inet_pton(AF_INET6, a, x);
  b.insert(b.end(), x, x + n);
}
Buf wire(const std::string& name) {
  Buf b;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    b.push_back(static_cast<uint8_t>(dot - start));
    b.insert(b.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  b.push_back(0);
  return b;
}
// Sets the option's length octet from its size (padding it with zeros to 8 first).
Buf finish(Buf o) {
  o.resize((o.size() + 7) / 8 * 8, 0);
  o[1] = static_cast<uint8_t>(o.size() / 8);
  return o;
}

Buf pio(const char* prefix, unsigned len, uint32_t valid, uint32_t preferred, uint8_t flags = 0xc0) {
  Buf o{kPrefixInfo, 4, static_cast<uint8_t>(len), flags};
  put32(o, valid);
  put32(o, preferred);
  put32(o, 0);
  putAddr(o, prefix);
  return o;
}
Buf rdnss(uint32_t life, std::vector<const char*> servers) {
  Buf o{kRdnss, 0, 0, 0};
  put32(o, life);
  for (auto s : servers) putAddr(o, s);
  return finish(o);
}
Buf dnssl(uint32_t life, std::vector<std::string> names) {
  Buf o{kDnssl, 0, 0, 0};
  put32(o, life);
  for (auto& n : names) {
    Buf w = wire(n);
    o.insert(o.end(), w.begin(), w.end());
  }
  return finish(o);
}
Buf pref64(uint32_t life, unsigned plc, const char* prefix) {
  Buf o{kPref64, 2};
  put16(o, (life / 8) << 3 | plc);
  putAddr(o, prefix, 12);
  return o;
}
Buf rio(const char* prefix, unsigned plen, unsigned len, uint32_t life, unsigned prf = 0) {
  Buf o{kRouteInfo, static_cast<uint8_t>(len), static_cast<uint8_t>(plen),
        static_cast<uint8_t>(prf << 3)};
  put32(o, life);
  uint8_t a[16];
  inet_pton(AF_INET6, prefix, a);
  o.insert(o.end(), a, a + (len - 1) * 8);
  return o;
}
Buf mtu(uint32_t m) {
  Buf o{kMtu, 1, 0, 0};
  put32(o, m);
  return o;
}

// RFC 8801 3.1: Type, Length, H|L|R|Reserved(9)|Delay(4), Sequence, PvD ID FQDN, padding,
// an RA header if R, then the nested options.
Buf pvd(const std::string& id, unsigned flags, unsigned seq, std::vector<Buf> nested,
        bool withHeader = false) {
  Buf o{kPvd, 0};
  put16(o, flags);
  put16(o, seq);
  Buf w = wire(id);
  o.insert(o.end(), w.begin(), w.end());
  o.resize((o.size() + 7) / 8 * 8, 0);
  if (withHeader) {
    Buf h{134, 0, 0, 0, 64, 0x08};  // hop limit 64, preference high
    put16(h, 900);
    put32(h, 30000);
    put32(h, 1000);
    o.insert(o.end(), h.begin(), h.end());
  }
  for (auto& n : nested) o.insert(o.end(), n.begin(), n.end());
  o[1] = static_cast<uint8_t>(o.size() / 8);
  return o;
}

Buf advert(std::vector<Buf> opts, uint16_t lifetime = 1800) {
  Buf m{134, 0, 0, 0, 64, 0};
  put16(m, lifetime);
  put32(m, 0);
  put32(m, 0);
  for (auto& o : opts) m.insert(m.end(), o.begin(), o.end());
  return m;
}

std::string str(const policy::Prefix& p) { return p.toString(); }

TEST(RaOptions, PvdOptionAsRfc8801LaysItOut) {
  Buf o = pvd("Corp.Example.COM", 0x8000 | 0x4000 | 3, 7,
              {pio("2001:db8:a::", 64, 3600, 1800), rdnss(600, {"2001:db8:a::53"}),
               dnssl(600, {"corp.example"}), pref64(1800, 0, "64:ff9b::"),
               rio("2001:db8:100::", 48, 2, 900, 1), mtu(1400)});
  PvdOption p;
  std::string why;
  ASSERT_TRUE(parsePvdOption(o, p, why)) << why;
  EXPECT_EQ(p.id, "corp.example.com");
  EXPECT_TRUE(p.http);
  EXPECT_TRUE(p.legacy);
  EXPECT_EQ(p.delay, 3);
  EXPECT_EQ(p.sequence, 7);
  EXPECT_FALSE(p.header);
  ASSERT_EQ(p.options.prefixes.size(), 1u);
  EXPECT_EQ(str(p.options.prefixes[0].prefix), "2001:db8:a::/64");
  EXPECT_TRUE(p.options.prefixes[0].autonomous);
  EXPECT_TRUE(p.options.prefixes[0].onLink);
  EXPECT_EQ(p.options.prefixes[0].validLifetime, 3600u);
  EXPECT_EQ(p.options.prefixes[0].preferredLifetime, 1800u);
  ASSERT_EQ(p.options.rdnss.size(), 1u);
  EXPECT_EQ(p.options.rdnss[0].servers.at(0).toString(), "2001:db8:a::53");
  EXPECT_EQ(p.options.rdnss[0].lifetime, 600u);
  ASSERT_EQ(p.options.dnssl.size(), 1u);
  EXPECT_EQ(p.options.dnssl[0].domains, std::vector<std::string>{"corp.example"});
  ASSERT_EQ(p.options.pref64.size(), 1u);
  EXPECT_EQ(str(p.options.pref64[0].prefix), "64:ff9b::/96");
  EXPECT_EQ(p.options.pref64[0].lifetime, 1800u);
  ASSERT_EQ(p.options.routes.size(), 1u);
  EXPECT_EQ(str(p.options.routes[0].prefix), "2001:db8:100::/48");
  EXPECT_EQ(p.options.routes[0].preference, 1);
  EXPECT_EQ(p.options.mtu, 1400u);
}

TEST(RaOptions, RFlagCarriesAnAdvertisementHeader) {
  PvdOption p;
  std::string why;
  ASSERT_TRUE(parsePvdOption(pvd("b.example", 0x2000, 1, {mtu(1500)}, true), p, why)) << why;
  ASSERT_TRUE(p.header);
  EXPECT_EQ(p.header->curHopLimit, 64);
  EXPECT_EQ(p.header->routerLifetime, 900);
  EXPECT_EQ(p.header->reachableTime, 30000u);
  EXPECT_EQ(p.header->retransTimer, 1000u);
  EXPECT_EQ(p.header->preference, 1);
  EXPECT_EQ(p.options.mtu, 1500u);
}

TEST(RaOptions, AdvertisementSeparatesItsOwnOptionsFromThePvds) {
  Buf m = advert({rdnss(300, {"2001:db8::53"}),
                  pvd("a.example", 0, 2, {pio("2001:db8:1::", 64, 600, 300)})},
                 1200);
  Advertisement a;
  std::string why;
  ASSERT_TRUE(parseAdvertisement(m, a, why)) << why;
  EXPECT_EQ(a.header.routerLifetime, 1200);
  EXPECT_EQ(a.options.rdnss.size(), 1u);
  EXPECT_TRUE(a.options.prefixes.empty());
  ASSERT_TRUE(a.pvd);
  EXPECT_EQ(a.pvd->id, "a.example");
  EXPECT_EQ(a.pvd->options.prefixes.size(), 1u);
  EXPECT_TRUE(a.pvd->options.rdnss.empty());
  EXPECT_TRUE(a.rejected.empty());
}

// Each malformed PvD option is rejected whole, with a reason that says what is wrong.
struct Bad {
  const char* name;
  Buf option;
  const char* reason;  // a part of the reason given
};

std::vector<Bad> badPvds() {
  std::vector<Bad> v;
  Buf o = pvd("a.example", 0, 1, {});
  Buf t = o;
  t[1] = 0;
  v.push_back({"length 0", t, "own length"});
  t = o;
  t[1] = 5;
  v.push_back({"length past the bytes", t, "own length"});
  t = {kPvd, 1, 0, 0, 0, 1, 0, 0};  // the root name
  v.push_back({"root name", t, "root name"});
  t = {kPvd, 1, 0, 0, 0, 1, 0xc0, 0x0c};
  v.push_back({"compressed name", t, "compressed"});
  t = {kPvd, 1, 0, 0, 0, 1, 9, 'a'};
  v.push_back({"label past the option", t, "past the option"});
  t = {kPvd, 2, 0, 0, 0, 1, 3, 'a', 'b', 'c', 3, 'd', 'e', 'f', 1, 'x'};  // no root label
  v.push_back({"name without its root label", t, "past the option"});
  Buf longLabel{kPvd, 0, 0, 0, 0, 1, 64};
  longLabel.insert(longLabel.end(), 64, 'a');
  longLabel.push_back(0);
  v.push_back({"label of 64 octets", finish(longLabel), "label of 64"});
  std::string big;
  for (int i = 0; i < 5; ++i) big += std::string(60, 'a' + i) + ".";
  big += "example";  // 5*61 + 8 + 1 = 314 octets
  v.push_back({"name over 255 octets", pvd(big, 0, 1, {}), "longer than 255"});
  Buf ctl = pvd("a.example", 0, 1, {});
  ctl[7] = '\n';
  v.push_back({"control byte in a label", ctl, "other than a letter"});
  Buf slash = pvd("a.example", 0, 1, {});
  slash[7] = '/';
  v.push_back({"slash in a label", slash, "other than a letter"});
  v.push_back({"R without room for the header", pvd("a.example", 0x2000, 1, {}),
               "no room for an advertisement header"});
  Buf nested = pvd("a.example", 0, 1, {pio("2001:db8::", 64, 10, 10)});
  nested[25] = 9;  // the PIO (at octet 24) says 72 octets
  v.push_back({"nested option past the PvD option", nested, "runs past the end"});
  nested[25] = 0;
  v.push_back({"nested option of length 0", nested, "length 0"});
  v.push_back({"a PvD option in a PvD option",
               pvd("a.example", 0, 1, {pvd("b.example", 0, 1, {})}), "nested in it"});
  v.push_back({"nested PIO of length 3",
               pvd("a.example", 0, 1, {finish(Buf{kPrefixInfo, 3, 64, 0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})}),
               "PIO: length 3"});
  v.push_back({"nested PIO prefix length 129",
               pvd("a.example", 0, 1, {pio("2001:db8::", 129, 10, 10)}), "prefix length 129"});
  v.push_back({"nested PIO preferred beyond valid",
               pvd("a.example", 0, 1, {pio("2001:db8::", 64, 10, 20)}), "preferred lifetime"});
  Buf evenRdnss = rdnss(60, {"2001:db8::1"});
  evenRdnss.resize(16);
  evenRdnss[1] = 2;
  v.push_back({"nested RDNSS of length 2", pvd("a.example", 0, 1, {evenRdnss}),
               "RDNSS: length 2"});
  Buf badDnssl = dnssl(60, {"corp.example"});
  badDnssl[8] = 40;  // the first label runs past the option
  v.push_back({"nested DNSSL label past the option", pvd("a.example", 0, 1, {badDnssl}),
               "DNSSL: name runs past"});
  Buf longPref = pref64(600, 0, "64:ff9b::");
  longPref.resize(24, 0);
  longPref[1] = 3;
  v.push_back({"nested PREF64 of length 3", pvd("a.example", 0, 1, {longPref}),
               "PREF64: length 3"});
  v.push_back({"nested PREF64 code 6", pvd("a.example", 0, 1, {pref64(600, 6, "64:ff9b::")}),
               "prefix length code 6"});
  v.push_back({"nested RIO /65 in length 2",
               pvd("a.example", 0, 1, {rio("2001:db8::", 65, 2, 60)}), "RIO: prefix length 65"});
  v.push_back({"nested RIO reserved preference",
               pvd("a.example", 0, 1, {rio("2001:db8::", 48, 2, 60, 2)}), "reserved preference"});
  v.push_back({"nested MTU below 1280", pvd("a.example", 0, 1, {mtu(1000)}), "below"});
  return v;
}

TEST(RaOptions, EachMalformedPvdOptionIsRejectedWithAReason) {
  for (const auto& b : badPvds()) {
    PvdOption p;
    p.id = "untouched";
    std::string why;
    EXPECT_FALSE(parsePvdOption(b.option, p, why)) << b.name;
    EXPECT_NE(why.find(b.reason), std::string::npos) << b.name << ": " << why;
    EXPECT_EQ(p.id, "untouched") << b.name;
  }
}

TEST(RaOptions, AMalformedPvdOptionIsDroppedFromItsAdvertisementWithTheRestKept) {
  for (const auto& b : badPvds()) {
    if (b.option[1] * 8u != b.option.size()) continue;  // cannot be split: see below
    Advertisement a;
    std::string why;
    ASSERT_TRUE(parseAdvertisement(advert({b.option, rdnss(60, {"2001:db8::53"})}), a, why))
        << b.name << ": " << why;
    EXPECT_FALSE(a.pvd) << b.name;
    EXPECT_TRUE(a.pvdMalformed) << b.name;
    ASSERT_EQ(a.rejected.size(), 1u) << b.name;
    EXPECT_NE(a.rejected[0].find("option 21 at octet 16"), std::string::npos) << a.rejected[0];
    EXPECT_EQ(a.options.rdnss.size(), 1u) << b.name;
  }
}

TEST(RaOptions, AnOptionListThatCannotBeSplitInvalidatesTheAdvertisement) {
  std::string why;
  Advertisement a;
  Buf m = advert({pvd("a.example", 0, 1, {})});
  m[17] = 0;
  EXPECT_FALSE(parseAdvertisement(m, a, why));
  EXPECT_NE(why.find("length 0"), std::string::npos) << why;
  m[17] = 40;
  EXPECT_FALSE(parseAdvertisement(m, a, why));
  EXPECT_NE(why.find("runs past the end"), std::string::npos) << why;
  m = advert({});
  m.push_back(kMtu);  // one octet of an option
  EXPECT_FALSE(parseAdvertisement(m, a, why));
  EXPECT_NE(why.find("cut short"), std::string::npos) << why;
  EXPECT_FALSE(parseAdvertisement(Buf(15, 0), a, why));
  Buf rs = advert({});
  rs[0] = 133;
  EXPECT_FALSE(parseAdvertisement(rs, a, why));
  EXPECT_NE(why.find("not a router advertisement"), std::string::npos);
}

TEST(RaOptions, OnlyOnePvdOptionPerAdvertisement) {
  Advertisement a;
  std::string why;
  ASSERT_TRUE(parseAdvertisement(
      advert({pvd("a.example", 0, 1, {}), pvd("b.example", 0, 1, {})}), a, why));
  ASSERT_TRUE(a.pvd);
  EXPECT_EQ(a.pvd->id, "a.example");
  ASSERT_EQ(a.rejected.size(), 1u);
  EXPECT_NE(a.rejected[0].find("a second PvD option"), std::string::npos);
}

TEST(RaOptions, UnknownNestedOptionsAreSkipped) {
  PvdOption p;
  std::string why;
  Buf unknown{200, 1, 1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(parsePvdOption(pvd("a.example", 0, 1, {unknown, mtu(1280)}), p, why)) << why;
  EXPECT_EQ(p.options.mtu, 1280u);
}

TEST(RaOptions, PrefixesHaveTheirHostBitsCleared) {
  Options o;
  std::string why;
  ASSERT_TRUE(parseOption(pio("2001:db8:1:2:3::1", 48, 10, 10), o, why)) << why;
  ASSERT_TRUE(parseOption(rio("2001:db8:ffff:ffff::", 33, 2, 10), o, why)) << why;
  ASSERT_TRUE(parseOption(pref64(8, 5, "2001:db8:ffff::"), o, why)) << why;
  EXPECT_EQ(str(o.prefixes.at(0).prefix), "2001:db8:1::/48");
  EXPECT_EQ(str(o.routes.at(0).prefix), "2001:db8:8000::/33");
  EXPECT_EQ(str(o.pref64.at(0).prefix), "2001:db8::/32");
}

TEST(RaOptions, WireNameRules) {
  std::string why;
  size_t used = 0;
  Buf w = wire("Www.Example");
  auto n = wireName(w, used, why);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, "www.example");
  EXPECT_EQ(used, w.size());
  Buf root{0};
  n = wireName(root, used, why);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, "");
  Buf empty;
  EXPECT_FALSE(wireName(empty, used, why));
  Buf dot{3, 'a', '.', 'b', 0};
  EXPECT_FALSE(wireName(dot, used, why));
}

}  // namespace
}  // namespace mif::view::ra
