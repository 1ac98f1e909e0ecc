#include "mif/dns/hostent.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace mif::dns {

int fillHostent(hostent* ret, char* buf, size_t buflen, const std::string& name,
                const std::vector<std::string>& aliases, int af,
                const std::vector<policy::IpAddress>& addrs) {
  const size_t alen = af == AF_INET6 ? 16 : 4;
  const policy::Family fam = af == AF_INET6 ? policy::Family::V6 : policy::Family::V4;
  size_t naddr = 0;
  for (const auto& a : addrs) naddr += a.family == fam;
  // Layout: pointer arrays first (aligned), then address bytes, then strings.
  size_t need = (aliases.size() + 1 + naddr + 1) * sizeof(char*);
  size_t pad =
      (alignof(char*) - reinterpret_cast<uintptr_t>(buf) % alignof(char*)) % alignof(char*);
  need += pad + naddr * alen + name.size() + 1;
  for (const auto& s : aliases) need += s.size() + 1;
  if (need > buflen) return ERANGE;
  char* p = buf + pad;
  auto** aliasv = reinterpret_cast<char**>(p);
  p += (aliases.size() + 1) * sizeof(char*);
  auto** addrv = reinterpret_cast<char**>(p);
  p += (naddr + 1) * sizeof(char*);
  size_t k = 0;
  for (const auto& a : addrs) {
    if (a.family != fam) continue;
    std::memcpy(p, a.bytes.data(), alen);
    addrv[k++] = p;
    p += alen;
  }
  addrv[k] = nullptr;
  std::memcpy(p, name.c_str(), name.size() + 1);
  ret->h_name = p;
  p += name.size() + 1;
  for (size_t i = 0; i < aliases.size(); ++i) {
    std::memcpy(p, aliases[i].c_str(), aliases[i].size() + 1);
    aliasv[i] = p;
    p += aliases[i].size() + 1;
  }
  aliasv[aliases.size()] = nullptr;
  ret->h_aliases = aliasv;
  ret->h_addr_list = addrv;
  ret->h_addrtype = af;
  ret->h_length = int(alen);
  return 0;
}

}  // namespace mif::dns
