#pragma once
// One dump of links, addresses and routes (every table, both families) through libnl-3.
#include <string>

#include "mif/view/snapshot.h"

namespace mif::view::detail {

// Fills out.interfaces (sorted by index, each with its addresses) and out.routes.
// False with `why` set when netlink cannot be read; out is then left empty.
bool dumpKernel(Snapshot& out, std::string& why);

}  // namespace mif::view::detail
