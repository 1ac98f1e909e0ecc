#pragma once
// A private network namespace per test: created with `ip netns add mifview-PID-N`, entered
// by the test thread with setns() (so `ip` commands run by system() act inside it, and a
// LiveView opened there watches it), left and deleted in TearDown.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "mif/policy/policy.h"

namespace mif::view::test {

// Runs a shell command (in the current thread's namespace); its exit status.
int sh(const std::string& cmd);
// Runs a shell command; its standard output.
std::string capture(const std::string& cmd);
// Compiles a policy from TOML text; fails the test on diagnostics.
std::optional<policy::Policy> compile(const std::string& toml, const policy::Pin& pin = {});

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // sh() that fails the test when the command fails.
  void must(const std::string& cmd);
  // A veth pair A<->B, both up, A with the given addresses ("192.0.2.10/24 2001:db8::1/64";
  // IPv6 added with nodad so it is usable at once).
  void vethPair(const std::string& a, const std::string& b, const std::string& addrs = "");

  std::string name_;
  int original_ = -1;
};

}  // namespace mif::view::test
