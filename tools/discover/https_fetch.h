#pragma once
// The PvD Additional Information fetch itself (RFC 8801 4.1): GET https://ID/.well-known/pvd
// through that PvD and no other. The PvD is taken as the library's live view binds it
// from the published file (mif/view/published_pvds.h): its interface, a source address of
// the host in its announced prefixes, its announced DNS servers. The ID is resolved
// through those servers only (dns::Resolver, the library's per-PvD resolver: c-ares bound
// to the PvD), never the system resolver, and the connection is bound to the interface
// and that source. HTTPS is libcurl's (README.md says why): the certificate must be valid
// for the PvD ID, against the system's CA store or `caFile`. No proxy; a redirect (RFC
// 8801 4.1: followed) is followed at most 5 times, https only, its host resolved through
// the PvD again; at most kMaxPvdInfoBytes; one timeout per request. A status of 2xx
// carries the document; 400 or more is FetchResult::abandon (there is none).
#include <memory>
#include <string>

#include "discover/info_fetcher.h"

namespace mif::discover {

struct HttpsOptions {
  std::string caFile;     // "" = the system's CA store
  int timeoutMs = 5000;   // the whole request once the name is resolved
};

FetchResult fetchOverPvd(const FetchRequest& req, const HttpsOptions& opts);

// An InfoFetcher (threaded) whose fetch is fetchOverPvd.
std::unique_ptr<InfoFetcher> makeHttpsInfoFetcher(HttpsOptions opts, InfoFetcher::Log log);

}  // namespace mif::discover
