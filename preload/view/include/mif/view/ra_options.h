#pragma once
// Router advertisement options as they arrive from the network: one parser for the options
// the kernel hands the live view (RDNSS, DNSSL, captive portal, PREF64, one at a time, from
// RTNLGRP_ND_USEROPT), for those it keeps to itself (PIO, RIO, MTU), and for the RFC 8801
// PvD option (21) that it neither keeps nor hands over, whose nested options are parsed by
// the same functions. Pure: bytes in, values or a reason out; nothing here reads a socket.
//
// Every length is checked against the bytes actually there before anything is read; a
// malformed option is rejected with a reason ("PREF64: length 3, must be 2") and never
// half-parsed. An option of a type not listed here is skipped.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mif/policy/address.h"

namespace mif::view::ra {

using Bytes = std::span<const uint8_t>;

enum OptionType : uint8_t {
  kPrefixInfo = 3,  // RFC 4861 4.6.2
  kMtu = 5,         // RFC 4861 4.6.4
  kPvd = 21,        // RFC 8801 3
  kRouteInfo = 24,  // RFC 4191 2.3
  kRdnss = 25,      // RFC 8106 5.1
  kDnssl = 31,      // RFC 8106 5.2
  kCaptive = 37,    // RFC 8910 2.3
  kPref64 = 38,     // RFC 8781 4
};

constexpr uint32_t kInfinite = 0xffffffffu;  // a lifetime that does not end

struct Rdnss {
  uint32_t lifetime = 0;
  std::vector<policy::IpAddress> servers;  // at least one
};
struct Dnssl {
  uint32_t lifetime = 0;
  std::vector<std::string> domains;  // lower case, no trailing dot; at least one
};
struct Pref64 {
  uint32_t lifetime = 0;  // seconds (the option's 13-bit count of 8 s units, scaled)
  policy::Prefix prefix;  // /96, /64, /56, /48, /40 or /32, host bits cleared
};
struct PrefixInfo {
  policy::Prefix prefix;  // host bits cleared
  bool onLink = false, autonomous = false;  // L and A
  uint32_t validLifetime = 0, preferredLifetime = 0;
};
struct RouteInfo {
  policy::Prefix prefix;  // host bits cleared
  int preference = 0;     // -1 low, 0 medium, 1 high
  uint32_t lifetime = 0;
};

// The options of one list: an advertisement's own, or those nested in a PvD option.
struct Options {
  std::vector<Rdnss> rdnss;
  std::vector<Dnssl> dnssl;
  std::vector<Pref64> pref64;
  std::vector<std::string> captive;  // portal URIs (printable ASCII)
  std::vector<PrefixInfo> prefixes;
  std::vector<RouteInfo> routes;
  std::optional<uint32_t> mtu;
};

// RFC 4861 4.2: an advertisement's header (also carried inside a PvD option with R set).
struct Header {
  uint8_t curHopLimit = 0;
  bool managed = false, other = false;  // M and O
  int preference = 0;                   // RFC 4191 2.2: -1 low, 0 medium, 1 high
  uint16_t routerLifetime = 0;          // seconds; 0: not a default router
  uint32_t reachableTime = 0, retransTimer = 0;  // milliseconds
};

// RFC 8801 3.1: an explicit PvD, named by an FQDN, with its own options.
struct PvdOption {
  std::string id;  // the PvD ID: lower case, no trailing dot, at least one label
  bool http = false;    // H: additional information at https://<id>/.well-known/pvd
  bool legacy = false;  // L: also the PvD of the link's DHCPv4 configuration
  uint8_t delay = 0;    // 4 bits: wait up to 2^(2*delay) ms before fetching
  uint16_t sequence = 0;
  std::optional<Header> header;  // present when R was set
  Options options;
};

// A whole advertisement (the ICMPv6 message, from its type octet).
struct Advertisement {
  Header header;
  Options options;  // those outside any PvD option: the link's implicit PvD
  std::optional<PvdOption> pvd;  // RFC 8801 3.1: at most one per advertisement
  // A PvD option was there but malformed (its reason is in `rejected`): a listener must
  // not read the advertisement as one without a PvD.
  bool pvdMalformed = false;
  // Options dropped from an otherwise valid advertisement, each with why ("option 3 at
  // octet 24: PIO: prefix length 129").
  std::vector<std::string> rejected;
};

// Splits an option list into options; each span starts at the option's type octet and is
// the option's whole length. nullopt with `why` when an option has length 0 or runs past
// the end (RFC 4861 6.1.2: the whole message is then invalid).
std::optional<std::vector<Bytes>> splitOptions(Bytes list, std::string& why);

// Parses one option (from splitOptions) into `out` when its type is one listed above and
// not the PvD option; false with `why` when it is malformed, `out` then unchanged.
// Unknown types: true, nothing added.
bool parseOption(Bytes option, Options& out, std::string& why);

// Parses a PvD option (type 21). Its nested options go through parseOption; a nested
// option that is malformed, runs past the PvD option, or is itself a PvD option makes
// the whole PvD option invalid.
bool parsePvdOption(Bytes option, PvdOption& out, std::string& why);

// Parses an ICMPv6 router advertisement (type 134, code 0). False with `why` when the
// header or the option list is invalid; a single malformed option is dropped into
// `rejected` instead.
bool parseAdvertisement(Bytes message, Advertisement& out, std::string& why);

// A DNS name in uncompressed wire form (RFC 1035 3.1) at the start of `wire`: labels of
// 1-63 letters, digits, '-' and '_' (host names: a PvD ID is the host of a URL and names
// a file under /run/mif/pvds, a search domain is a suffix of names looked up), at most
// 255 octets in all, ending with
// the root label. Returns the name in lower case and sets `used` to the octets it took;
// nullopt with `why` otherwise (compression pointers included). The root name alone
// gives "".
std::optional<std::string> wireName(Bytes wire, size_t& used, std::string& why);

}  // namespace mif::view::ra
