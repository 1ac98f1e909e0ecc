#pragma once
// The classification of a failed connect (path broken, or refused by the server) lives in
// mif/view/path_error.h, shared with the --enforce supervisor; the library's names for it.
#include "health.h"
#include "mif/view/path_error.h"

namespace mif::preload {

using view::armRecvErr;
using view::disarmRecvErr;
using view::icmpMayGive;
using view::pathBrokenOn;
using view::refusedOnTheWay;

}  // namespace mif::preload
