#pragma once
// One entry point per subcommand, each in its own cmd_*.cpp. argv[0] is the subcommand's
// name; each handles its own --help and returns the process exit status.
namespace mif::cmd {
int run(int argc, char** argv);
int show(int argc, char** argv);
int explain(int argc, char** argv);
int check(int argc, char** argv);
int lab(int argc, char** argv);
int probe(int argc, char** argv);
int discover(int argc, char** argv);
}  // namespace mif::cmd
