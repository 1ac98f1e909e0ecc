#pragma once
// The one monotonic microsecond clock of the connect attempts (failover, the race, the
// non-blocking race's waits) and of the resolver's trace timings: CLOCK_MONOTONIC through
// the vDSO, no system call. health.h has the coarse millisecond clock health is kept in.
#include <time.h>

#include <cstdint>

namespace mif::preload {

inline int64_t monotonicUs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace mif::preload
