#pragma once
// One c-ares channel tied to one PvD: its servers, its interface (SO_BINDTODEVICE) and its
// source addresses, driven synchronously with poll() on the caller's thread.
//
// c-ares 1.18 channels are not thread-safe, so each PvD keeps a pool of them: a resolving
// thread takes one for the duration of its queries and gives it back, so concurrent
// resolutions never wait for each other (the pool's mutex is held only to pop and push).
//
// Sockets are made by our own socket functions (ares_set_socket_functions) with raw
// system calls: they never pass through the library's own connect/sendto hooks, they are
// close-on-exec and non-blocking from birth, and each remembers its (st_dev, st_ino) so that
// a program that closed or dup2'd over it (close_range, daemonising) is detected: such a
// channel is abandoned without closing a descriptor that is no longer ours.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "mif/view/snapshot.h"

namespace mif::dns {

struct ChannelConfig {
  std::vector<view::DnsServer> servers;
  std::string ifname;  // "" = no device binding (tests on loopback)
  bool hasSource4 = false, hasSource6 = false;
  policy::IpAddress source4, source6;
  int timeoutMs = 1000;  // first try; c-ares doubles it each round
  int tries = 3;         // rounds over the server list
};

// One query of a batch run together (A and AAAA in parallel).
struct Exchange {
  std::vector<uint8_t> query;
  int status = -1;  // ARES_SUCCESS when `response` holds an answer
  std::vector<uint8_t> response;
};

class Channel {
 public:
  // nullptr with *error set when c-ares cannot make a channel.
  static std::unique_ptr<Channel> create(const ChannelConfig& cfg, std::string* error);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Sends every exchange's query and blocks until all are answered or have failed.
  void run(std::span<Exchange> exchanges);
  // False when a descriptor of ours was taken by the program, or after fork.
  bool stillOurs() const;

  struct Sock {
    int fd;
    dev_t dev;
    ino_t ino;
  };
  struct State;  // public for the c-ares socket callbacks; defined in channel.cpp

 private:
  Channel() = default;
  std::unique_ptr<State> state_;
};

class ChannelPool {
 public:
  explicit ChannelPool(ChannelConfig cfg) : cfg_(std::move(cfg)) {}
  ~ChannelPool();
  std::unique_ptr<Channel> acquire(std::string* error);
  void release(std::unique_ptr<Channel> ch);
  const ChannelConfig& config() const { return cfg_; }

 private:
  ChannelConfig cfg_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Channel>> idle_;
  pid_t pid_ = 0;
};

}  // namespace mif::dns
