#pragma once
// What routers announced, kept under /run/mif for programs started after the last
// advertisement (issue 31). The kernel keeps none of the options it hands userspace (RDNSS,
// DNSSL, PREF64, captive portal): a program that was not listening when the router spoke
// learns them only from the next advertisement, often minutes later. So the mif commands
// that hear advertisements write what they heard to one file per network namespace, and
// every live view reads it once, when it is made (a program's first network call), and
// `mif explain`/`mif probe` with each dump.
//
// The rule (docs/architecture.md, "What routers announce"): written only by `mif show`
// (which solicits the routers) and `mif probe` (which records whether a portal is open),
// when they may write /run/mif (root, as the solicitation itself needs CAP_NET_RAW); never
// by the library inside a program, which would need a directory every user can write (and
// so forge another user's DNS servers and NAT64 prefix) and file I/O inside the program's
// calls. Readers take a file only when it is a regular file owned by root or by themselves
// and writable by nobody else. A recorded fact holds only while the kernel still holds the
// default route its router made (protocol ra, via that router's link-local address on that
// interface), and until its own lifetime ends; anything the reading process hears itself
// later replaces it.
//
// The directory is $MIF_RUN_DIR/ra (default /run/mif/ra), beside `mif discover`'s pvds/.
// Format, version 1: text, one record per line, fields separated by one space:
//   mif-ra-state 1
//   KIND IFINDEX IFNAME ROUTER HEARD LIFETIME VALUE [STATE CHECKED]
// KIND: rdnss (VALUE an IPv6 address), dnssl (a domain), pref64 (PREFIX/LEN), captive (the
// portal's URI; STATE captive|open, CHECKED the time `mif probe` looked, or "-"). HEARD
// and CHECKED: CLOCK_BOOTTIME in milliseconds (the same in every process of the boot, and
// counting suspended time as lifetimes do); LIFETIME: seconds from HEARD as announced, or
// "forever"; ROUTER: the router's link-local address, or "-". Lines starting with '#' and
// records of an unknown KIND are skipped; a file whose first line names another version is
// ignored whole. Written whole to a temporary file beside it and renamed over it, mode 0644.
#include <string>

#include "mif/policy/address.h"

namespace mif::view {

inline constexpr int kRaStateVersion = 1;

// DIR/net-INODE, INODE being this process's network namespace's (/proc/self/ns/net): an
// interface index means something only within one namespace; DIR "" is runDir() + "/ra"
// (mif/view/published_pvds.h: $MIF_RUN_DIR, default /run/mif, as `mif discover`'s files).
// "" when it cannot be known.
std::string raStatePath(const std::string& dir = "");

// `mif probe`: records that the portal `uri` announced by `router` on interface `ifindex`
// is open (or still captive), in the state file `path`. False with `why` when the file has
// no such portal or cannot be rewritten.
bool recordPortalCheck(const std::string& path, int ifindex, const policy::IpAddress& router,
                       const std::string& uri, bool open, std::string* why);

}  // namespace mif::view
