#include "cli.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mif/policy/diagnostic.h"
#include "mif/policy/loader.h"

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

std::string jsonString(std::string_view s) { return policy::jsonString(s); }

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
    for (auto& n : splitCommas(v)) sel->pin.pvds.push_back(std::move(n));
  } else if (args.value("--dns", &v)) {
    auto addr = policy::IpAddress::parse(v);
    if (!addr) {
      error(args.command() + ": --dns " + v, "not an IP address");
      std::exit(kExitUsage);
    }
    sel->pin.dns.push_back(addr->unmapped());
  } else {
    return false;
  }
  return true;
}

std::optional<policy::Policy> compileLayers(std::string_view command, const std::vector<std::string>& policyFiles,
                                            const policy::Pin& pin) {
  for (const auto& f : policyFiles) {
    if (::access(f.c_str(), R_OK) != 0) {
      error(std::string(command) + ": --policy " + f, std::strerror(errno));
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

}  // namespace mif::cli
