#include "fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mifdns {

std::string gSkipReason = "not set up";

TempDir::TempDir() {
  char tmpl[] = "/tmp/mifdns-XXXXXX";
  path = mkdtemp(tmpl);
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

Dnsmasq::Dnsmasq(const std::string& listen, const std::vector<std::string>& config) {
  std::string conf = dir_.path + "/dnsmasq.conf";
  {
    std::ofstream f(conf);
    f << "no-resolv\nno-hosts\nbind-interfaces\nlisten-address=" << listen << "\nport=53\n"
      << "log-queries\nlog-facility=" << dir_.path << "/queries.log\n";
    for (const auto& l : config) f << l << "\n";
  }
  pid_ = fork();
  if (pid_ == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execlp("dnsmasq", "dnsmasq", "--keep-in-foreground", ("--conf-file=" + conf).c_str(),
           ("--pid-file=" + dir_.path + "/pid").c_str(), nullptr);
    _exit(127);
  }
  // Ready when it logged its start and its socket answers.
  for (int i = 0; i < 100; ++i) {
    if (log().find("started") != std::string::npos) return;
    usleep(20000);
  }
}

Dnsmasq::~Dnsmasq() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      usleep(10000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string Dnsmasq::log() const {
  std::ifstream f(dir_.path + "/queries.log");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int Dnsmasq::queries(const std::string& name) const {
  std::istringstream in(log());
  std::string line;
  int n = 0;
  while (std::getline(in, line))
    if (line.find("query[") != std::string::npos &&
        line.find(" " + name + " from") != std::string::npos)
      ++n;
  return n;
}

FakeDns::FakeDns(const std::string& listen) {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(53);
  inet_pton(AF_INET, listen.c_str(), &sa.sin_addr);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  thread_ = std::thread([this] { serve(); });
}

FakeDns::~FakeDns() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
}

void FakeDns::set(const std::string& name, Rule r) {
  std::lock_guard l(mutex_);
  rules_[name] = std::move(r);
}

int FakeDns::queries(const std::string& name) const {
  std::lock_guard l(mutex_);
  auto it = counts_.find(name);
  return it == counts_.end() ? 0 : it->second;
}

namespace {
void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(uint8_t(x >> 8));
  v.push_back(uint8_t(x));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, uint16_t(x >> 16));
  put16(v, uint16_t(x));
}
void putName(std::vector<uint8_t>& v, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    v.push_back(uint8_t(dot - start));
    v.insert(v.end(), name.begin() + long(start), name.begin() + long(dot));
    start = dot + 1;
  }
  v.push_back(0);
}
}  // namespace

void FakeDns::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    uint8_t buf[512];
    sockaddr_storage from{};
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 17) continue;
    std::string name;
    size_t i = 12;
    while (i < size_t(n) && buf[i] != 0) {
      if (!name.empty()) name += '.';
      name.append(reinterpret_cast<char*>(buf + i + 1), buf[i]);
      i += buf[i] + 1u;
    }
    if (i + 5 > size_t(n)) continue;
    uint16_t qtype = uint16_t(buf[i + 1] << 8 | buf[i + 2]);
    size_t qend = i + 5;
    for (char& c : name) c = char(tolower(c));
    Rule rule;
    bool known;
    {
      std::lock_guard l(mutex_);
      counts_[name]++;
      auto it = rules_.find(name);
      known = it != rules_.end();
      if (known)
        rule = it->second;
      else
        rule.mode = Mode::NxDomain;
    }
    if (rule.mode == Mode::Drop) continue;
    std::vector<uint8_t> out(buf, buf + qend);
    out[2] = 0x81;  // QR, RD
    int rcode = rule.mode == Mode::NxDomain ? 3 : rule.mode == Mode::ServFail ? 2 : 0;
    out[3] = uint8_t(0x80 | rcode);
    out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
    uint16_t an = 0, ns = 0;
    if (rule.mode == Mode::Answer) {
      for (const auto& a : rule.addrs) {
        bool v4 = a.family == mif::policy::Family::V4;
        if ((qtype == 1 && !v4) || (qtype == 28 && v4) || (qtype != 1 && qtype != 28)) continue;
        out.push_back(0xc0);
        out.push_back(12);
        put16(out, qtype);
        put16(out, 1);
        put32(out, rule.ttl);
        put16(out, v4 ? 4 : 16);
        out.insert(out.end(), a.bytes.begin(), a.bytes.begin() + (v4 ? 4 : 16));
        ++an;
      }
    }
    if (an == 0 && rule.mode != Mode::ServFail && rule.soaMinimum > 0) {
      putName(out, "test");
      put16(out, 6);
      put16(out, 1);
      put32(out, 3600);
      std::vector<uint8_t> rd;
      putName(rd, "ns.test");
      putName(rd, "hostmaster.test");
      put32(rd, 1);
      put32(rd, 3600);
      put32(rd, 600);
      put32(rd, 86400);
      put32(rd, rule.soaMinimum);
      put16(out, uint16_t(rd.size()));
      out.insert(out.end(), rd.begin(), rd.end());
      ++ns;
    }
    out[7] = uint8_t(an);
    out[9] = uint8_t(ns);
    sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
  }
}

mif::view::Snapshot makeSnapshot(const std::vector<FakePvd>& pvds, uint64_t generation) {
  using mif::policy::IpAddress;
  mif::view::Snapshot s;
  s.generation = generation;
  mif::view::Interface lo;
  lo.index = int(if_nametoindex("lo"));
  lo.name = "lo";
  lo.kind = "loopback";
  lo.adminUp = lo.operUp = lo.carrier = true;
  mif::view::Address a4, a6;
  a4.addr = *IpAddress::parse("198.51.100.10");
  a4.prefixLength = 24;
  a6.addr = *IpAddress::parse("2001:db8:1::10");
  a6.prefixLength = 64;
  lo.addresses = {a4, a6};
  s.interfaces.push_back(lo);
  for (size_t i = 0; i < pvds.size(); ++i) {
    mif::view::BoundPvd b;
    b.id = mif::policy::PvdId(i);
    b.ifindex = lo.index;
    b.ifname = "lo";
    b.state.present = true;
    b.state.v4 = b.state.v6 = pvds[i].up;
    b.addresses = {a4.addr, a6.addr};
    for (const auto& sv : pvds[i].servers)
      b.dns.push_back({*IpAddress::parse(sv), 53, mif::view::DnsOrigin::Policy});
    b.domains = pvds[i].domains;
    if (!pvds[i].up) {
      b.state = {};
      b.ifindex = 0;
    }
    s.states.push_back(b.state);
    s.pvds.push_back(b);
  }
  return s;
}

std::string runCapture(const std::vector<std::string>& argv, const std::string& resolvConf,
                       const std::vector<std::string>& env, int* status) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return "";
  pid_t pid = fork();
  if (pid == 0) {
    if (!resolvConf.empty()) {
      if (unshare(CLONE_NEWNS) != 0 ||
          mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          mount(resolvConf.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0)
        _exit(126);
    }
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    dup2(pipefd[1], 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  close(pipefd[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (status) *status = st;
  return out;
}

}  // namespace mifdns

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // Everything below happens in a network namespace of our own: no packet of these tests
  // can reach a real network, and the addresses used exist only here.
  if (geteuid() != 0) {
    mifdns::gSkipReason = "needs root (network namespaces)";
  } else if (unshare(CLONE_NEWNET) != 0) {
    mifdns::gSkipReason = std::string("unshare(CLONE_NEWNET): ") + strerror(errno);
  } else if (system(
                 "ip link set lo up && ip addr add 198.51.100.10/24 dev lo && "
                 "ip -6 addr add 2001:db8:1::10/64 dev lo nodad && ip route add default dev lo && "
                 "ip -6 route add default dev lo") != 0) {
    mifdns::gSkipReason = "could not configure loopback in the test namespace";
  } else if (system("command -v dnsmasq >/dev/null") != 0) {
    mifdns::gSkipReason = "dnsmasq not installed";
  } else {
    mifdns::gSkipReason.clear();
  }
  return RUN_ALL_TESTS();
}
