#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mif::policy {

enum class Severity : uint8_t { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string file;
  uint32_t line = 0, column = 0;  // 1-based; 0 when unknown
  std::string message;

  // "FILE:LINE:COL: error: MESSAGE" (the `mif check` line format).
  std::string format() const;
  // {"file":..,"line":..,"column":..,"severity":"error","message":..}
  std::string toJson() const;
};

bool hasErrors(const std::vector<Diagnostic>&);

// A JSON string literal (quotes included) with every character that needs it escaped.
std::string jsonString(std::string_view s);

}  // namespace mif::policy
