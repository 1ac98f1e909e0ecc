#pragma once
// One dump of links, addresses and routes (every table, both families) through libnl-3.
#include <string>

#include "mif/view/snapshot.h"

namespace mif::view::detail {

// Fills out.interfaces (sorted by index, each with its addresses) and out.routes.
// False with `why` set when netlink cannot be read; out is then left empty.
bool dumpKernel(Snapshot& out, std::string& why);

// One message of a dump (RTM_NEWLINK, RTM_NEWADDR or RTM_NEWROUTE, `len` bytes from its
// nlmsghdr), parsed into `out` by the same code as dumpKernel: links appended to
// out.interfaces, addresses to their interface's list (an unknown index is ignored),
// routes to out.routes. False when the message is malformed or memory ran out. The seam
// for the fuzzer (tests/fuzz/fuzz_view_netlink.cpp): no socket involved.
bool parseDumpMessage(const void* msg, size_t len, Snapshot& out);

}  // namespace mif::view::detail
