#pragma once
// When to fetch the PvD Additional Information (RFC 8801 section 4) of the PvDs that
// `mif discover` publishes, and what it keeps of it (RFC 8801 4.1). A PvD with the H flag
// is fetched after a random wait between 0 and 2^(2 x delay) ms (the delay spreads the
// hosts of a link), again after such a wait when its sequence number grows (serial
// arithmetic, RFC 1982: the information changed), and, to keep it up to date, at a
// uniformly random time in the second half of its validity, the old one kept meanwhile;
// a failed or refused fetch is retried after 2 s, doubling up to 10 minutes; an HTTP
// status of 400 or more means there is none, until the sequence number grows. The
// information is kept only for the sequence number it was fetched for, until its
// `expires`, and while it covers every prefix announced.
//
// The fetch itself (https_fetch.h) runs on a worker thread, one at a time, so that
// advertisements keep being heard while a server is slow; it is a seam (Fetch) so that
// the schedule is unit-tested with a fake. Owned and called by the listener's thread
// only; fd() becomes readable when a fetch finished (then collect()).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mif/view/published_pvds.h"

namespace mif::discover {

// CLOCK_BOOTTIME in milliseconds (the published files' clock, finer).
int64_t bootMilliseconds();

struct FetchRequest {
  std::string id;
  uint16_t sequence = 0;
};
struct FetchResult {
  bool ok = false;
  std::string body;  // the document when ok
  std::string why;   // why not, when not
  bool abandon = false;  // not ok with an HTTP status of 400 or more (RFC 8801 4.1)
};

// RFC 1982 serial number arithmetic on 16 bits (RFC 8801's sequence numbers): a is
// greater than b when it is ahead of b by less than 2^15.
bool serialGreater(uint16_t a, uint16_t b);

class InfoFetcher {
 public:
  using Fetch = std::function<FetchResult(const FetchRequest&)>;
  using Log = std::function<void(const std::string&)>;
  // `threaded` false: the fetch runs inside track() (unit tests).
  InfoFetcher(Fetch fetch, Log log, bool threaded = true);
  ~InfoFetcher();
  InfoFetcher(const InfoFetcher&) = delete;
  InfoFetcher& operator=(const InfoFetcher&) = delete;

  // The PvDs as published now (boot milliseconds `nowMs`): starts the fetches that are
  // due and forgets the PvDs that are gone or lost their H flag. True when the information
  // of some PvD was dropped (a new sequence number, expiry, a prefix no longer covered).
  bool track(const std::vector<view::PublishedPvd>& pvds, int64_t nowMs);
  // Takes the finished fetches: validates each document (pvd_info.h) against the PvD as
  // published and keeps or refuses it, with a log line. True when what is kept changed.
  // `nowUnix`: the wall clock (seconds), for `expires`.
  bool collect(const std::vector<view::PublishedPvd>& pvds, int64_t nowMs, int64_t nowUnix);
  // Sets each PvD's `info` to what is kept for it.
  void decorate(std::vector<view::PublishedPvd>& pvds) const;
  // When track() next has something to do (boot milliseconds; INT64_MAX: never).
  int64_t nextDueMs() const;
  // Readable when a fetch finished (-1 when not threaded).
  int fd() const;

 private:
  struct State {
    uint16_t sequence = 0;
    int64_t dueMs = 0;
    int64_t refreshMs = INT64_MAX;  // the update of the information kept (RFC 8801 4.1)
    int failures = 0;
    bool inFlight = false;
    std::optional<view::PublishedPvd::Info> info;
  };
  struct Worker;
  void start(const std::string& id, State& s);
  Fetch fetch_;
  Log log_;
  std::map<std::string, State> states_;
  std::shared_ptr<Worker> worker_;  // shared with its thread
};

}  // namespace mif::discover
