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

  // A host name resolved through the PvD's own servers only (an address literal as is).
  dns::Resolver resolver;
  const policy::PvdId order[] = {*id};
  auto resolve = [&](const std::string& host, policy::IpAddress& out, std::string& why) {
    const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
    if (auto literal = policy::IpAddress::parse(bracketed ? host.substr(1, host.size() - 2) : host)) {
      out = *literal;
      if (out.family == policy::Family::V6) return true;
      why = host + " is not an IPv6 address";
      return false;
    }
    dns::Answer answer = resolver.lookup(*snap, order, host, false, true, "discover");
    for (const auto& a : answer.addresses)
      if (a.family == policy::Family::V6 && answer.status == dns::Status::Ok) {
        out = a;
        return true;
      }
    why = "resolving " + host + " through the PvD's DNS servers: " + dns::statusName(answer.status) +
          (answer.why.empty() ? "" : " (" + answer.why + ")");
    return false;
  };

  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::string url = "https://" + req.id + "/.well-known/pvd";
  // RFC 8801 4.1: a status of 300-399 is followed (at most kMaxRedirects times), each
  // location's host resolved through the PvD again, https only.
  constexpr int kMaxRedirects = 5;
  for (int hop = 0;; ++hop) {
    std::string host, port, why;
    CURLU* u = curl_url();
    char* part = nullptr;
    if (u && curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
      host = part;
      curl_free(part);
      if (curl_url_get(u, CURLUPART_PORT, &part, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        port = part;
        curl_free(part);
      }
    }
    curl_url_cleanup(u);
    if (host.empty() || port.empty()) return failed("not a URL: " + url);
    policy::IpAddress server;
    if (!resolve(host, server, why)) return failed(why);
    CURL* c = curl_easy_init();
    if (!c) return failed("libcurl: no handle");
    curl_slist* pinned = curl_slist_append(nullptr, (host + ":" + port + ":[" + server.toString() + "]").c_str());
    curl_slist* headers = curl_slist_append(nullptr, "Accept: application/pvd+json");
    std::string body;
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_RESOLVE, pinned);
    curl_easy_setopt(c, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V6);
    curl_easy_setopt(c, CURLOPT_PROXY, "");  // never a proxy from the environment
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // followed here, resolved through the PvD
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
    char* location = nullptr;
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
    const std::string next = location ? location : "";
    curl_easy_cleanup(c);
    curl_slist_free_all(pinned);
    curl_slist_free_all(headers);
    const std::string from = " from " + url + " at [" + server.toString() + "]:" + port + " via " +
                             bind.ifname + " from " + bind.source.toString();
    if (rc == CURLE_WRITE_ERROR)
      return failed("larger than " + std::to_string(kMaxPvdInfoBytes) + " bytes" + from);
    if (rc != CURLE_OK) return failed(std::string(*error ? error : curl_easy_strerror(rc)) + from);
    if (status >= 300 && status <= 399) {
      if (next.empty()) return failed("HTTP status " + std::to_string(status) + " without a location" + from);
      if (hop == kMaxRedirects) return failed("more than " + std::to_string(kMaxRedirects) + " redirects" + from);
      url = next;
      continue;
    }
    // RFC 8801 4.1: 200-299 may carry the document; 400 or more: there is none.
    if (status >= 200 && status <= 299) return FetchResult{true, std::move(body), {}};
    FetchResult r = failed("HTTP status " + std::to_string(status) + from);
    r.abandon = status >= 400;
    return r;
  }
}

std::unique_ptr<InfoFetcher> makeHttpsInfoFetcher(HttpsOptions opts, InfoFetcher::Log log) {
  return std::make_unique<InfoFetcher>(
      [opts](const FetchRequest& r) { return fetchOverPvd(r, opts); }, std::move(log));
}

}  // namespace mif::discover
