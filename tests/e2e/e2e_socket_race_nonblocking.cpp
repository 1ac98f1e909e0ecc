// RFC 6418 4.4 and 5.5 item 6 for NON-BLOCKING connects (issues 29 and 30): curl, which
// connects with O_NONBLOCK and waits with poll, and Python's asyncio, which waits with
// epoll, on the built-in `oneway` topology (svc.cell.example, host "cellsvc", lives behind
// the cellular PvD). Wi-Fi's router is broken for that destination while its link,
// address and default route stay fine: it answers ICMP unreachable (failover on the error)
// or drops every packet without a word (a blackhole: only racing helps).
//
// Without mif curl gets "no route to host", or waits for its --connect-timeout; asyncio
// waits for its own timeout. Under `mif run --pvd wifi --pvd cell` connect still returns
// EINPROGRESS, and the race runs inside the program's own waits (poll, epoll_wait): the
// program's descriptor is connected through cellular when its wait reports it writable.
// One lab for the whole suite (broken routes are undone after each test). Timing figures
// are printed; assertions are generous bounds.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "oneway_pvds.h"

namespace {

using mif::e2e::ExecOptions;
using namespace std::chrono_literals;

// asyncio.open_connection with its own timeout (TIMEOUT seconds): one line, how long the
// connect took and from which source address.
const char* kAsyncio = R"PY(
import asyncio, os, sys, time
host = sys.argv[1]
async def main():
    t0 = time.monotonic()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, 80), float(os.environ['TIMEOUT']))
    except (asyncio.TimeoutError, OSError) as e:
        print('error %s ms %d' % (type(e).__name__, (time.monotonic() - t0) * 1000), flush=True)
        return
    ms = (time.monotonic() - t0) * 1000
    w.write(b'GET / HTTP/1.0\r\n\r\n')
    body = (await r.read()).decode(errors='replace').split('\r\n\r\n', 1)[-1].strip()
    print('ok ms %d local %s | %s' % (ms, w.get_extra_info('sockname')[0], body), flush=True)
    w.close()
asyncio.run(main())
)PY";

// An event loop with 200 descriptors in one epoll set (100 socketpairs, level-triggered
// EPOLLIN) and a non-blocking connect registered edge-triggered for EPOLLOUT after it
// started (before it, with REGISTER_FIRST). Each pair is written to before the wait and again after the connect: every
// pair must be seen readable both times, and the connecting descriptor must report exactly
// one EPOLLOUT edge (counted for 300 ms more after it came).
const char* kEpoll200 = R"PY(
import os, select, socket, sys, time
host, limit = sys.argv[1], float(sys.argv[2])
ep = select.epoll()
pairs = [socket.socketpair() for _ in range(100)]
byfd = {}
for a, b in pairs:
    a.setblocking(False)
    ep.register(a.fileno(), select.EPOLLIN)
    byfd[a.fileno()] = a
s = socket.socket()
s.setblocking(False)
if os.environ.get('REGISTER_FIRST'):  # as nginx does: registered before connect
    ep.register(s.fileno(), select.EPOLLOUT | select.EPOLLET)
t0 = time.monotonic()
try:
    s.connect((host, 80))
except BlockingIOError:
    pass
if not os.environ.get('REGISTER_FIRST'):  # as asyncio and libuv do
    ep.register(s.fileno(), select.EPOLLOUT | select.EPOLLET)
def round_(until_edge):
    for a, b in pairs:
        b.send(b'x')
    seen, edges, when = set(), 0, None
    end = time.monotonic() + limit
    while time.monotonic() < end:
        for fd, ev in ep.poll(0.1):
            if fd == s.fileno():
                edges += 1 if ev & select.EPOLLOUT else 0
                when = when or time.monotonic()
            else:
                byfd[fd].recv(10)
                seen.add(fd)
        if len(seen) == 100 and (not until_edge or (when and time.monotonic() - when > 0.3)):
            break
    return seen, edges, when
seen1, edges, when = round_(True)
ms = ((when or time.monotonic()) - t0) * 1000
err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
seen2, more, _ = round_(False)
local = s.getsockname()[0] if edges else '-'
reply = ''
if edges and err == 0:
    s.setblocking(True)
    s.sendall(b'GET / HTTP/1.0\r\n\r\n')
    while True:
        d = s.recv(4096)
        if not d:
            break
        reply += d.decode(errors='replace')
print('pairs %d %d edges %d more %d err %d ms %d local %s | %s' % (
    len(seen1), len(seen2), edges, more, err, ms, local, reply.split('\r\n\r\n', 1)[-1].strip()), flush=True)
)PY";

// A non-blocking connect waited for with select, then SO_ERROR: one line, the outcome (ok,
// an errno name, or timeout after the program's own LIMIT seconds) and the source address.
const char* kSelect = R"PY(
import errno, select, socket, sys, time
host, limit = sys.argv[1], float(sys.argv[2])
s = socket.socket()
s.setblocking(False)
t0 = time.monotonic()
s.connect_ex((host, 80))
r, w, x = select.select([], [s], [], limit)
ms = (time.monotonic() - t0) * 1000
if not w:
    print('timeout ms %d' % ms)
else:
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    print('%s ms %d local %s' % (errno.errorcode.get(err, str(err)) if err else 'ok', ms,
                                 '-' if err else s.getsockname()[0]))
)PY";

// A non-blocking connect with the options a program sets before it (SO_KEEPALIVE,
// TCP_NODELAY, SO_RCVBUF, then O_NONBLOCK), waited for with poll (LIMIT seconds): one
// line, the outcome and what the descriptor looks like afterwards.
const char* kOptions = R"PY(
import errno, fcntl, os, select, socket, sys, time
host, limit = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 50000)
s.setblocking(False)
fd = s.fileno()
t0 = time.monotonic()
s.connect_ex((host, 80))
p = select.poll()
p.register(fd, select.POLLOUT)
ready = p.poll(limit * 1000)
ms = (time.monotonic() - t0) * 1000
if not ready:
    print('timeout ms %d' % ms)
    sys.exit()
err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
if err:
    print('%s ms %d' % (errno.errorcode.get(err, str(err)), ms))
    sys.exit()
print('ok ms %d local %s fd_same %d nonblocking %d nodelay %d keepalive %d rcvbuf %d' % (
    ms, s.getsockname()[0], s.fileno() == fd, (fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK) != 0,
    s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
    s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)), end=' | ')
s.setblocking(True)
s.sendall(b'GET / HTTP/1.0\r\n\r\n')
reply = b''
while True:
    d = s.recv(4096)
    if not d:
        break
    reply += d
print(reply.decode(errors='replace').split('\r\n\r\n', 1)[-1].strip(), flush=True)
)PY";

class NonBlockingRace : public mif::e2e::OnewayPvds {
 protected:
  NonBlockingRace() : OnewayPvds("e2e-nbrace", "", /*shared=*/true) {}

  std::vector<std::string> curl(const std::string& host, int connectTimeout) const {
    return {"curl", "-sS", "--connect-timeout", std::to_string(connectTimeout), "-w",
            "\\nconnect %{time_connect} local %{local_ip}\\n", "http://" + host + ":80/"};
  }
  // curl's time_connect in ms (-1 when absent).
  static int connectMs(const std::string& out) {
    const size_t at = out.find("connect ");
    return at == std::string::npos ? -1 : static_cast<int>(std::stod(out.substr(at + 8)) * 1000);
  }
  std::string policyWithDelay(int ms) const {
    std::ifstream in(policy_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return dir_.write("delay.toml", text + "[failover]\nattempt_delay_ms = " + std::to_string(ms) + "\n");
  }
};

// (a) Wi-Fi's router answers ICMP unreachable. Without mif curl fails ("no route to host");
// under --pvd wifi --pvd cell it connects through cellular as soon as the error comes,
// before the attempt delay (2 s here) would have started cellular: failover on the error,
// inside curl's poll.
TEST_F(NonBlockingRace, CurlFailsOverOnAnUnreachableFirstPvd) {
  breakRoute("unreachable", "wifi", svc4_);
  auto plain = lab_->exec(curl(svc4_, 5), opts());
  EXPECT_NE(plain.status, 0) << plain.describe();
  EXPECT_TRUE(lab_->served("cellsvc", "http").empty());

  auto r = lab_->mifRun({"--policy", policyWithDelay(2000), "--pvd", "wifi", "--pvd", "cell",
                         "--trace=" + trace_},
                        curl(svc4_, 5), opts());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
  EXPECT_TRUE(has(r.out, "local " + cell4_)) << r.out;
  const int ms = connectMs(r.out);
  std::printf("without mif: %s; failed over inside curl's poll: connected in %d ms\n",
              plain.err.c_str(), ms);
  EXPECT_LT(ms, 1900) << "cellular started by the attempt delay, not by Wi-Fi's error: " << r.out;
  auto connects = traceLines("connect");
  for (const auto& l : connects) std::printf("%s\n", l.c_str());
  ASSERT_EQ(connects.size(), 3u);
  EXPECT_TRUE(has(connects[0], "\"error\":\"EINPROGRESS\"")) << connects[0];
  EXPECT_TRUE(has(connects[1], "\"pvd\":\"wifi\"")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"attempt\":1")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"error\":\"EHOSTUNREACH\"")) << connects[1];
  EXPECT_TRUE(has(connects[2], "\"pvd\":\"cell\"")) << connects[2];
  EXPECT_TRUE(has(connects[2], "\"attempt\":2")) << connects[2];
  EXPECT_TRUE(has(connects[2], "\"errno\":0")) << connects[2];
}

// (b) Wi-Fi's router is a blackhole. Without mif curl waits for its --connect-timeout
// (2 s) and fails; under --pvd wifi --pvd cell it connects through cellular after about
// one attempt delay (250 ms).
TEST_F(NonBlockingRace, CurlRacesPastABlackholedFirstPvd) {
  breakRoute("blackhole", "wifi", svc4_);
  auto plain = lab_->exec(curl(svc4_, 2), opts());
  EXPECT_EQ(plain.status, 28) << plain.describe();  // CURLE_OPERATION_TIMEDOUT
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, curl(svc4_, 10));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "host=cellsvc client=" + cell4_)) << r.out;
  const int ms = connectMs(r.out);
  std::printf("without mif: curl timed out (2 s); raced inside curl's poll: connected in %d ms\n", ms);
  EXPECT_GE(ms, 200) << r.out;
  EXPECT_LT(ms, 3000) << r.out;
  auto connects = traceLines("connect");
  ASSERT_EQ(connects.size(), 3u);
  EXPECT_TRUE(has(connects[1], "\"pvd\":\"wifi\"")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"note\":\"lost the race\"")) << connects[1];
  EXPECT_TRUE(has(connects[2], "\"pvd\":\"cell\"")) << connects[2];
  EXPECT_TRUE(has(connects[2], "\"errno\":0")) << connects[2];
}

// Python's asyncio (epoll) with the blackhole: without mif its own 2 s timeout ends the
// wait; under mif it connects through cellular. Python's socket with a timeout (a
// non-blocking connect and poll inside CPython) gets the same.
TEST_F(NonBlockingRace, PythonAsyncioAndSocketTimeoutsRace) {
  breakRoute("blackhole", "wifi", svc4_);
  const std::vector<std::string> asyncio = {"/usr/bin/python3", "-c", kAsyncio, svc4_};
  auto plain = lab_->exec(asyncio, opts().withEnv("TIMEOUT=2"));
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_TRUE(has(plain.out, "error TimeoutError")) << plain.out;
  auto r = run({"--pvd", "wifi", "--pvd", "cell"}, asyncio, opts().withEnv("TIMEOUT=10"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "ok ms ")) << r.out;
  EXPECT_TRUE(has(r.out, "local " + cell4_ + " | proto=http host=cellsvc client=" + cell4_)) << r.out;
  std::printf("asyncio raced: %s", r.out.c_str());
  EXPECT_LT(msOf(r.out, "ok"), 3000) << r.out;

  const std::string timeoutScript =
      "import socket, time\n"
      "s = socket.socket(); s.settimeout(10); t0 = time.monotonic()\n"
      "s.connect(('" + svc4_ + "', 80))\n"
      "print('ok ms %d local %s' % ((time.monotonic() - t0) * 1000, s.getsockname()[0]))\n";
  r = run({"--pvd", "wifi", "--pvd", "cell"}, {"/usr/bin/python3", "-c", timeoutScript});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "local " + cell4_)) << r.out;
  EXPECT_LT(msOf(r.out, "ok"), 3000) << r.out;
}

// 200 descriptors in one epoll set beside the racing one (edge-triggered): all keep
// working, and the racing descriptor reports exactly one EPOLLOUT edge, through cellular,
// whether it was registered after its connect or before.
// Without mif the edge never comes within the 2 s the program waits.
TEST_F(NonBlockingRace, AnEpollSetOf200KeepsWorkingAndSeesOneEdge) {
  breakRoute("blackhole", "wifi", svc4_);
  auto plain = lab_->exec({"/usr/bin/python3", "-c", kEpoll200, svc4_, "2"}, opts());
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_TRUE(has(plain.out, "pairs 100 100 edges 0 ")) << plain.out;
  auto r = run({"--pvd", "wifi", "--pvd", "cell"}, {"/usr/bin/python3", "-c", kEpoll200, svc4_, "10"});
  ASSERT_TRUE(r.ok()) << r.describe();
  std::printf("%s", r.out.c_str());
  EXPECT_TRUE(has(r.out, "pairs 100 100 edges 1 more 0 err 0 ")) << r.out;
  EXPECT_TRUE(has(r.out, "local " + cell4_ + " | proto=http host=cellsvc client=" + cell4_)) << r.out;
  // Registered before the connect (nginx's order): learnt from the kernel at the first wait.
  r = run({"--pvd", "wifi", "--pvd", "cell"}, {"/usr/bin/python3", "-c", kEpoll200, svc4_, "10"},
          opts().withEnv("REGISTER_FIRST=1"));
  ASSERT_TRUE(r.ok()) << r.describe();
  std::printf("registered first: %s", r.out.c_str());
  EXPECT_TRUE(has(r.out, "pairs 100 100 edges 1 more 0 err 0 ")) << r.out;
  EXPECT_TRUE(has(r.out, "local " + cell4_ + " | proto=http host=cellsvc client=" + cell4_)) << r.out;
}

// IPv6, and the options the program set before connecting: with Wi-Fi blackholed for the
// destination's IPv6 address, the program's own 1 s poll ends with nothing without mif;
// under --pvd wifi --pvd cell its descriptor is connected through cellular's IPv6 source
// and keeps SO_KEEPALIVE, TCP_NODELAY, SO_RCVBUF and O_NONBLOCK (the winner is a fresh
// socket), and Wi-Fi, which lost after a whole attempt delay, is degraded (item 4).
TEST_F(NonBlockingRace, Ipv6RaceKeepsTheProgramsOptionsAndDegradesTheLoser) {
  ASSERT_FALSE(svc6_.empty());
  breakRoute("blackhole", "wifi", svc4_, svc6_);
  auto plain = lab_->exec({"/usr/bin/python3", "-c", kOptions, svc6_, "1"}, opts());
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_TRUE(has(plain.out, "timeout ms ")) << plain.out;
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_},
               {"/usr/bin/python3", "-c", kOptions, svc6_, "10"});
  ASSERT_TRUE(r.ok()) << r.describe();
  std::printf("IPv6, non-blocking: %s", r.out.c_str());
  EXPECT_TRUE(has(r.out, "local " + cell6_ + " fd_same 1 nonblocking 1 nodelay 1 keepalive 1 rcvbuf 100000 | "
                         "proto=http host=cellsvc client=" + cell6_)) << r.out;
  EXPECT_LT(msOf(r.out, "ok"), 3000) << r.out;
  auto connects = traceLines("connect");
  ASSERT_EQ(connects.size(), 3u) << r.out;
  EXPECT_TRUE(has(connects[1], "\"pvd\":\"wifi\"")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"note\":\"lost the race\"")) << connects[1];
  EXPECT_TRUE(has(connects[2], "\"pvd\":\"cell\"")) << connects[2];
  EXPECT_TRUE(has(connects[2], "\"errno\":0")) << connects[2];
  auto health = traceLines("health");
  ASSERT_EQ(health.size(), 1u) << r.out;
  EXPECT_TRUE(has(health[0], "\"pvd\":\"wifi\"")) << health[0];
  EXPECT_TRUE(has(health[0], "\"from\":\"usable\",\"to\":\"degraded\"")) << health[0];
}

// select and SO_ERROR: with the blackhole, through cellular (without mif: the program's own
// 2 s limit); when every PvD answers unreachable, the program reads the first PvD's error
// from SO_ERROR, as without mif, and the trace shows both attempts.
TEST_F(NonBlockingRace, SelectAndSoErrorSeeTheRaceAndTheFirstError) {
  breakRoute("blackhole", "wifi", svc4_);
  auto plain = lab_->exec({"/usr/bin/python3", "-c", kSelect, svc4_, "2"}, opts());
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_TRUE(has(plain.out, "timeout ms ")) << plain.out;
  auto r = run({"--pvd", "wifi", "--pvd", "cell"}, {"/usr/bin/python3", "-c", kSelect, svc4_, "10"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "ok ms ")) << r.out;
  EXPECT_TRUE(has(r.out, "local " + cell4_)) << r.out;
  EXPECT_LT(msOf(r.out, "ok"), 3000) << r.out;

  const std::string nowhere = "203.0.113.99";
  breakRoute("unreachable", "wifi", nowhere);
  breakRoute("unreachable", "cell", nowhere);
  plain = lab_->exec({"/usr/bin/python3", "-c", kSelect, nowhere, "5"}, opts());
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_TRUE(has(plain.out, "EHOSTUNREACH ms ")) << plain.out;
  r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_},
          {"/usr/bin/python3", "-c", kSelect, nowhere, "5"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(has(r.out, "EHOSTUNREACH ms ")) << r.out;
  auto connects = traceLines("connect");
  ASSERT_EQ(connects.size(), 3u) << r.out;
  EXPECT_TRUE(has(connects[1], "\"attempt\":1")) << connects[1];
  EXPECT_TRUE(has(connects[1], "\"error\":\"EHOSTUNREACH\"")) << connects[1];
  EXPECT_TRUE(has(connects[2], "\"pvd\":\"cell\"")) << connects[2];
  EXPECT_TRUE(has(connects[2], "\"attempt\":2")) << connects[2];
}

// A strict pin races only within its own list: pinned to Wi-Fi alone, curl times out and
// nothing leaves through cellular.
TEST_F(NonBlockingRace, AStrictPinRacesOnlyWithinItsList) {
  breakRoute("blackhole", "wifi", svc4_);
  auto cell = lab_->capture("cell", "host " + svc4_);
  ASSERT_TRUE(cell.running()) << cell.error();
  auto r = run({"--pvd", "wifi", "--strict"}, curl(svc4_, 1));
  EXPECT_EQ(r.status, 28) << r.describe();
  cell.stop();
  EXPECT_EQ(cell.count(), 0u) << "a packet left through cellular under a strict Wi-Fi pin";
}

// A working first PvD: nothing is raced, no second attempt, not a packet through cellular.
TEST_F(NonBlockingRace, AWorkingFirstPvdIsNotRaced) {
  const std::string www = lab_->hostAddr4("www");
  auto cell = lab_->capture("cell", "host " + www);
  ASSERT_TRUE(cell.running()) << cell.error();
  auto r = run({"--pvd", "wifi", "--pvd", "cell", "--trace=" + trace_}, curl(www, 5));
  ASSERT_TRUE(r.ok()) << r.describe();
  cell.stop();
  EXPECT_EQ(cell.count(), 0u) << "a second attempt went through cellular";
  EXPECT_TRUE(has(r.out, "client=" + lab_->addr4("wifi"))) << r.out;
  auto connects = traceLines("connect");
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_FALSE(has(connects[0], "\"attempt\"")) << connects[0];
}

}  // namespace
