#pragma once
// toml++ 3.3.0 (Debian 12) reaches __builtin_unreachable() when it asks whether some
// non-ASCII code points are whitespace (upstream issues #190 and #295, fixed after 3.3.0;
// found here by the fuzzer, see docs/testing.md): undefined behaviour on a policy file.
// It asks that of a character outside strings, after a backslash, after a line-ending
// backslash, while scanning a bare value... too many places to predict with a lexer of our
// own (a first attempt did, and the fuzzer found a way past it). So toml++ never sees those
// code points: each is replaced by a harmless one of the same UTF-8 length (positions stay
// the same), and where one stood inside a string the file is refused with a hint to write
// it as a \uXXXX escape. In comments they are simply harmless.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mif::policy::detail {

// True for the code points toml++ 3.3.0's whitespace test cannot classify.
bool tomlMisclassifies(char32_t c);

struct Replaced {
  uint32_t line, column;  // 1-based, columns in characters as toml++ counts them
  char32_t codePoint;
};

// True when every byte of text is below 0x80: then defuse() has nothing to replace.
bool isAscii(std::string_view text) noexcept;

// Replaces, in place, every code point toml++ would trip on; returns where they were.
std::vector<Replaced> defuse(std::string& text);

// "U+00E9".
std::string codePointName(char32_t c);

}  // namespace mif::policy::detail
