#include "names.h"

#include "mif/policy/model.h"

#include <algorithm>
#include <vector>

namespace mif::policy::detail {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
// What the kernel refuses in an interface name (dev_valid_name).
bool badIfChar(char c) { return c == '/' || c == ':' || isSpace(c) || c == '\0'; }

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string normalizeDomain(std::string_view text, std::string* why) {
  std::string_view s = text;
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty()) {
    *why = "'" + std::string(text) + "' is not a DNS name (it is empty)";
    return {};
  }
  if (s.size() > 253) {
    *why = "'" + std::string(text) + "' is not a DNS name (longer than 253 characters)";
    return {};
  }
  if (s.size() >= 2 && s[0] == '*' && s[1] == '.') {
    *why = "'" + std::string(text) + "' is not a DNS name; domains match every name under " +
           "them already: write '" + std::string(s.substr(2)) + "'";
    return {};
  }
  std::string out(s.size(), '.');  // the same length: each character lower-cased in place
  size_t labelStart = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      std::string_view label = s.substr(labelStart, i - labelStart);
      if (label.empty()) {
        *why = "'" + std::string(text) + "' is not a DNS name (empty label)";
        return {};
      }
      if (label.size() > 63) {
        *why = "'" + std::string(text) + "' is not a DNS name (a label is longer than 63 characters)";
        return {};
      }
      if (label.front() == '-' || label.back() == '-') {
        *why = "'" + std::string(text) + "' is not a DNS name (a label starts or ends with '-')";
        return {};
      }
      labelStart = i + 1;
      continue;
    }
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) {
      *why = "'" + std::string(text) + "' is not a DNS name (character '" + std::string(1, c) +
             "' is not allowed)";
      return {};
    }
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

std::string globCannotMatchReason(std::string_view glob) {
  if (glob.empty()) return "an empty interface name matches no interface";
  if (glob == "." || glob == "..") return "'" + std::string(glob) + "' is not a valid interface name";
  size_t minLen = 0;
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    if (c == '*') continue;
    if (c == '?') {
      ++minLen;
      continue;
    }
    if (c == '[') {
      // A bracket expression: one character from the set. fnmatch treats a '[' without a
      // closing ']' as a literal.
      size_t j = i + 1;
      bool negate = j < glob.size() && (glob[j] == '!' || glob[j] == '^');
      if (negate) ++j;
      size_t first = j;
      if (j < glob.size() && glob[j] == ']') ++j;
      while (j < glob.size() && glob[j] != ']') ++j;
      if (j < glob.size()) {
        std::string_view set = glob.substr(first, j - first);
        bool anyGood = negate;
        for (size_t k = 0; k < set.size() && !anyGood; ++k) {
          // A range a-b may contain good characters even if its ends are bad.
          if (k + 2 < set.size() && set[k + 1] == '-') {
            if (static_cast<unsigned char>(set[k + 2]) - static_cast<unsigned char>(set[k]) > 1 ||
                !badIfChar(set[k]) || !badIfChar(set[k + 2]))
              anyGood = true;
            k += 2;
          } else if (!badIfChar(set[k])) {
            anyGood = true;
          }
        }
        if (!anyGood)
          return "'" + std::string(glob) + "': the set '" + std::string(glob.substr(i, j - i + 1)) +
                 "' holds only characters an interface name cannot contain";
        ++minLen;
        i = j;
        continue;
      }
    }
    if (c == '\\' && i + 1 < glob.size()) c = glob[++i];
    if (badIfChar(c)) {
      std::string shown = isSpace(c) ? std::string("whitespace") : "'" + std::string(1, c) + "'";
      return "'" + std::string(glob) + "' can never match: interface names cannot contain " + shown;
    }
    ++minLen;
  }
  if (minLen > kIfNameMax)
    return "'" + std::string(glob) + "' can never match: interface names are at most " +
           std::to_string(kIfNameMax) + " characters";
  return {};
}

bool validInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > kIfNameMax || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), badIfChar);
}

bool validPvdName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

std::string suggest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t bestDist = 0;
  for (auto c : candidates) {
    size_t d = editDistance(word, c);
    if (best.empty() || d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  // Close enough to be a typo: at most 2 edits, and fewer than half the word.
  if (best.empty() || bestDist > 2 || bestDist * 2 > std::max(word.size(), best.size()))
    return {};
  return std::string(best);
}

bool lowerInto(std::string_view in, char* out, size_t outCap, size_t* outLen) noexcept {
  if (in.size() > outCap) return false;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  *outLen = in.size();
  return true;
}

}  // namespace mif::policy::detail

namespace mif::policy {
namespace {

struct DscpClass {
  std::string_view name;
  int value;
};
// RFC 2474 (CSn, DF), RFC 2597 (AFxy = 8x + 2y), RFC 3246 (EF), RFC 5865 (VA), RFC 8622 (LE).
constexpr DscpClass kDscpClasses[] = {
    {"CS0", 0},   {"CS1", 8},   {"CS2", 16},  {"CS3", 24},  {"CS4", 32},  {"CS5", 40},
    {"CS6", 48},  {"CS7", 56},  {"AF11", 10}, {"AF12", 12}, {"AF13", 14}, {"AF21", 18},
    {"AF22", 20}, {"AF23", 22}, {"AF31", 26}, {"AF32", 28}, {"AF33", 30}, {"AF41", 34},
    {"AF42", 36}, {"AF43", 38}, {"EF", 46},   {"VA", 44},   {"LE", 1},    {"DF", 0},
};

}  // namespace

int parseDscp(std::string_view text) {
  if (!text.empty() && text.size() <= 2 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int v = 0;
    for (char c : text) v = v * 10 + (c - '0');
    return v <= 63 ? v : -1;
  }
  for (const auto& c : kDscpClasses) {
    if (c.name.size() != text.size()) continue;
    bool same = true;
    for (size_t i = 0; i < text.size() && same; ++i)
      same = (text[i] >= 'a' && text[i] <= 'z' ? static_cast<char>(text[i] - 'a' + 'A') : text[i]) == c.name[i];
    if (same) return c.value;
  }
  return -1;
}

std::string dscpName(int dscp) {
  for (const auto& c : kDscpClasses)
    if (c.value == dscp && c.name != "CS0") return std::string(c.name);
  return std::to_string(dscp);
}

}  // namespace mif::policy
