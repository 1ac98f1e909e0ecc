#pragma once
// The decision reordering shared with the supervisor lives in mif/view/decision_order.h.
#include "mif/view/decision_order.h"

namespace mif::preload {
using view::keepTagFirst;
using view::moveToEnd;
}  // namespace mif::preload
