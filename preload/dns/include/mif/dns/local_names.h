#pragma once
// Names mif never resolves itself, so glibc's behaviour stays exactly glibc's: numeric
// hosts, `localhost`, names and addresses in /etc/hosts, and names glibc refuses to send
// to DNS at all (res_hnok). For those the hooks call the real libc function.
#include <string_view>

#include "mif/policy/address.h"

namespace mif::dns {

// An address glibc's getaddrinfo parses without any lookup: an exact inet_aton form
// ("1.2.3.4", "127.1", "0x7f.1"), or an RFC 4291 IPv6 form, with an optional %scope.
bool isNumericHost(const char* name) noexcept;
// glibc's res_hnok: letters, digits, '-' and '_' in non-empty labels, not starting with
// '-', at most 253 bytes (one trailing dot allowed).
bool isValidHostname(std::string_view name) noexcept;
// "localhost" and "localhost." in any case.
bool isLocalhost(std::string_view name) noexcept;

// /etc/hosts, re-read when its inode, size or mtime changes (at most one stat a second).
// Thread-safe.
bool hostsHasName(std::string_view name) noexcept;
bool hostsHasAddress(const policy::IpAddress& addr) noexcept;
// Changes whenever /etc/hosts is re-read (checked at most once a second, as above): a
// result that depended on a name not being there stays valid while this stays the same.
// Lock-free between re-reads.
uint32_t hostsGeneration() noexcept;

// Everything above in one question: leave this name to glibc.
inline bool leaveToLibc(const char* name) noexcept {
  return isNumericHost(name) || isLocalhost(name) || !isValidHostname(name) || hostsHasName(name);
}

}  // namespace mif::dns
