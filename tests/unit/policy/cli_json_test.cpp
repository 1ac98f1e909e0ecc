// The --json output of every mif command (check, explain, show, probe, lab status), run as
// processes and parsed by python3's json module, with strings that need escaping (a quote,
// a backslash, a tab, DEL, a byte that is not UTF-8) wherever the command lets one in: a
// policy file's name, the lab's name, an app name, an interface glob, a TOML key. Each such
// string must come back byte for byte (bytes that are not UTF-8 as surrogate escapes:
// mif/policy/json.h).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

// Not valid in any JSON string as it is, nor as UTF-8 (the last byte).
const std::string kOdd = "we\"ird\\\t\x7f\xff";

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Loads the JSON of argv[1] strictly (bytes, so that invalid UTF-8 fails too) and prints
// the value of the Python expression argv[2] over it (`d`): a string as the bytes it
// stands for, anything else as JSON.
const char* kPython = R"(import json, sys
d = json.loads(open(sys.argv[1], "rb").read())
v = eval(sys.argv[2], {"d": d})
if isinstance(v, str):
    sys.stdout.buffer.write(v.encode("utf-8", "surrogateescape"))
else:
    sys.stdout.write(json.dumps(v))
)";

class CliJson : public testing::Test {
 protected:
  void SetUp() override {
    if (::access(MIF_BINARY, X_OK) != 0) GTEST_SKIP() << MIF_BINARY << " not built";
    if (std::system("python3 -c 'import json' 2>/dev/null") != 0) GTEST_SKIP() << "no python3";
    char tmpl[] = "/tmp/mif-cli-json-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/get.py") << kPython;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + quote(dir_)).c_str());
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  // mif ARGS with ENV (VAR=VALUE ..., already quoted), outside any lab and with no user
  // layer of this machine.
  Result mif(const std::string& args, const std::string& env = "") {
    std::string cmd = "env -u MIF_LAB -u MIF_LAB_POLICY XDG_CONFIG_HOME=" + quote(dir_ + "/xdg") +
                      " " + env + " " + MIF_BINARY + " " + args + " >" + quote(dir_ + "/out") +
                      " 2>" + quote(dir_ + "/err");
    int st = std::system(cmd.c_str());
    Result r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(dir_ + "/out");
    r.err = slurp(dir_ + "/err");
    return r;
  }
  // EXPR over the JSON `text`, as python3 sees it; "PARSE ERROR: ..." when it does not load.
  std::string get(const std::string& text, const std::string& expr) {
    std::string json = write("value.json", text);
    std::string cmd = "python3 " + quote(dir_ + "/get.py") + " " + quote(json) + " " + quote(expr) +
                      " >" + quote(dir_ + "/py.out") + " 2>" + quote(dir_ + "/py.err");
    int st = std::system(cmd.c_str());
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return "PARSE ERROR: " + slurp(dir_ + "/py.err");
    return slurp(dir_ + "/py.out");
  }
  std::string dir_;
};

TEST_F(CliJson, CheckWithAnOddFileNameAndKey) {
  // An unknown key (TOML keys may hold a quote, a backslash, a tab and DEL) and a bad prefix.
  std::string f = write(kOdd + ".toml",
                        "[pvd.corp]\ninterface = \"tun0\"\nprefixes = [\"10.0.0.0/33\"]\n"
                        "[[rule]]\npvd = \"corp\"\n\"k\\\"e\\\\y\\t\\u007f\" = 1\n");
  Result r = mif("check --system-policy '' --user-policy '' --json " + quote(f));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(get(r.out, "len(d)"), "2") << r.out;
  EXPECT_EQ(get(r.out, "d[0]['file']"), f) << r.out;
  EXPECT_EQ(get(r.out, "d[1]['file']"), f) << r.out;
  EXPECT_EQ(get(r.out, "[d[0]['line'], d[0]['column'], d[0]['severity']]"), "[3, 13, \"error\"]") << r.out;
  EXPECT_NE(get(r.out, "d[1]['message']").find("'k\"e\\y\t\x7f'"), std::string::npos) << r.out;
  // The DEL is written as \u007f, and the byte that is not UTF-8 as \udcff.
  EXPECT_NE(r.out.find("\\t\\u007f\\udcff.toml\""), std::string::npos) << r.out;

  std::string ok = write(kOdd + "-ok.toml", "[pvd.corp]\ninterface = \"tun0\"\n");
  Result good = mif("check --system-policy '' --user-policy '' --json " + quote(ok));
  EXPECT_EQ(good.status, 0) << good.err;
  EXPECT_EQ(get(good.out, "d"), "[]") << good.out;
}

TEST_F(CliJson, ExplainWithAnOddPolicyFileAndApp) {
  std::string f = write(kOdd + ".toml",
                        "[pvd.wifi]\ninterface = \"wl*\"\n[pvd.corp]\ninterface = \"tun0\"\n"
                        "domains = [\"corp.example\"]\n[[rule]]\ndst = \"203.0.113.0/24\"\n"
                        "pvd = \"corp\"\n[default]\npvd = \"wifi\"\n");
  Result r = mif("explain --system-policy '' --user-policy '' --policy " + quote(f) +
                 " --assume-usable --app " + quote(kOdd) + " --json 203.0.113.7:443");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(get(r.out, "d['target']"), "203.0.113.7:443") << r.out;
  EXPECT_EQ(get(r.out, "d['policy_layers'][0]['file']"), f) << r.out;
  EXPECT_EQ(get(r.out, "d['policy_layers'][0]['from']"), "--policy") << r.out;
  EXPECT_EQ(get(r.out, "d['decisions'][0]['app']"), kOdd) << r.out;
  EXPECT_EQ(get(r.out, "d['decisions'][0]['rule']"), f + ":6") << r.out;
  EXPECT_EQ(get(r.out, "d['decisions'][0]['matches'][0]['where']"), f + ":6") << r.out;
  EXPECT_EQ(get(r.out, "[d['decisions'][0][k] for k in ('port', 'proto', 'name', 'dscp', 'strict')]"),
            "[443, \"tcp\", null, null, false]")
      << r.out;
  EXPECT_EQ(get(r.out, "d['decisions'][0]['step']"), "{\"number\": 3, \"name\": \"rule\"}") << r.out;
  EXPECT_EQ(get(r.out, "[p['name'] for p in d['decisions'][0]['pvds']]"), "[\"corp\"]") << r.out;

  Result name = mif("explain --system-policy '' --user-policy '' --policy " + quote(f) +
                    " --assume-usable --json wiki.corp.example:443");
  ASSERT_EQ(name.status, 0) << name.err;
  EXPECT_EQ(get(name.out, "[x['query'] for x in d['decisions']]"), "[\"resolve\", \"connect\"]") << name.out;
  EXPECT_EQ(get(name.out, "d['decisions'][0]['name']"), "wiki.corp.example") << name.out;
}

TEST_F(CliJson, ShowWithAnOddLabNameAndGlob) {
  // Inside 'mif lab exec', the lab's name and its policy's path are in policy_layers.
  std::string f = write(kOdd + ".toml", "[pvd.odd]\ninterface = \"tu\\\"n\\\\9\"\n");
  Result r = mif("show --json", "MIF_LAB=" + quote(kOdd) + " MIF_LAB_POLICY=" + quote(f));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(get(r.out, "d['policy_layers'][-1]['file']"), f) << r.out;
  EXPECT_EQ(get(r.out, "d['policy_layers'][-1]['from']"), "lab " + kOdd + ", MIF_LAB_POLICY") << r.out;
  EXPECT_EQ(get(r.out, "[p['match'] for p in d['pvds'] if p['name'] == 'odd'][0]"), "tu\"n\\9") << r.out;
  EXPECT_EQ(get(r.out, "type(d['generation']).__name__"), "int") << r.out;
  EXPECT_EQ(get(r.out, "isinstance(d['interfaces'], list) and d['error'] is None"), "true") << r.out;
}

TEST_F(CliJson, ProbeWithAnOddGlob) {
  // A PvD whose interface is not there: probed without sending anything, and the glob (a
  // quote and a backslash: whitespace and control bytes are refused in interface names) is
  // in the reason.
  const std::string glob = "tu\"n\\9";
  std::string f = write(kOdd + ".toml", "[pvd.odd]\ninterface = \"tu\\\"n\\\\9\"\n"
                                        "dns = [\"192.0.2.53\"]\n");
  Result r = mif("probe --policy " + quote(f) + " --pvd odd --count 1 --timeout 50 --json");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(get(r.out, "[d['count'], d['timeout_ms']]"), "[1, 50]") << r.out;
  EXPECT_EQ(get(r.out, "d['pvds'][0]['why']"), "no interface matches '" + glob + "'") << r.out;
  EXPECT_EQ(get(r.out, "[d['pvds'][0][k] for k in ('name', 'interface', 'verdict', 'median_rtt_ms', 'checks')]"),
            "[\"odd\", null, \"down\", null, []]")
      << r.out;
}

TEST_F(CliJson, LabStatus) {
  // Whatever labs are up on this machine: the output parses and has its two lists.
  Result r = mif("lab status --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(get(r.out, "[isinstance(d['topologies'], list), isinstance(d['orphan_namespaces'], list)]"),
            "[true, true]")
      << r.out;
  EXPECT_EQ(get(r.out, "all(set(t) == {'name', 'file', 'namespaces', 'namespaces_present', 'processes', "
                       "'state'} for t in d['topologies'])"),
            "true")
      << r.out;
}

}  // namespace
