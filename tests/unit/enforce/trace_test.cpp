// The --enforce supervisor's trace lines (tools/enforce/trace.h): written through the one
// JSON writer, one whole line per record, parsed back by python3's json module with their
// odd strings intact (a quote, a backslash, a tab, DEL, a byte that is not UTF-8).
#include "enforce/trace.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace mif::enforce {
namespace {

using policy::IpAddress;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(EnforceTrace, LinesParseWithEveryFieldAndOddStringsIntact) {
  if (std::system("python3 -c 'import json' 2>/dev/null") != 0) GTEST_SKIP() << "no python3";
  char tmpl[] = "/tmp/mif-enforce-trace-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string odd = "we\"ird\\\t\x7f\xff";
  {
    Trace t;
    ASSERT_TRUE(t.open(dir + "/trace.jsonl"));
    Endpoint v6{*IpAddress::parse("2001:db8::7"), 443, false};
    TraceRecord r;
    r.call = "connect";
    r.pid = 4242;
    r.destination = &v6;
    r.pvd = odd;
    r.interface = "tun0";
    r.source = "2001:db8::1";
    r.step = 3;
    const std::string rule = "/tmp/" + odd + ".toml:7";
    r.rule = rule;
    r.action = "refused";
    r.error = 101;
    t.write(r);
    TraceRecord none;  // nothing decided, no destination
    none.call = "socket";
    none.pid = 4243;
    none.action = "unmanaged";
    t.write(none);
  }
  // Each line: its keys in order, then every value; strings as the bytes they stand for.
  std::ofstream(dir + "/check.py") << R"(import json, sys
for raw in open(sys.argv[1], "rb").read().split(b"\n")[:-1]:
    d = json.loads(raw)
    print(",".join(d))
    print(d["time"][:2] == "20" and d["time"][-1] == "Z" and len(d["time"]) == 27)
    for k in list(d)[1:]:
        v = d[k]
        sys.stdout.flush()
        sys.stdout.buffer.write((v.encode("utf-8", "surrogateescape") if isinstance(v, str) else json.dumps(v).encode()) + b"|")
    print()
)";
  const std::string cmd = "python3 " + dir + "/check.py " + dir + "/trace.jsonl >" + dir + "/out 2>&1";
  const int st = std::system(cmd.c_str());
  const std::string out = slurp(dir + "/out");
  std::system(("rm -rf " + dir).c_str());
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << out;
  const std::string keys = "time,pid,call,destination,pvd,interface,source,step,rule,action,errno,by\n";
  EXPECT_EQ(out, keys + "True\n4242|connect|[2001:db8::7]:443|" + odd + "|tun0|2001:db8::1|3|/tmp/" + odd +
                     ".toml:7|refused|101|enforce|\n" + keys +
                     "True\n4243|socket|||||0||unmanaged|0|enforce|\n");
}

}  // namespace
}  // namespace mif::enforce
