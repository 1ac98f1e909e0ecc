#include "cli.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mif/policy/diagnostic.h"
#include "mif/policy/loader.h"
#include "mif/view/snapshot.h"

#include <cstdio>
#include <cstdlib>

namespace mif::cli {

void error(std::string_view what, std::string_view why) {
  std::fprintf(stderr, "mif: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(why.size()), why.data());
}

void error(std::string_view message) {
  std::fprintf(stderr, "mif: %.*s\n", static_cast<int>(message.size()), message.data());
}

bool parseNumber(std::string_view s, long lo, long hi, long* out) {
  if (s.empty() || s.size() > 9) return false;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

std::vector<std::string> splitCommas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool pvdNames(std::string_view value, std::vector<std::string>* out) {
  std::vector<std::string> names = splitCommas(value);
  if (names.empty()) return false;
  for (auto& n : names) out->push_back(std::move(n));
  return true;
}

void noPvdNamedError(std::string_view command, std::string_view value) {
  const std::string cmd = command.empty() ? "run" : std::string(command);
  error((command.empty() ? "" : cmd + ": ") + "--pvd '" + std::string(value) + "'",
        "names no PvD (try 'mif " + cmd + " --help')");
}

bool Args::next() {
  if (i_ + 1 >= argc_) return false;
  arg_ = argv_[++i_];
  return true;
}

bool Args::value(std::string_view opt, std::string* out) {
  if (arg_.size() > opt.size() && arg_.compare(0, opt.size(), opt) == 0 && arg_[opt.size()] == '=') {
    *out = arg_.substr(opt.size() + 1);
    return true;
  }
  if (arg_ != opt) return false;
  if (i_ + 1 >= argc_) {
    error(command_ + ": " + std::string(opt), "needs a value (try 'mif " + command_ + " --help')");
    std::exit(kExitUsage);
  }
  *out = argv_[++i_];
  return true;
}

std::vector<std::string> Args::rest() {
  std::vector<std::string> out(argv_ + i_ + 1, argv_ + argc_);
  i_ = argc_;
  return out;
}

bool pvdSelectionOption(Args& args, PvdSelection* sel) {
  std::string v;
  if (args.value("--policy", &v)) {
    sel->policyFiles.push_back(v);
  } else if (args.value("--pvd", &v)) {
    if (!pvdNames(v, &sel->pin.pvds)) {
      noPvdNamedError(args.command(), v);
      std::exit(kExitUsage);
    }
  } else if (args.value("--dns", &v)) {
    for (const std::string& one : splitCommas(v)) {  // repeated or comma-separated, as mif run's
      auto addr = policy::IpAddress::parse(one);
      if (!addr) {
        error(args.command() + ": --dns " + one, "not an IP address");
        std::exit(kExitUsage);
      }
      sel->pin.dns.push_back(addr->unmapped());
    }
  } else {
    return false;
  }
  return true;
}

std::optional<policy::Policy> compileLayers(std::string_view command, const std::vector<std::string>& given,
                                            const policy::Pin& pin) {
  const std::vector<std::string> policyFiles = commandLineLayer(given);
  for (const auto& f : policyFiles) {
    if (std::string why = unreadablePolicy(f, given); !why.empty()) {
      error(std::string(command) + ": " + policyArgName(f, given), why);
      return std::nullopt;
    }
  }
  std::vector<policy::PolicyDoc> layers;
  std::vector<policy::Diagnostic> diags;
  auto load = [&](const std::string& path, policy::Layer layer) {
    auto r = policy::loadFile(path, layer);
    diags.insert(diags.end(), r.diagnostics.begin(), r.diagnostics.end());
    layers.push_back(std::move(r.doc));
  };
  if (::access(policy::systemPolicyPath().c_str(), F_OK) == 0)
    load(policy::systemPolicyPath(), policy::Layer::System);
  if (auto user = policy::userPolicyPath(); !user.empty() && ::access(user.c_str(), F_OK) == 0)
    load(user, policy::Layer::User);
  for (const auto& f : policyFiles) load(f, policy::Layer::CommandLine);
  auto compiled = policy::Policy::compile(std::move(layers), pin);
  diags.insert(diags.end(), compiled.diagnostics.begin(), compiled.diagnostics.end());
  for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!compiled.policy || policy::hasErrors(diags)) {
    error(command, "the policy does not validate (see 'mif check')");
    return std::nullopt;
  }
  return std::move(compiled.policy);
}

std::optional<LabContext> labContext() {
  const char* policy = std::getenv(kLabPolicyEnv);
  if (policy == nullptr || *policy == '\0') return std::nullopt;
  const char* name = std::getenv(kLabEnv);
  return LabContext{name != nullptr ? name : "", policy};
}

std::vector<std::string> commandLineLayer(const std::vector<std::string>& policyFiles) {
  if (!policyFiles.empty()) return policyFiles;
  if (auto lab = labContext()) return {lab->policy};
  return {};
}

bool commandLineFromLab(const std::vector<std::string>& policyFiles) {
  return policyFiles.empty() && labContext().has_value();
}

std::string policyArgName(const std::string& file, const std::vector<std::string>& policyFiles) {
  return std::string(commandLineFromLab(policyFiles) ? kLabPolicyEnv : "--policy") + " " + file;
}

std::string unreadablePolicy(const std::string& file, const std::vector<std::string>& policyFiles) {
  if (::access(file.c_str(), R_OK) == 0) return {};
  std::string why = std::strerror(errno);
  if (commandLineFromLab(policyFiles)) {
    auto lab = labContext();
    why += " (is lab " + (lab->name.empty() ? std::string("?") : lab->name) +
           " still up? 'mif lab status'; --policy FILE uses another policy)";
  }
  return why;
}

namespace {
std::string labFrom() {
  auto lab = labContext();
  return "lab " + (lab && !lab->name.empty() ? lab->name : std::string("?")) + ", " + kLabPolicyEnv;
}
}  // namespace

std::vector<LayerInForce> layersInForce(const std::string& systemFile, const std::string& userFile,
                                        const std::vector<std::string>& policyFiles) {
  std::vector<LayerInForce> out;
  if (!systemFile.empty() && ::access(systemFile.c_str(), F_OK) == 0)
    out.push_back({"system", systemFile, ""});
  if (!userFile.empty() && ::access(userFile.c_str(), F_OK) == 0) out.push_back({"user", userFile, ""});
  const bool fromLab = commandLineFromLab(policyFiles);
  for (const auto& f : commandLineLayer(policyFiles))
    out.push_back({"command line", f, fromLab ? labFrom() : std::string("--policy")});
  return out;
}

std::vector<LayerInForce> layersInForce(const std::vector<std::string>& policyFiles) {
  return layersInForce(policy::systemPolicyPath(), policy::userPolicyPath(), policyFiles);
}

std::string layerText(const LayerInForce& l) {
  return l.layer + ": " + l.file + (l.from.empty() ? "" : " (" + l.from + ")");
}

std::string layersJson(const std::vector<LayerInForce>& layers) {
  std::string out;
  json::StringSink sink(&out);
  json::Array<json::StringSink> a(sink);
  for (const auto& l : layers) {
    JsonObject o(a.element());
    strOrNull(o.str("layer", l.layer).str("file", l.file), "from", l.from);
    o.close();
  }
  a.close();
  return out;
}

std::string knownPvds(const policy::Policy& p, const view::Snapshot* snap) {
  std::string pvds;
  for (const auto& d : p.pvds()) {
    if (d.adHoc) continue;
    pvds += (pvds.empty() ? "" : ", ") + d.name + " (" + d.interfaceGlob + ")";
  }
  std::string out = "PvDs of the policy: " + (pvds.empty() ? std::string("none") : pvds);
  if (snap != nullptr && snap->error.empty()) {
    std::vector<std::string> names;
    for (const auto& i : snap->interfaces) names.push_back(i.name);
    std::sort(names.begin(), names.end());
    std::string ifs;
    for (const auto& n : names) ifs += (ifs.empty() ? "" : ", ") + n;
    out += "; interfaces: " + (ifs.empty() ? std::string("none") : ifs);
  }
  return out;
}

std::string labNote(const std::vector<std::string>& policyFiles) {
  auto lab = labContext();
  if (!lab) return {};
  std::string where = "in lab " + (lab->name.empty() ? std::string("?") : lab->name);
  if (policyFiles.empty()) return where + ": the command-line layer is its policy " + lab->policy;
  return where + ": --policy replaces its policy " + lab->policy;
}

void unknownPvdError(std::string_view what, std::string_view why, const policy::Policy& p,
                     const view::Snapshot* snap, const std::vector<std::string>& policyFiles) {
  error(what, std::string(why) + "; " + knownPvds(p, snap));
  if (std::string note = labNote(policyFiles); !note.empty()) error(note);
}

}  // namespace mif::cli
