#pragma once
// Shared by the socket-path end-to-end tests (e2e_socket_*.cpp).
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "lab.h"

namespace mif::e2e::sock {

// The built-in topology under a name of its own ("sock-<name>"), so these tests never
// share namespaces with another suite's lab of the same topology running at the same time.
inline std::string privateTopology(const std::string& builtin) {
  std::ifstream in(std::string(MIF_SOURCE_DIR) + "/tools/lab/topologies/" + builtin + ".toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string key = "name = \"" + builtin + "\"";
  if (auto at = text.find(key); at != std::string::npos) {
    text.replace(at, key.size(), "name = \"sock-" + builtin + "\"");
  }
  const std::string path = "/tmp/mifpre-sock-" + builtin + ".toml";
  std::ofstream(path) << text;
  return path;
}

inline std::vector<std::string> outputLines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    if (nl > start) out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace mif::e2e::sock
