#pragma once
// Explicit PvDs (RFC 8801) as `mif discover` publishes them for unprivileged readers: one
// file per PvD under RUN_DIR/pvds/, named by its PvD ID, replaced atomically (written to a
// temporary file in the same directory, then renamed over the old one), removed when the
// PvD ends and when the listener exits. RUN_DIR is $MIF_RUN_DIR, else /run/mif. The format
// is docs/discovery.md's; this file is its one writer and its one reader.
//
// Times are seconds of CLOCK_BOOTTIME (what /proc/uptime counts, suspend included): a
// reader in another process compares them with its own clock_gettime(CLOCK_BOOTTIME); a
// change of the wall clock moves nothing. kForever: the lifetime does not end.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/address.h"

namespace mif::view {

constexpr int kPublishedVersion = 1;
constexpr int64_t kForever = INT64_MAX;

// Where the item came from: the router (its link-local address) on an interface.
struct PublishedOrigin {
  std::string ifname;
  policy::IpAddress router;
  int64_t expires = 0;  // boot seconds, or kForever
};

struct PublishedPvd {
  std::string id;  // the PvD ID (lower case, no trailing dot)
  uint16_t sequence = 0;
  bool http = false, legacy = false;  // H and L
  uint8_t delay = 0;
  // Each router announcing the PvD; `expires`: when the last of what it announced ends.
  struct Router : PublishedOrigin {
    int64_t heard = 0;         // boot seconds of its last advertisement
    int64_t defaultUntil = 0;  // the end of its router lifetime (0: not a default router)
  };
  std::vector<Router> routers;
  struct Prefix : PublishedOrigin {  // PIO; `expires` is the valid lifetime's end
    policy::Prefix prefix;
    int64_t preferred = 0;
    bool onLink = false, autonomous = false;
  };
  std::vector<Prefix> prefixes;
  struct Route : PublishedOrigin {  // RIO
    policy::Prefix prefix;
    int preference = 0;
  };
  std::vector<Route> routes;
  struct Server : PublishedOrigin {  // RDNSS
    policy::IpAddress addr;
  };
  std::vector<Server> dns;
  struct Domain : PublishedOrigin {  // DNSSL
    std::string name;
  };
  std::vector<Domain> domains;
  struct Nat64 : PublishedOrigin {  // PREF64
    policy::Prefix prefix;
  };
  std::vector<Nat64> pref64;
  struct Mtu : PublishedOrigin {
    uint32_t mtu = 0;
  };
  std::vector<Mtu> mtu;
  // The PvD Additional Information (RFC 8801 section 4) that `mif discover` fetched from
  // https://ID/.well-known/pvd through the PvD itself and validated (tools/discover/
  // pvd_info.h): present only while valid, for the sequence number it was fetched for.
  struct Info {
    int64_t expires = 0;          // boot seconds: its `expires`, on this host's clock
    std::string expiresUtc;       // the same as RFC 3339 UTC ("2026-12-07T06:00:00Z")
    int64_t fetched = 0;          // boot seconds
    std::string name;             // "name", a human-readable name ("" when absent)
    bool noInternet = false;      // "noInternet"
    std::optional<bool> metered;  // "metered"
    std::vector<policy::Prefix> prefixes;  // "prefixes"
    std::vector<std::string> dnsZones;     // "dnsZones"
  };
  std::optional<Info> info;
  // When the last of it ends (kForever when something does not end).
  int64_t expires() const;
};

// $MIF_RUN_DIR, else /run/mif.
std::string runDir();
// The directory of the PvD files: runDir() + "/pvds".
std::string publishedPvdDir();
// CLOCK_BOOTTIME in seconds.
int64_t bootSeconds();

// The file's text for `pvd`.
std::string formatPublishedPvd(const PublishedPvd& pvd);
// Reads a file's text; false with `why` ("line 3: ...") when it is not in the format, or
// of a version this reader does not know. Unknown keys are skipped (a newer writer may add
// some without a new version).
bool parsePublishedPvd(std::string_view text, PublishedPvd& out, std::string& why);

// Every PvD published in `dir` (publishedPvdDir() when empty), in file-name order,
// without the items (and routers) that have ended by `now` (bootSeconds() when 0), and
// without a PvD of which nothing is left. A file that cannot be read or parsed is skipped
// with a line in `problems` ("DIR/NAME: line 3: ..."), when given. An absent directory:
// none (the listener is not running).
std::vector<PublishedPvd> readPublishedPvds(const std::string& dir = {}, int64_t now = 0,
                                            std::vector<std::string>* problems = nullptr);

}  // namespace mif::view
