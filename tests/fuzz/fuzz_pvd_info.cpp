// libFuzzer: a PvD Additional Information document (RFC 8801 section 4) from the network
// through mif discover's parser and validator (tools/discover/pvd_info.cpp). Whatever the
// bytes, it returns (no crash, no sanitizer report); what it accepts keeps the rules (the
// PvD ID, a future expiry, the announced prefix covered) and survives the published file
// (mif/view/published_pvds.h) byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "discover/pvd_info.h"
#include "mif/view/published_pvds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mif;
  static const std::vector<policy::Prefix> announced = {
      *policy::Prefix::parse("2001:db8:b1::/64").prefix};
  constexpr int64_t kNowUnix = 1796623200, kNowBoot = 1000;
  std::string_view json(reinterpret_cast<const char*>(data), size);
  view::PublishedPvd::Info info;
  std::string why;
  if (!discover::parsePvdInfo(json, "b.example", announced, kNowUnix, kNowBoot, info, why)) {
    if (why.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  if (info.expires <= kNowBoot || info.expiresUtc.empty()) std::abort();
  if (!discover::coversAnnounced(info.prefixes, announced, why)) std::abort();
  view::PublishedPvd p;
  p.id = "b.example";
  p.info = info;
  std::string text = view::formatPublishedPvd(p);
  view::PublishedPvd back;
  if (!view::parsePublishedPvd(text, back, why) || !back.info || back.info->name != info.name ||
      back.info->dnsZones != info.dnsZones || back.info->prefixes != info.prefixes ||
      view::formatPublishedPvd(back) != text)
    std::abort();
  return 0;
}
