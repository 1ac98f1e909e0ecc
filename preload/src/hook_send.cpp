// sendto, sendmsg, sendmmsg: a datagram with an explicit destination gets its interface
// and source per packet (IP_PKTINFO / IPV6_PKTINFO), so an unconnected UDP socket talking
// to several peers is never pinned to its first destination's PvD. MSG_FASTOPEN is a TCP
// connect hidden inside a send and is pinned like connect().
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cmsg.h"
#include "guard.h"
#include "hook.h"
#include "real_libc.h"
#include "runtime.h"
#include "unicast_if.h"

namespace mif::preload {
namespace {

// Where vec[i].msg_hdr and vec[i].msg_len are, computed without touching vec[i]: the
// program's array may be misaligned or not mapped at all (the kernel reads it byte-wise
// and says EFAULT), and forming a member access through such a pointer is undefined
// behaviour (UBSan: "member access within misaligned address").
uintptr_t mmsgField(const mmsghdr* vec, size_t i, size_t offset) {
  return reinterpret_cast<uintptr_t>(vec) + i * sizeof(mmsghdr) + offset;
}
const void* mmsgHdrAt(const mmsghdr* vec, size_t i) {
  return reinterpret_cast<const void*>(mmsgField(vec, i, offsetof(mmsghdr, msg_hdr)));
}

// The message as the kernel will get it: the program's, or a copy on our stack that adds
// the control message. Never writes into the program's msghdr or control buffer.
struct Rewritten {
  msghdr msg;
  alignas(cmsghdr) char control[kControlBuffer];
};

// Decides one message (`in`: our copy of the program's msghdr; `parsed`: its name when the
// caller has read it already, so it is not probed twice); on success `out` is what to send
// (maybe `in` itself). Returns 0 or an errno value to fail with. A name or control buffer
// the kernel cannot read is left to it (EFAULT), undecided or without our cmsg. `plain`
// (sendto and sendmsg only): set when the socket is pinned once (unicast_if.h) and the
// message goes as the program sent it; the caller then calls ucif::sent after sending.
int prepareMessage(Runtime* rt, Call call, int fd, const msghdr& in, int flags,
                   Runtime::SocketFacts* facts, Rewritten* scratch, const msghdr** out,
                   Outcome* o, const void* liveFrame, const Endpoint* parsed = nullptr,
                   bool* plain = nullptr) noexcept {
  *out = &in;
  Endpoint dst;
  if (parsed != nullptr) {
    dst = *parsed;
  } else if (!fromCallerSockaddr(static_cast<const sockaddr*>(in.msg_name),
                                 msgNameLength(in.msg_name, in.msg_namelen), &dst, liveFrame)) {
    if (ucif::held(fd)) ucif::leave(fd);  // not decided: the kernel routes it
    return 0;
  }
  ReentryGuard guard;
  if (flags & MSG_FASTOPEN) {
    *o = rt->connectLike(call, fd, dst);
  } else {
    *o = rt->datagram(call, fd, dst, facts);
  }
  if (o->error != 0) return o->error;
  // A strict pin on the interface's one address, and a message without control messages
  // of its own: the socket pinned once (unicast_if.h) when every datagram wants the same.
  if (plain != nullptr && o->pktinfo && !o->hasSource && o->decision.strict &&
      o->redirectLen == 0 && in.msg_controllen == 0 && !(flags & MSG_FASTOPEN) &&
      ucif::enter(fd, dst.socketFamily, dst.addr.family, o->ifindex)) {
    *plain = true;
    return 0;
  }
  if (o->pktinfo) {  // datagram path only
    size_t len = 0;
    const Merge merged = mergePktinfo(in, *o, dst.socketFamily, scratch->control,
                                      sizeof scratch->control, &len, liveFrame);
    if (merged == Merge::ProgramsOwn) {  // the program named interface/source itself
      o->pktinfo = false;
      o->note = "program's own IP_PKTINFO";
    } else if (merged == Merge::Unreadable) {  // sent as it is: the kernel's EFAULT
      o->pktinfo = false;
      o->note = "control messages not readable";
    } else if (merged == Merge::TooLarge) {
      o->pktinfo = false;
      if (o->decision.strict) {
        o->error = ENOBUFS;
        o->note = "control messages too large to add the PvD's interface";
      } else if (ucif::held(fd)) {
        ucif::leave(fd);
      }
      return o->error;
    } else {
      scratch->msg = in;
      scratch->msg.msg_control = scratch->control;
      scratch->msg.msg_controllen = len;
      *out = &scratch->msg;
    }
  }
  // Without mif's control message the socket's own pin would route it: a socket pinned
  // once goes back to per datagram first.
  if (!o->pktinfo && ucif::held(fd)) ucif::leave(fd);
  // A strict pin's loopback DNS: the PvD's server instead of the program's destination, in
  // our copy of the message (o lives in the hook's frame until the real call returns).
  if (o->redirectLen != 0) {
    if (*out == &in) scratch->msg = in;
    scratch->msg.msg_name = &o->redirectTo;
    scratch->msg.msg_namelen = o->redirectLen;
    *out = &scratch->msg;
  }
  return 0;
}

// A datagram on a socket pinned once (unicast_if.h) whose cached decision still holds
// (Runtime::pinnedDatagram): true when it may go as the program sent it, in the pinned
// mode (the caller sends, then calls ucif::sent). What it skips is the full path's copy of
// the decision and the message: the same checks decide, from the same cache entry. A
// message with control messages of its own, or MSG_FASTOPEN, takes the full path.
bool sentPinned(Runtime* rt, int fd, const Endpoint& dst, int flags) noexcept {
  if ((flags & MSG_FASTOPEN) || !ucif::held(fd)) return false;
  int ifindex;
  {
    ReentryGuard guard;  // the view's refresh talks netlink through hooked calls
    ifindex = rt->pinnedDatagram(fd, dst);
  }
  return ifindex > 0 && ucif::enter(fd, dst.socketFamily, dst.addr.family, ifindex);
}

}  // namespace
}  // namespace mif::preload

using namespace mif::preload;

extern "C" {

MIF_EXPORT ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr,
                          socklen_t alen) {
  auto realSendto = real::sendto.get(reinterpret_cast<const void*>(&sendto));
  if (realSendto == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (ReentryGuard::active() || addr == nullptr) return realSendto(fd, buf, n, flags, addr, alen);
  Endpoint dst;
  if (!fromCallerSockaddr(addr, alen, &dst, MIF_LIVE_FRAME())) {
    return realSendto(fd, buf, n, flags, addr, alen);  // also what the kernel would refuse
  }
  Runtime* rt = Runtime::get();
  if (rt == nullptr) return realSendto(fd, buf, n, flags, addr, alen);
  ErrnoKeeper keep;
  if (sentPinned(rt, fd, dst, flags)) {  // the socket pinned once, its decision unchanged
    keep.restore();
    const ssize_t rc = realSendto(fd, buf, n, flags, addr, alen);
    ucif::sent(fd);
    return rc;
  }
  // sendto is sendmsg with one iovec; the kernel takes the same path for both.
  iovec iov{const_cast<void*>(buf), n};
  msghdr m{};
  m.msg_name = const_cast<sockaddr*>(addr);
  m.msg_namelen = alen;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  Rewritten scratch;
  Runtime::SocketFacts facts;
  const msghdr* toSend = &m;
  Outcome o;
  bool plain = false;
  if (int err = prepareMessage(rt, Call::Sendto, fd, m, flags, &facts, &scratch, &toSend, &o,
                               MIF_LIVE_FRAME(), &dst, &plain)) {
    rt->finish(o, err);
    errno = err;
    return -1;
  }
  keep.restore();
  ssize_t rc;
  if (toSend == &m) {
    rc = realSendto(fd, buf, n, flags, addr, alen);
  } else {
    rc = real::sendmsg.get()(fd, toSend, flags);
  }
  if (plain) ucif::sent(fd);
  if (o.decided) rt->finish(o, rc < 0 ? errno : 0);
  return rc;
}

MIF_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  auto realSendmsg = real::sendmsg.get(reinterpret_cast<const void*>(&sendmsg));
  if (realSendmsg == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  // Our copy of the msghdr is what is decided on and sent; one the kernel cannot read is
  // left to it (EFAULT).
  msghdr copy;
  if (ReentryGuard::active() || !copyFromCaller(&copy, msg, sizeof copy, MIF_LIVE_FRAME()) ||
      copy.msg_name == nullptr) {
    return realSendmsg(fd, msg, flags);
  }
  Endpoint probe;
  if (!fromCallerSockaddr(static_cast<const sockaddr*>(copy.msg_name),
                          msgNameLength(copy.msg_name, copy.msg_namelen), &probe,
                          MIF_LIVE_FRAME())) {
    return realSendmsg(fd, msg, flags);  // netlink, AF_UNIX, AF_PACKET, EFAULT: untouched
  }
  Runtime* rt = Runtime::get();
  if (rt == nullptr) return realSendmsg(fd, msg, flags);
  ErrnoKeeper keep;
  if (copy.msg_controllen == 0 && sentPinned(rt, fd, probe, flags)) {
    keep.restore();
    const ssize_t rc = realSendmsg(fd, &copy, flags);
    ucif::sent(fd);
    return rc;
  }
  Rewritten scratch;
  Runtime::SocketFacts facts;
  const msghdr* toSend = &copy;
  Outcome o;
  bool plain = false;
  if (int err = prepareMessage(rt, Call::Sendmsg, fd, copy, flags, &facts, &scratch, &toSend, &o,
                               MIF_LIVE_FRAME(), &probe, &plain)) {
    rt->finish(o, err);
    errno = err;
    return -1;
  }
  keep.restore();
  const ssize_t rc = realSendmsg(fd, toSend, flags);
  if (plain) ucif::sent(fd);
  if (o.decided) rt->finish(o, rc < 0 ? errno : 0);
  return rc;
}

MIF_EXPORT int sendmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags) {
  auto realSendmmsg = real::sendmmsg.get(reinterpret_cast<const void*>(&sendmmsg));
  if (realSendmmsg == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (ReentryGuard::active() || vec == nullptr || vlen == 0) return realSendmmsg(fd, vec, vlen, flags);
  const void* liveFrame = MIF_LIVE_FRAME();
  bool any = false;
  Endpoint probe;
  for (unsigned i = 0; i < vlen && !any; ++i) {
    msghdr h;
    if (!copyFromCaller(&h, mmsgHdrAt(vec, i), sizeof h, liveFrame)) break;  // the kernel stops there
    any = fromCallerSockaddr(static_cast<const sockaddr*>(h.msg_name),
                             msgNameLength(h.msg_name, h.msg_namelen), &probe, liveFrame);
  }
  Runtime* rt = any ? Runtime::get() : nullptr;
  if (rt == nullptr) return realSendmmsg(fd, vec, vlen, flags);
  // Each message gets its own control message: a socket pinned once goes back to that.
  if (ucif::held(fd)) ucif::leave(fd);

  // Sent in chunks, each message a copy on our stack with its own control buffer; msg_len
  // is copied back to the program's array. Like the kernel: the count sent so far, or -1
  // and errno when nothing was sent.
  constexpr unsigned kChunk = 8;
  vlen = std::min(vlen, 1024u);  // UIO_MAXIOV, as the kernel caps it
  ErrnoKeeper keep;
  Runtime::SocketFacts facts;
  unsigned sent = 0;
  while (sent < vlen) {
    const unsigned n = std::min(kChunk, vlen - sent);
    mmsghdr chunk[kChunk];
    Rewritten scratch[kChunk];
    Outcome outcomes[kChunk];
    unsigned ready = 0;
    int failure = 0;
    bool unreadable = false;
    for (; ready < n; ++ready) {
      const msghdr* toSend = nullptr;
      msghdr h;
      if (!copyFromCaller(&h, mmsgHdrAt(vec, sent + ready), sizeof h, liveFrame)) {
        unreadable = true;
        break;
      }
      failure = prepareMessage(rt, Call::Sendmmsg, fd, h, flags, &facts, &scratch[ready], &toSend,
                               &outcomes[ready], liveFrame);
      if (failure != 0) break;
      chunk[ready].msg_hdr = *toSend;
      chunk[ready].msg_len = 0;
    }
    int rc = 0;
    if (ready > 0) {
      keep.restore();
      rc = realSendmmsg(fd, chunk, ready, flags);
      if (rc < 0) {
        const int err = errno;
        if (outcomes[0].decided) rt->finish(outcomes[0], err);
        if (sent > 0) return static_cast<int>(sent);
        errno = err;
        return -1;
      }
      for (int i = 0; i < rc; ++i) {
        std::memcpy(reinterpret_cast<void*>(mmsgField(vec, sent + i, offsetof(mmsghdr, msg_len))),
                    &chunk[i].msg_len, sizeof chunk[i].msg_len);
        if (outcomes[i].decided) rt->finish(outcomes[i], 0);
      }
      sent += static_cast<unsigned>(rc);
      if (static_cast<unsigned>(rc) < ready) return static_cast<int>(sent);
    }
    if (failure != 0) {
      rt->finish(outcomes[ready], failure);
      if (sent > 0) return static_cast<int>(sent);
      errno = failure;
      return -1;
    }
    if (unreadable) {
      // A message the kernel cannot read ends the batch there: the count sent so far, or,
      // when nothing was, the kernel's own answer (EFAULT) for the rest.
      if (sent > 0) return static_cast<int>(sent);
      keep.restore();
      return realSendmmsg(fd, vec, vlen, flags);
    }
  }
  return static_cast<int>(sent);
}

}  // extern "C"
