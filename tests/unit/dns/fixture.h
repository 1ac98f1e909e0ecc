#pragma once
// The test network: this process's own network namespace (made in main()), loopback up
// with documentation addresses, and DNS servers on loopback addresses: dnsmasq for real
// answers and FakeDns for the failure modes.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mif/policy/address.h"
#include "mif/view/snapshot.h"

namespace mifdns {

// Set by main(): empty when the namespace is ready, else why the tests must skip.
extern std::string gSkipReason;
#define MIFDNS_REQUIRE_NETNS()                                             \
  do {                                                                     \
    if (!mifdns::gSkipReason.empty()) GTEST_SKIP() << mifdns::gSkipReason; \
  } while (0)

// A temporary directory removed at destruction.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
};

// dnsmasq on `listen`:53 with the given extra configuration lines; query log readable.
class Dnsmasq {
 public:
  Dnsmasq(const std::string& listen, const std::vector<std::string>& config);
  ~Dnsmasq();
  std::string log() const;
  // How many queries for `name` (any type) the server logged.
  int queries(const std::string& name) const;
  bool ok() const { return pid_ > 0; }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
};

// A DNS server on `listen`:53 that answers from a table, for the cases dnsmasq cannot
// produce. Runs one thread; counts queries per name.
class FakeDns {
 public:
  enum class Mode { Answer, NxDomain, NoData, ServFail, Drop };
  struct Rule {
    Mode mode = Mode::Answer;
    std::vector<mif::policy::IpAddress> addrs;  // A and AAAA answers
    uint32_t ttl = 60;
    uint32_t soaMinimum = 0;  // 0 = no SOA in negative answers
  };
  explicit FakeDns(const std::string& listen);
  ~FakeDns();
  void set(const std::string& name, Rule r);
  int queries(const std::string& name) const;

 private:
  void serve();
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::map<std::string, Rule> rules_;
  std::map<std::string, int> counts_;
  std::thread thread_;
};

// A view snapshot with one PvD per entry, all on loopback.
struct FakePvd {
  std::vector<std::string> servers;  // addresses on lo
  std::vector<std::string> domains;
  bool up = true;
};
mif::view::Snapshot makeSnapshot(const std::vector<FakePvd>& pvds, uint64_t generation);

// Runs `argv` (optionally in a private mount namespace with `resolvConf` bound onto
// /etc/resolv.conf, and with extra environment), returns its stdout.
std::string runCapture(const std::vector<std::string>& argv, const std::string& resolvConf,
                       const std::vector<std::string>& env, int* status = nullptr);

}  // namespace mifdns
