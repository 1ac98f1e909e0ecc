// Small formatting helpers of the model: diagnostics, source references, layer and step
// names. Kept apart from the loader so the hot-path library users (preload) do not pull
// the TOML parser in just to print a rule's location.
#include "mif/policy/diagnostic.h"

#include <cstdio>

#include "mif/policy/json.h"
#include "mif/policy/model.h"
#include "mif/policy/policy.h"

namespace mif::policy {
namespace {

const char* severityName(Severity s) { return s == Severity::Error ? "error" : "warning"; }

}  // namespace

std::string jsonString(std::string_view s) { return json::quote(s); }

std::string Diagnostic::format() const {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (line != 0) {
    out += ':' + std::to_string(line);
    if (column != 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  out += severityName(severity);
  out += ": ";
  out += message;
  return out;
}

std::string Diagnostic::toJson() const {
  std::string out;
  json::StringSink sink(&out);
  json::Object<json::StringSink> o(sink);
  o.str("file", file).unum("line", line).unum("column", column);
  o.str("severity", severityName(severity)).str("message", message);
  o.close();
  return out;
}

bool hasErrors(const std::vector<Diagnostic>& ds) {
  for (const auto& d : ds)
    if (d.severity == Severity::Error) return true;
  return false;
}

const char* layerName(Layer l) {
  switch (l) {
    case Layer::System: return "system";
    case Layer::User: return "user";
    case Layer::CommandLine: return "command line";
  }
  return "?";
}

std::string SourceRef::toString() const {
  if (line == 0) return file.empty() ? std::string("command line") : file.str();
  return file.str() + ":" + std::to_string(line);
}

int stepNumber(Step s) {
  switch (s) {
    case Step::Locked: return 1;
    case Step::StrictPin: return 2;
    case Step::Rule: return 3;
    case Step::DnsTag: return 4;
    case Step::PvdDomain:
    case Step::PvdPrefix: return 5;
    case Step::Pin:
    case Step::Default: return 6;
    case Step::None: return 7;
  }
  return 7;
}

const char* stepName(Step s) {
  switch (s) {
    case Step::Locked: return "locked rule";
    case Step::StrictPin: return "strict pin";
    case Step::Rule: return "rule";
    case Step::DnsTag: return "DNS tag";
    case Step::PvdDomain: return "PvD domain";
    case Step::PvdPrefix: return "PvD prefix";
    case Step::Pin: return "pin";
    case Step::Default: return "default";
    case Step::None: return "none";
  }
  return "?";
}

}  // namespace mif::policy
