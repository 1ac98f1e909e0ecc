// `mif`: dispatches to a subcommand from a {name, handler} table, as ip(8) does.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "cli.h"
#include "commands.h"
#include "mif_version.h"

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
    {"discover", mif::cmd::discover, "hear the PvDs routers announce (RFC 8801) and publish them"},
};

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: mif COMMAND [ARG...]\n"
               "       mif COMMAND --help\n"
               "       mif help COMMAND\n"
               "       mif --version\n\n"
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
  // `mif help`, and `mif help --help` (help's own help is this one).
  const std::string_view topic = argc > 2 ? argv[2] : "";
  if (verb == "--help" || verb == "-h" ||
      (verb == "help" && (argc == 2 || topic == "--help" || topic == "-h" || topic == "help"))) {
    usage(stdout);
    return mif::cli::kExitOk;
  }
  if (verb == "help") {  // `mif help COMMAND`: COMMAND's own --help
    for (const auto& c : kCommands) {
      if (std::string_view(argv[2]) == c.name) {
        char* args[] = {const_cast<char*>(c.name), const_cast<char*>("--help"), nullptr};
        return c.handler(2, args);
      }
    }
    mif::cli::error(std::string("help: ") + argv[2], "unknown command (try 'mif --help')");
    return mif::cli::kExitUsage;
  }
  if (verb == "--version") {
    if (*MIF_GIT_DESCRIBE != '\0')
      std::printf("mif %s (git %s)\n", MIF_VERSION, MIF_GIT_DESCRIBE);
    else
      std::printf("mif %s\n", MIF_VERSION);
    return mif::cli::kExitOk;
  }
  for (const auto& c : kCommands) {
    if (verb == c.name) return c.handler(argc - 1, argv + 1);
  }
  mif::cli::error(argv[1], "unknown command (try 'mif --help')");
  return mif::cli::kExitUsage;
}
