#pragma once
// The PvD Additional Information (RFC 8801 section 4): the JSON object a PvD with the H
// flag serves at https://ID/.well-known/pvd. Pure: the document's text, the PvD as it was
// announced and the clocks in; the validated fields (mif/view/published_pvds.h's Info), or
// the reason the document is refused, out. It comes from the network: every document is
// judged, none crashes the listener (fuzz_pvd_info).
//
// Keys (docs/discovery.md): `identifier`, `expires` and `prefixes` are required (RFC 8801
// 4.3); `noInternet` is RFC 8801's optional key; `name`, `metered` and `dnsZones` are the
// informational keys of the drafts before it that servers still send. Other keys are
// ignored (a later document may add some); a known key of the wrong type refuses the
// document.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mif/policy/address.h"
#include "mif/view/published_pvds.h"

namespace mif::discover {

// Larger documents are refused unread (RFC 8801's are a few hundred bytes).
constexpr size_t kMaxPvdInfoBytes = 64 * 1024;
// Deeper nesting is refused before parsing (the keys used are at most 2 deep).
constexpr int kMaxPvdInfoDepth = 16;
// At most this many prefixes and DNS zones are kept.
constexpr size_t kMaxPvdInfoItems = 64;

// Parses `json` and checks it against the PvD `id` announced with the PIO prefixes
// `announced` (RFC 8801 4.4: the identifier is the PvD ID, `expires` is later than
// `nowUnix` (wall-clock seconds), and every announced prefix is covered by one of the
// document's). `expires` is converted to boot seconds with `nowBoot`. False with `why`.
bool parsePvdInfo(std::string_view json, std::string_view id,
                  const std::vector<policy::Prefix>& announced, int64_t nowUnix,
                  int64_t nowBoot, view::PublishedPvd::Info& out, std::string& why);

// True when each prefix of `announced` lies within one of `info`; else false with the
// first that does not in `why`.
bool coversAnnounced(const std::vector<policy::Prefix>& info,
                     const std::vector<policy::Prefix>& announced, std::string& why);

// An RFC 3339 date-time ("2026-12-07T06:00:00Z", "...T06:00:00.5+01:00") as seconds since
// the epoch (fractions dropped); false when it is not one.
bool parseRfc3339(std::string_view text, int64_t& unixSeconds);
// Seconds since the epoch as RFC 3339 UTC ("2026-12-07T06:00:00Z").
std::string formatRfc3339(int64_t unixSeconds);

}  // namespace mif::discover
