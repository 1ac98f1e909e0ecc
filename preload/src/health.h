#pragma once
// Per-PvD health, shared with `mif run --enforce`'s supervisor: mif/view/health.h.
#include "mif/view/health.h"
#include "mif/view/path_error.h"

namespace mif::preload {
using view::HealthChange;
using view::HealthEvent;
using view::HealthState;
using view::HealthTable;
using view::healthName;
using view::healthNowMs;
// Whether a connect's error alone says the path through the PvD is broken.
using view::pathBroken;
}  // namespace mif::preload
