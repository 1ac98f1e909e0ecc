#pragma once
// Validation of the names a policy holds (DNS names, interface globs, PvD names) and the
// "did you mean" helper. Private to policy/.
#include <span>
#include <string>
#include <string_view>

namespace mif::policy::detail {

// Linux dev_valid_name(): at most IFNAMSIZ-1 = 15 bytes, no '/', ':' or whitespace,
// not "." or "..".
inline constexpr size_t kIfNameMax = 15;

// Lower-cases and drops one trailing dot. Returns "" with *why set when `text` is not a
// valid DNS name (labels of 1-63 letters, digits, '-' or '_', not starting or ending with
// '-', at most 253 bytes in all).
std::string normalizeDomain(std::string_view text, std::string* why);

// "" when some Linux interface name could match the fnmatch(3) glob; else why not.
std::string globCannotMatchReason(std::string_view glob);

// True when `name` is a valid Linux interface name (for ad hoc PvDs from --pvd).
bool validInterfaceName(std::string_view name);

// PvD names travel in comma-separated lists (MIF_PVD): letters, digits, '_', '-', '.'.
bool validPvdName(std::string_view name);

// The closest candidate within a small edit distance, or "".
std::string suggest(std::string_view word, std::span<const std::string_view> candidates);

// ASCII lower case of `in` into out (capacity outCap); false when it does not fit.
bool lowerInto(std::string_view in, char* out, size_t outCap, size_t* outLen) noexcept;

}  // namespace mif::policy::detail
