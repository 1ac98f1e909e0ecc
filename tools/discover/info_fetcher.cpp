#include "discover/info_fetcher.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "discover/pvd_info.h"

namespace mif::discover {
namespace {

constexpr int64_t kFirstRetryMs = 2000;
constexpr int64_t kMaxRetryMs = 600 * 1000;

std::vector<policy::Prefix> announced(const view::PublishedPvd& p) {
  std::vector<policy::Prefix> out;
  for (const auto& x : p.prefixes) out.push_back(x.prefix);
  return out;
}

const view::PublishedPvd* find(const std::vector<view::PublishedPvd>& pvds, const std::string& id) {
  for (const auto& p : pvds)
    if (p.id == id) return &p;
  return nullptr;
}

std::string url(const std::string& id) { return "https://" + id + "/.well-known/pvd"; }

std::mt19937_64& rng() {
  static std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

// A uniformly random time in [from, to] (to >= from).
int64_t between(int64_t from, int64_t to) {
  return from + static_cast<int64_t>(rng()() % static_cast<uint64_t>(to - from + 1));
}

}  // namespace

bool serialGreater(uint16_t a, uint16_t b) {
  // RFC 1982 3.2 with SERIAL_BITS 16: a > b when it is ahead by less than half the space.
  const uint16_t ahead = static_cast<uint16_t>(a - b);
  return ahead != 0 && ahead < 0x8000;
}

int64_t bootMilliseconds() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// The queue between the listener's thread and the fetching thread. The thread holds a
// reference of its own: when the listener stops during a fetch (a slow server, a DNS
// timeout), it is detached rather than waited for, and ends with the process.
struct InfoFetcher::Worker {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<FetchRequest> jobs;
  std::vector<std::pair<FetchRequest, FetchResult>> done;
  bool stop = false, busy = false;
  int event = -1;
  std::thread thread;

  void run(Fetch fetch) {
    std::unique_lock lock(mu);
    for (;;) {
      wake.wait(lock, [&] { return stop || !jobs.empty(); });
      if (stop) return;
      FetchRequest req = std::move(jobs.front());
      jobs.pop_front();
      busy = true;
      lock.unlock();
      FetchResult res = fetch(req);
      lock.lock();
      busy = false;
      done.emplace_back(std::move(req), std::move(res));
      uint64_t one = 1;
      if (::write(event, &one, sizeof one) < 0) {
        // The counter cannot overflow here; nothing else to do.
      }
    }
  }
};

InfoFetcher::InfoFetcher(Fetch fetch, Log log, bool threaded)
    : fetch_(std::move(fetch)), log_(std::move(log)), worker_(std::make_shared<Worker>()) {
  if (!threaded) return;
  worker_->event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  worker_->thread = std::thread([w = worker_, f = fetch_] { w->run(f); });
}

InfoFetcher::~InfoFetcher() {
  if (!worker_->thread.joinable()) return;
  bool busy;
  {
    std::lock_guard lock(worker_->mu);
    worker_->stop = true;
    busy = worker_->busy;
  }
  worker_->wake.notify_all();
  if (busy)
    worker_->thread.detach();
  else
    worker_->thread.join();
  // The eventfd stays open with a detached thread that may still write to it.
  if (!busy && worker_->event >= 0) ::close(worker_->event);
}

int InfoFetcher::fd() const { return worker_->event; }

void InfoFetcher::start(const std::string& id, State& s) {
  s.inFlight = true;
  FetchRequest req{id, s.sequence};
  if (!worker_->thread.joinable()) {
    FetchResult res = fetch_(req);
    worker_->done.emplace_back(std::move(req), std::move(res));
    return;
  }
  {
    std::lock_guard lock(worker_->mu);
    worker_->jobs.push_back(std::move(req));
  }
  worker_->wake.notify_one();
}

bool InfoFetcher::track(const std::vector<view::PublishedPvd>& pvds, int64_t nowMs) {
  bool dropped = false;
  for (auto it = states_.begin(); it != states_.end();) {
    const view::PublishedPvd* p = find(pvds, it->first);
    if (p && p->http) {
      ++it;
    } else {
      dropped |= it->second.info.has_value();
      it = states_.erase(it);
    }
  }
  for (const auto& p : pvds) {
    if (!p.http) continue;
    auto [it, fresh] = states_.try_emplace(p.id);
    State& s = it->second;
    // RFC 8801 4.1: the information changed when the sequence number is greater (serial
    // arithmetic) than the one it was fetched for; a smaller one (an older advertisement,
    // or a router behind the others) changes nothing.
    if (fresh || serialGreater(p.sequence, s.sequence)) {
      if (!fresh)
        log_(p.id + ": sequence " + std::to_string(p.sequence) +
             ": its additional information changed, fetching it again");
      dropped |= s.info.has_value();
      s.info.reset();
      s.sequence = p.sequence;
      s.failures = 0;
      s.refreshMs = INT64_MAX;
      // RFC 8801 4.1: a random wait between 0 and 2^(2 x delay) milliseconds.
      s.dueMs = between(nowMs, nowMs + (int64_t{1} << (2 * std::min<int>(p.delay, 15))));
    }
    std::string why;
    if (s.info && s.info->expires * 1000 <= nowMs) {
      log_(p.id + ": additional information expired at " + s.info->expiresUtc + ", fetching it again");
      s.info.reset();
      s.dueMs = nowMs;
      dropped = true;
    } else if (s.info && !coversAnnounced(s.info->prefixes, announced(p), why)) {
      log_(p.id + ": additional information dropped: " + why + "; fetching it again");
      s.info.reset();
      s.dueMs = nowMs;
      dropped = true;
    }
    // Without information: when due (first, or after a failure); with it, the update kept
    // up to date before it expires (RFC 8801 4.1), the information kept meanwhile.
    if (!s.inFlight && (s.info ? s.refreshMs : s.dueMs) <= nowMs) start(p.id, s);
  }
  return dropped;
}

bool InfoFetcher::collect(const std::vector<view::PublishedPvd>& pvds, int64_t nowMs,
                          int64_t nowUnix) {
  std::vector<std::pair<FetchRequest, FetchResult>> done;
  {
    std::lock_guard lock(worker_->mu);
    done.swap(worker_->done);
    uint64_t count;
    if (worker_->event >= 0 && ::read(worker_->event, &count, sizeof count) < 0) {
      // EAGAIN: nothing was signalled since the last read.
    }
  }
  bool kept = false;
  for (auto& [req, res] : done) {
    auto it = states_.find(req.id);
    if (it == states_.end()) continue;  // gone, or its H flag
    State& s = it->second;
    s.inFlight = false;
    const view::PublishedPvd* p = find(pvds, req.id);
    if (req.sequence != s.sequence || !p) continue;  // for information that changed since
    view::PublishedPvd::Info info;
    std::string why = res.why;
    if (res.ok && !parsePvdInfo(res.body, req.id, announced(*p), nowUnix, nowMs / 1000, info, why))
      why = "refused: " + why;
    else if (res.ok) {
      info.fetched = nowMs / 1000;
      log_(req.id + ": additional information from " + url(req.id) + ": " +
           (info.name.empty() ? std::string("no name") : "name \"" + info.name + "\"") +
           ", expires " + info.expiresUtc);
      // RFC 8801 4.1: retrieved at A, valid until B: updated at a uniformly random time
      // in [A + (B - A) / 2, B].
      const int64_t until = std::max(nowMs, info.expires * 1000);
      s.refreshMs = between(nowMs + (until - nowMs) / 2, until);
      s.info = std::move(info);
      s.failures = 0;
      kept = true;
      continue;
    }
    if (res.abandon) {
      // RFC 8801 4.1: an HTTP status of 400 or more: there is no additional information,
      // until the sequence number says it changed.
      kept |= s.info.has_value();
      s.info.reset();
      s.dueMs = s.refreshMs = INT64_MAX;
      log_(req.id + ": additional information from " + url(req.id) + " not used: " + why +
           " (not asked again until its sequence number changes)");
      continue;
    }
    int64_t wait = std::min(kMaxRetryMs, kFirstRetryMs << std::min(s.failures, 20));
    ++s.failures;
    s.dueMs = nowMs + wait;
    if (s.info) s.refreshMs = nowMs + wait;  // kept until it expires meanwhile
    log_(req.id + ": additional information from " + url(req.id) + " not used: " + why +
         " (again in " + std::to_string(wait / 1000) + " s" +
         (s.info ? std::string(", the one kept expires at ") + s.info->expiresUtc : std::string()) + ")");
  }
  return kept;
}

void InfoFetcher::decorate(std::vector<view::PublishedPvd>& pvds) const {
  for (auto& p : pvds) {
    auto it = states_.find(p.id);
    p.info = it == states_.end() ? std::nullopt : it->second.info;
  }
}

int64_t InfoFetcher::nextDueMs() const {
  int64_t next = INT64_MAX;
  for (const auto& [id, s] : states_) {
    if (s.inFlight) continue;
    next = std::min(next, s.info ? std::min(s.refreshMs, s.info->expires >= INT64_MAX / 1000
                                                              ? INT64_MAX
                                                              : s.info->expires * 1000)
                                 : s.dueMs);
  }
  return next;
}

}  // namespace mif::discover
