#pragma once
// struct hostent results for gethostbyname*, gethostbyaddr* in the caller's buffer, as
// the _r functions fill them: h_aliases and h_addr_list point into `buf`.
#include <netdb.h>

#include <string>
#include <vector>

#include "mif/policy/address.h"

namespace mif::dns {

// Fills `ret` from `buf`. `af` is AF_INET or AF_INET6; addresses of the other family are
// skipped. Returns 0, or ERANGE when `buf` is too small (glibc's answer: the caller
// retries with a larger buffer).
int fillHostent(hostent* ret, char* buf, size_t buflen, const std::string& name,
                const std::vector<std::string>& aliases, int af,
                const std::vector<policy::IpAddress>& addrs);

}  // namespace mif::dns
