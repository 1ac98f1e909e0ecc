#pragma once
// The socket options a program set before connecting that a fresh socket of a failover
// attempt must carry (issue 29): used by the preload library's failover and races and by
// the --enforce supervisor's held connects, which both put a fresh socket in place of the
// program's when the decision's next PvD wins.

namespace mif::view {

// Sets on `to` every carried option whose value on `from` differs from a fresh socket's
// (so nothing the program left at its default is touched). Failures are ignored: an option
// that cannot be set again is one the program could not have set either, or a privileged
// one. `domain`: AF_INET or AF_INET6, both sockets'. No allocation.
void carryOptions(int from, int to, int domain) noexcept;

}  // namespace mif::view
