// `mif`: dispatches to a subcommand from a {name, handler} table, as ip(8) does.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "cli.h"
#include "commands.h"

namespace {

struct Command {
  const char* name;
  int (*handler)(int, char**);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"run", mif::cmd::run, "run a program with its sockets and names on chosen PvDs"},
    {"show", mif::cmd::show, "show the live provisioning domains and their interfaces"},
    {"explain", mif::cmd::explain, "explain which PvD a name or address would use, and why"},
    {"check", mif::cmd::check, "validate policy files"},
    {"lab", mif::cmd::lab, "build multi-PvD test networks of namespaces"},
    {"probe", mif::cmd::probe, "check each PvD's connectivity by sending traffic through it"},
};

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: mif COMMAND [ARG...]\n"
               "       mif COMMAND --help\n\n"
               "mif runs unmodified programs on hosts attached to several provisioning\n"
               "domains (Wi-Fi, cellular, VPN) so that each socket and each name uses the\n"
               "right one.\n\nCommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return mif::cli::kExitUsage;
  }
  std::string_view verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    usage(stdout);
    return mif::cli::kExitOk;
  }
  if (verb == "--version") {
    std::printf("mif 0.1.0\n");
    return mif::cli::kExitOk;
  }
  for (const auto& c : kCommands) {
    if (verb == c.name) return c.handler(argc - 1, argv + 1);
  }
  mif::cli::error(argv[1], "unknown command (try 'mif --help')");
  return mif::cli::kExitUsage;
}
