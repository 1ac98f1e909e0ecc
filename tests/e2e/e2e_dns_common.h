#pragma once
// Shared by the per-PvD DNS end-to-end tests (e2e_dns_*.cpp): a private copy of a
// built-in topology, a policy file, and running a client the way a real host would have
// it: its system resolver (/etc/resolv.conf) is one PvD's server — the situation RFC 6418
// 4.1 describes — set in a private mount namespace inside the lab's node.
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "lab.h"

namespace mifdns::e2e {

// The built-in topology under a name of its own ("dns-<name>"), so these tests never
// share namespaces with another suite's lab of the same topology.
inline std::string privateTopology(const std::string& builtin) {
  return mif::e2e::renamedTopology(builtin, "dns-" + builtin);
}

// A file removed when the test ends.
class TempFile {
 public:
  TempFile(const std::string& stem, const std::string& text) {
    path_ = "/tmp/mifdns-" + stem + "-" + std::to_string(getpid());
    std::ofstream(path_) << text;
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs ARGV in the lab's node with /etc/resolv.conf naming `resolver` (the system
// resolver the host would have). With `policy` non-empty, under `mif run --policy` plus
// `mifArgs`.
inline mif::e2e::CommandResult run(
    const mif::e2e::Lab& lab, const std::string& resolver, const std::string& policy,
    const std::vector<std::string>& mifArgs, const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(20000)) {
  TempFile resolv("resolv", "nameserver " + resolver + "\n");
  std::vector<std::string> cmd = {
      "unshare",
      "-m",
      "sh",
      "-c",
      "mount --make-rprivate / && mount --bind \"$0\" /etc/resolv.conf && shift && exec \"$@\"",
      resolv.path(),
      "x"};
  if (!policy.empty()) {
    cmd.push_back(mif::e2e::mifBinary());
    cmd.push_back("run");
    cmd.push_back("--policy");
    cmd.push_back(policy);
    cmd.insert(cmd.end(), mifArgs.begin(), mifArgs.end());
    cmd.push_back("--");
  }
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  return lab.exec(cmd, mif::e2e::ExecOptions().within(timeout));
}

// The small libresolv client built with the unit tests (res_query / res_search).
inline std::string resQueryProgram() { return std::string(MIF_BIN_DIR) + "/mifdns_res_query"; }

}  // namespace mifdns::e2e
