// `mif check [--json] FILE...`: validates policy files. Each FILE is judged against the
// layers it would be merged with (DESIGN.md: references are checked against the merged
// layers), so a user rule may name a PvD only the system policy defines.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "mif/policy/layers.h"
#include "mif/policy/loader.h"
#include "mif/policy/policy.h"

namespace mif::cmd {
namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: mif check [--json] [--layer system|user|command-line]\n"
               "                 [--system-policy FILE] [--user-policy FILE] FILE...\n\n"
               "Validates policy files: syntax, keys, types, values, and every PvD a rule\n"
               "names, checked against the layers FILE is merged with. Prints one line per\n"
               "problem, FILE:LINE:COL: error: MESSAGE (or warning:).\n\n"
               "  --json                  the problems as a JSON array of objects\n"
               "  --layer LAYER           the layer FILE is checked as; by default the system\n"
               "                          layer for %s, the user layer for the\n"
               "                          user's policy file, else the command-line layer\n"
               "                          (as with `mif run --policy FILE`)\n"
               "  --system-policy FILE    the system layer to merge with (default %s;\n"
               "                          \"\" for none)\n"
               "  --user-policy FILE      the user layer to merge with (default\n"
               "                          $XDG_CONFIG_HOME/mif/policy.toml; \"\" for none)\n\n"
               "Inside 'mif lab exec NAME' (MIF_LAB_POLICY set), FILE may be left out: the\n"
               "lab's policy is checked, as the command-line layer the other commands use\n"
               "there, against the system and user layers.\n\n"
               "Exit status: 0 when every FILE is valid (warnings allowed), 1 when not,\n"
               "2 on a usage error.\n",
               policy::systemPolicyPath().c_str(), policy::systemPolicyPath().c_str());
}

bool samePath(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  std::error_code ec;
  if (std::filesystem::equivalent(a, b, ec)) return true;
  return a == b;
}

// FILE's problems: its own (load) and those found merging it with the context layers.
std::vector<policy::Diagnostic> checkFile(const std::string& file, policy::Layer layer,
                                          const policy::LayerFiles& context, bool quiet) {
  policy::LoadResult own = policy::loadFile(file, layer);
  std::vector<policy::Diagnostic> out = own.diagnostics;
  if (own.diagnostics.size() == 1 && own.diagnostics[0].line == 0) return out;  // unreadable

  // Only the layers below FILE's: a system file is checked on its own, a user file with the
  // system layer, a command-line file with both.
  policy::LayerFiles ctx;
  if (layer != policy::Layer::System && !samePath(context.system, file)) ctx.system = context.system;
  if (layer == policy::Layer::CommandLine && !samePath(context.user, file)) ctx.user = context.user;
  policy::LoadedLayers loaded = policy::loadLayers(ctx);
  std::vector<policy::PolicyDoc> docs;
  if (loaded.ok()) {
    docs = std::move(loaded.docs);
  } else if (!quiet) {
    cli::error("check", file + ": the other layers have errors of their own (see `mif check` "
                               "on them); references checked against FILE alone");
  }
  docs.push_back(std::move(own.doc));
  policy::CompileResult c = policy::Policy::compile(std::move(docs), policy::Pin{});
  for (auto& d : c.diagnostics)
    if (d.file == file) out.push_back(std::move(d));
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  return out;
}

}  // namespace

int check(int argc, char** argv) {
  bool json = false;
  std::optional<policy::Layer> forcedLayer;
  policy::LayerFiles context = policy::LayerFiles::defaults();
  std::vector<std::string> files;
  cli::Args args("check", argc, argv);
  std::string v;
  while (args.next()) {
    const std::string& a = args.arg();
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return cli::kExitOk;
    } else if (a == "--json") {
      json = true;
    } else if (args.value("--layer", &v)) {
      if (v == "system")
        forcedLayer = policy::Layer::System;
      else if (v == "user")
        forcedLayer = policy::Layer::User;
      else if (v == "command-line")
        forcedLayer = policy::Layer::CommandLine;
      else {
        cli::error("check", "--layer '" + v + "': must be system, user or command-line");
        return cli::kExitUsage;
      }
    } else if (args.value("--system-policy", &v)) {
      context.system = v;
    } else if (args.value("--user-policy", &v)) {
      context.user = v;
    } else if (a == "--") {
      for (auto& f : args.rest()) files.push_back(std::move(f));
    } else if (a.size() > 1 && a[0] == '-') {
      cli::error("check", "unknown option '" + a + "' (try 'mif check --help')");
      return cli::kExitUsage;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    // Inside a lab: the command-line layer the other commands use there.
    files = cli::commandLineLayer({});
    if (files.empty()) {
      cli::error("check", "no FILE given (try 'mif check --help')");
      return cli::kExitUsage;
    }
    if (!forcedLayer) forcedLayer = policy::Layer::CommandLine;
    if (!json) std::printf("%s\n", cli::labNote({}).c_str());
  }

  bool anyError = false;
  std::string jsonOut = "[";
  for (const auto& file : files) {
    policy::Layer layer = forcedLayer ? *forcedLayer
                          : samePath(file, context.system) ? policy::Layer::System
                          : samePath(file, context.user)   ? policy::Layer::User
                                                           : policy::Layer::CommandLine;
    auto ds = checkFile(file, layer, context, json);
    bool bad = policy::hasErrors(ds);
    anyError = anyError || bad;
    for (const auto& d : ds) {
      if (json) {
        if (jsonOut.size() > 1) jsonOut += ",";
        jsonOut += "\n  " + d.toJson();
      } else {
        std::printf("%s\n", d.format().c_str());
      }
    }
    if (!json && !bad) std::printf("%s: ok (%s layer)\n", file.c_str(), policy::layerName(layer));
  }
  if (json) std::printf("%s%s]\n", jsonOut.c_str(), jsonOut.size() > 1 ? "\n" : "");
  return anyError ? cli::kExitFailure : cli::kExitOk;
}

}  // namespace mif::cmd
