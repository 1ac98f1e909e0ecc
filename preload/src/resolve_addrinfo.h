#pragma once
// getaddrinfo's part of the resolve engine: the per-thread memo of finished answers in
// front of resolve() (mif/dns/addrinfo_memo.h), glibc's own checks and service expansion
// as the Query's `before` step, and the result list built from the Answer in glibc's
// layout and order (mif/dns/addrinfo.h), remembered for the next call.
#include <netdb.h>

#include <vector>

#include "mif/dns/addrinfo.h"
#include "resolve_engine.h"

namespace mif::preload::resolve {

// 0 and *res when this thread's memo answers; -1 on a miss; EAI_MEMORY when a node could
// not be allocated. The arguments are matched first: a miss asks nothing of the view.
int memoAnswer(const char* node, const char* service, const addrinfo& hints,
               addrinfo** res) noexcept;

// One getaddrinfo call past the memo. Construct it before resolve(): it reads what a
// remembered answer will be filed under (/etc/hosts' generation, the process default)
// before the call decides, so a change during the lookup cannot file the old answer
// under the new key.
class AddrinfoCall {
 public:
  AddrinfoCall(const char* node, const char* service, const addrinfo& hints,
               dns::GetaddrinfoFn libc) noexcept;
  const Query& query() const noexcept { return q_; }
  // The API's result for an Answer that is not Verdict::Libc: 0 with *res, or EAI_*.
  int result(const Answer& a, addrinfo** res) noexcept;

 private:
  static int before(void* ctx, const Plan& plan, Query* q);
  const char* node_;
  const char* service_;
  const addrinfo& hints_;
  dns::GetaddrinfoFn libc_;
  addrinfo eff_{};  // the hints after AI_ADDRCONFIG
  std::vector<dns::ServTuple> services_;
  uint32_t hostsGeneration_ = 0;
  uint64_t defaultKey_ = 0;
  Query q_;
};

}  // namespace mif::preload::resolve
