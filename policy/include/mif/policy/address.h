#pragma once
// IP addresses and prefixes as the policy engine sees them: plain bytes, no sockaddr.
// The preload library converts sockaddr <-> IpAddress at its edge (policy/ never touches
// libc sockets).
#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace mif::policy {

enum class Family : uint8_t { V4 = 4, V6 = 6 };

struct IpAddress {
  Family family = Family::V4;
  std::array<uint8_t, 16> bytes{};  // network order; an IPv4 address uses bytes[0..3]

  // Parses a dotted quad or an RFC 4291 IPv6 text form (no scope id). nullopt on error.
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

  unsigned bitLength() const { return family == Family::V4 ? 32 : 128; }
  bool bit(unsigned i) const { return (bytes[i / 8] >> (7 - i % 8)) & 1; }
  bool isV4Mapped() const;
  // ::ffff:a.b.c.d -> a.b.c.d; any other address is returned unchanged.
  IpAddress unmapped() const;
  std::string toString() const;

  auto operator<=>(const IpAddress&) const = default;
  // Two words, not a byte-wise memcmp: asked on every connect (Snapshot::ownerOf).
  bool operator==(const IpAddress& o) const noexcept {
    uint64_t a[2], b[2];
    std::memcpy(a, bytes.data(), sizeof a);
    std::memcpy(b, o.bytes.data(), sizeof b);
    return family == o.family && a[0] == b[0] && a[1] == b[1];
  }
};

struct Prefix {
  IpAddress addr;  // host bits cleared
  uint8_t length = 0;

  // Defined below: std::optional<Prefix> needs Prefix complete.
  struct ParseResult;
  // "A/N" or a bare address (full length).
  static ParseResult parse(std::string_view text);

  bool contains(const IpAddress& a) const;
  std::string toString() const;
  auto operator<=>(const Prefix&) const = default;
};

struct Prefix::ParseResult {
  std::optional<Prefix> prefix;
  std::string error;          // why it does not parse, when prefix is empty
  bool hostBitsSet = false;   // "10.0.0.1/8": parsed (bits cleared) but worth a warning
};

}  // namespace mif::policy
