#pragma once
// DNS for programs that read /etc/resolv.conf themselves (static binaries, Go's resolver,
// busybox): the child gets a private mount namespace in which /etc/resolv.conf is the
// pinned PvDs' servers and domains.
#include <string>
#include <vector>

#include "mif/policy/policy.h"
#include "mif/view/snapshot.h"

namespace mif::enforce {

// The PvDs whose servers a program should query by default: the command-line pin, else
// [default]. Strict pins list only themselves, so no query goes to another PvD's server.
std::vector<policy::PvdId> resolverPvds(const policy::Policy& policy);

// resolv.conf text: "nameserver" lines for the PvDs' servers in order (at most three, the
// glibc/musl limit; only port 53, the only port the file can name) and one "search" line
// of their domains. "" when none of them has a server. With `stub` (the run's DNS stub,
// dns_stub.h), its address is the one nameserver instead.
std::string renderResolvConf(const view::Snapshot& snap, const std::vector<policy::PvdId>& pvds,
                             const policy::IpAddress* stub = nullptr);

// How many of the PvDs have a server a resolv.conf can name (port 53).
size_t pvdsWithServers(const view::Snapshot& snap, const std::vector<policy::PvdId>& pvds);

// Writes `text` to a new file under $TMPDIR (or /tmp); its path, or "" with errno set.
std::string writeTempFile(const std::string& text);

// In the child, before exec: unshare the mount namespace (mounts made later on the host
// stop propagating only to this program's tree) and bind `file` over /etc/resolv.conf
// (through a symlink too, e.g. systemd-resolved's stub file). 0 or an errno: EPERM
// without CAP_SYS_ADMIN, ENOENT when the host has no /etc/resolv.conf.
int mountResolvConf(const std::string& file) noexcept;

}  // namespace mif::enforce
