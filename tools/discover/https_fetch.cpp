#include "discover/https_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <mutex>

#include "discover/pvd_info.h"
#include "mif/dns/resolver.h"
#include "mif/policy/policy.h"
#include "mif/view/live_view.h"

namespace mif::discover {
namespace {

struct Bind {
  std::string ifname;
  policy::IpAddress source;
};

// Called by libcurl on its socket before it connects: the PvD's interface and source.
int bindSocket(void* ctx, curl_socket_t fd, curlsocktype) {
  const auto* b = static_cast<const Bind*>(ctx);
  if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b->ifname.c_str(),
                   static_cast<socklen_t>(b->ifname.size())) != 0)
    return CURL_SOCKOPT_ERROR;
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  std::memcpy(&sa.sin6_addr, b->source.bytes.data(), 16);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return CURL_SOCKOPT_ERROR;
  return CURL_SOCKOPT_OK;
}

size_t collectBody(char* data, size_t size, size_t n, void* ctx) {
  auto* body = static_cast<std::string*>(ctx);
  if (body->size() + size * n > kMaxPvdInfoBytes) return 0;  // aborts: too large
  body->append(data, size * n);
  return size * n;
}

FetchResult failed(std::string why) { return FetchResult{false, {}, std::move(why)}; }

}  // namespace

FetchResult fetchOverPvd(const FetchRequest& req, const HttpsOptions& opts) {
  // The PvD as a program pinned to it would see it (`mif run --pvd ID`).
  policy::Pin pin;
  pin.pvds = {req.id};
  pin.strict = true;
  policy::CompileResult compiled = policy::Policy::compile({}, pin);
  if (!compiled.policy) return failed("no policy for " + req.id);
  const policy::Policy& pol = *compiled.policy;
  auto id = pol.findPvd(req.id);
  if (!id) return failed("no PvD " + req.id);
  std::unique_ptr<view::Snapshot> snap = view::LiveView::readOnce(pol);
  if (!snap->error.empty()) return failed("the interfaces: " + snap->error);
  const view::BoundPvd& pvd = snap->pvds.at(*id);
  if (pvd.ifindex == 0 || pvd.ifname.empty()) return failed("the PvD is not bound to an interface");
  Bind bind{pvd.ifname, {}};
  bool haveSource = false;
  if (pvd.hasSource6) {
    bind.source = pvd.source6;
    haveSource = true;
  } else {
    for (const auto& a : pvd.addresses)
      if (a.family == policy::Family::V6) {
        bind.source = a;
        haveSource = true;
        break;
      }
  }
  if (!haveSource) return failed("no address of this host in the PvD's prefixes");
  if (pvd.dns.empty()) return failed("no DNS server announced for the PvD");

  dns::Resolver resolver;
  const policy::PvdId order[] = {*id};
  dns::Answer answer = resolver.lookup(*snap, order, req.id, false, true, "discover");
  policy::IpAddress server;
  bool found = false;
  for (const auto& a : answer.addresses)
    if (a.family == policy::Family::V6) {
      server = a;
      found = true;
      break;
    }
  if (answer.status != dns::Status::Ok || !found)
    return failed("resolving " + req.id + " through the PvD's DNS servers: " +
                  dns::statusName(answer.status) + (answer.why.empty() ? "" : " (" + answer.why + ")"));

  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* c = curl_easy_init();
  if (!c) return failed("libcurl: no handle");
  const std::string url = "https://" + req.id + "/.well-known/pvd";
  curl_slist* resolve = curl_slist_append(nullptr, (req.id + ":443:[" + server.toString() + "]").c_str());
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/pvd+json");
  std::string body;
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(c, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V6);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // never a proxy from the environment
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(opts.timeoutMs));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mif-discover");
  curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, bindSocket);
  curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, &bind);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  if (!opts.caFile.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts.caFile.c_str());
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  curl_slist_free_all(resolve);
  curl_slist_free_all(headers);
  const std::string from = " from [" + server.toString() + "]:443 via " + bind.ifname + " from " +
                           bind.source.toString();
  if (rc == CURLE_WRITE_ERROR)
    return failed("larger than " + std::to_string(kMaxPvdInfoBytes) + " bytes" + from);
  if (rc != CURLE_OK)
    return failed(std::string(*error ? error : curl_easy_strerror(rc)) + from);
  if (status != 200) return failed("HTTP status " + std::to_string(status) + from);
  return FetchResult{true, std::move(body), {}};
}

std::unique_ptr<InfoFetcher> makeHttpsInfoFetcher(HttpsOptions opts, InfoFetcher::Log log) {
  return std::make_unique<InfoFetcher>(
      [opts](const FetchRequest& r) { return fetchOverPvd(r, opts); }, std::move(log));
}

}  // namespace mif::discover
