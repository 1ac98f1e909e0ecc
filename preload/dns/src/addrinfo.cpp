// getaddrinfo results as glibc 2.36 builds them (sysdeps/posix/getaddrinfo.c): see
// addrinfo.h. The sort lives in sort.cpp.
#include "mif/dns/addrinfo.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>

namespace mif::dns {

int eaiFor(Status s) {
  switch (s) {
    case Status::Ok:
      return 0;
    case Status::NoData:
      return EAI_NODATA;
    case Status::NotFound:
      return EAI_NONAME;
    case Status::TryAgain:
      return EAI_AGAIN;
    // nss_dns turns NO_RECOVERY (FORMERR, NOTIMP, REFUSED from every server) into a
    // status getaddrinfo reports as "no such name".
    case Status::NoRecovery:
      return EAI_NONAME;
  }
  return EAI_FAIL;
}

int probeService(GetaddrinfoFn realGetaddrinfo, FreeaddrinfoFn realFreeaddrinfo,
                 const char* service, const addrinfo& hints, std::vector<ServTuple>* out) {
  addrinfo h{};
  h.ai_flags = (hints.ai_flags & ~(AI_ADDRCONFIG | AI_CANONNAME)) | AI_NUMERICHOST;
  h.ai_family = hints.ai_family;
  h.ai_socktype = hints.ai_socktype;
  h.ai_protocol = hints.ai_protocol;
  const char* host = hints.ai_family == AF_INET6 ? "::" : "0.0.0.0";
  addrinfo* r = nullptr;
  int rc = realGetaddrinfo(host, service, &h, &r);
  if (rc != 0) return rc;
  for (addrinfo* p = r; p != nullptr; p = p->ai_next) {
    ServTuple t;
    t.socktype = p->ai_socktype;
    t.protocol = p->ai_protocol;
    if (p->ai_family == AF_INET6)
      t.portNet = reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_port;
    else
      t.portNet = reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_port;
    out->push_back(t);
  }
  realFreeaddrinfo(r);
  return 0;
}

void addrconfigSeen(const view::Snapshot& snap, const view::BoundPvd& pvd, bool* v4, bool* v6) {
  *v4 = *v6 = false;
  auto consider = [&](const policy::IpAddress& a) {
    if (a.family == policy::Family::V4) {
      if (!(a.bytes[0] == 127 && a.bytes[1] == 0 && a.bytes[2] == 0 && a.bytes[3] == 1)) *v4 = true;
    } else {
      static const uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
      if (std::memcmp(a.bytes.data(), loop, 16) != 0) *v6 = true;
    }
  };
  for (const policy::IpAddress& a : pvd.addresses) consider(a);
  // glibc counts any address of the family, link-local included; with a `source` set the
  // PvD's addresses are its own, and the interface's link-local address is still there.
  if (const view::Interface* itf = snap.interfaceByIndex(pvd.ifindex)) {
    for (const view::Address& a : itf->addresses)
      if (a.addr.family == policy::Family::V6 && a.addr.bytes[0] == 0xfe &&
          (a.addr.bytes[1] & 0xc0) == 0x80)
        consider(a.addr);
    if (pvd.addresses.empty())
      for (const view::Address& a : itf->addresses) consider(a.addr);
  }
}

int applyAddrconfig(const view::Snapshot& snap, const view::BoundPvd* pvd, addrinfo* hints) {
  if (!(hints->ai_flags & AI_ADDRCONFIG)) return 0;
  bool v4 = false, v6 = false;
  if (pvd != nullptr) addrconfigSeen(snap, *pvd, &v4, &v6);
  if (hints->ai_family == AF_UNSPEC && (v4 || v6)) {
    if (v4 != v6) hints->ai_family = v4 ? AF_INET : AF_INET6;
  } else if ((hints->ai_family == AF_INET && !v4) || (hints->ai_family == AF_INET6 && !v6)) {
    return EAI_NONAME;
  }
  return 0;
}

int buildAddrinfo(const char* name, const addrinfo& hints, const Answer& answer,
                  std::span<const ServTuple> services, const view::Snapshot* snap,
                  const view::BoundPvd* pvd, addrinfo** res) {
  const int family = hints.ai_family;
  const int flags = hints.ai_flags;
  // The address tuples, in the order nss_dns hands them over (A answers, then AAAA),
  // filtered and mapped as get_nss_addresses does.
  std::vector<policy::IpAddress> at;
  bool gotIpv6 = false;
  for (const policy::IpAddress& a : answer.addresses) {
    if (a.family == policy::Family::V4) {
      if (family == AF_INET6) {
        if (!(flags & AI_V4MAPPED)) continue;
        policy::IpAddress m;
        m.family = policy::Family::V6;
        m.bytes[10] = m.bytes[11] = 0xff;
        std::memcpy(m.bytes.data() + 12, a.bytes.data(), 4);
        at.push_back(m);
      } else {
        at.push_back(a);
      }
    } else {
      if (family == AF_INET) continue;
      at.push_back(a);
      if (family == AF_INET6) gotIpv6 = true;
    }
  }
  if (at.empty()) return EAI_NODATA;

  char* canon = nullptr;
  if (flags & AI_CANONNAME) {
    canon = strdup(answer.owner.empty() ? name : answer.owner.c_str());
    if (canon == nullptr) return EAI_MEMORY;
  }
  addrinfo* head = nullptr;
  addrinfo** tail = &head;
  unsigned naddrs = 0;
  for (const policy::IpAddress& a : at) {
    const bool v6 = a.family == policy::Family::V6;
    if (v6 && gotIpv6 && (flags & (AI_V4MAPPED | AI_ALL)) == AI_V4MAPPED && a.isV4Mapped())
      continue;
    const socklen_t socklen = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    for (const ServTuple& st : services) {
      auto* ai = static_cast<addrinfo*>(malloc(sizeof(addrinfo) + socklen));
      if (ai == nullptr) {
        free(canon);
        freeaddrinfo(head);
        return EAI_MEMORY;
      }
      ai->ai_flags = flags;
      ai->ai_family = v6 ? AF_INET6 : AF_INET;
      ai->ai_socktype = st.socktype;
      ai->ai_protocol = st.protocol;
      ai->ai_addrlen = socklen;
      ai->ai_addr = reinterpret_cast<sockaddr*>(ai + 1);
      ai->ai_canonname = canon;  // only the first node gets it
      canon = nullptr;
      ai->ai_next = nullptr;
      if (v6) {
        auto* s = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
        std::memset(s, 0, sizeof *s);
        s->sin6_family = AF_INET6;
        s->sin6_port = st.portNet;
        std::memcpy(&s->sin6_addr, a.bytes.data(), 16);
      } else {
        auto* s = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
        std::memset(s, 0, sizeof *s);
        s->sin_family = AF_INET;
        s->sin_port = st.portNet;
        std::memcpy(&s->sin_addr, a.bytes.data(), 4);
      }
      *tail = ai;
      tail = &ai->ai_next;
    }
    ++naddrs;
  }
  free(canon);  // no node was made (no services): glibc would not have one either
  if (head == nullptr) return EAI_NODATA;
  if (naddrs > 1) sortAddrinfo(&head, snap, pvd);
  *res = head;
  return 0;
}

}  // namespace mif::dns
