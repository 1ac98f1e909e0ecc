// The one JSON writer (mif/policy/json.h): escaping of every kind of byte, the
// surrogateescape form of bytes that are not UTF-8, and fixed buffers that never overflow
// into invalid JSON. (Lines written by the library are parsed by python3's json in
// e2e_trace.)
#include "mif/policy/json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mif::json {
namespace {

TEST(Json, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(quote("plain.example"), "\"plain.example\"");
  EXPECT_EQ(quote("we\"ird\\name"), "\"we\\\"ird\\\\name\"");
  EXPECT_EQ(quote("a\tb\nc\rd\be\ff"), "\"a\\tb\\nc\\rd\\be\\ff\"");
  EXPECT_EQ(quote(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(quote(std::string("nul\0byte", 8)), "\"nul\\u0000byte\"");
}

TEST(Json, CopiesValidUtf8) {
  EXPECT_EQ(quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");                 // U+00E9
  EXPECT_EQ(quote("\xe2\x82\xac"), "\"\xe2\x82\xac\"");               // U+20AC
  EXPECT_EQ(quote("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");       // U+1F600
  EXPECT_EQ(quote("\xef\xbf\xbf\xf4\x8f\xbf\xbf"), "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"");  // edges
}

TEST(Json, WritesBytesThatAreNotUtf8AsSurrogateEscapes) {
  EXPECT_EQ(quote("\xff"), "\"\\udcff\"");
  EXPECT_EQ(quote("a\x80z"), "\"a\\udc80z\"");                        // stray continuation
  EXPECT_EQ(quote("\xe2\x82"), "\"\\udce2\\udc82\"");                 // truncated sequence
  EXPECT_EQ(quote("\xc0\xaf"), "\"\\udcc0\\udcaf\"");                 // overlong '/'
  EXPECT_EQ(quote("\xe0\x80\xaf"), "\"\\udce0\\udc80\\udcaf\"");      // overlong, 3 bytes
  EXPECT_EQ(quote("\xed\xa0\x80"), "\"\\udced\\udca0\\udc80\"");      // encoded surrogate
  EXPECT_EQ(quote("\xf4\x90\x80\x80"), "\"\\udcf4\\udc90\\udc80\\udc80\"");  // > U+10FFFF
  EXPECT_EQ(quote("\xc3\xa9\xff\xc3\xa9"), "\"\xc3\xa9\\udcff\xc3\xa9\"");  // mixed
}

TEST(Json, ObjectsOfEveryMemberKind) {
  std::string out;
  StringSink sink(&out);
  Object<StringSink> o(sink);
  std::vector<std::string> list = {"a", "b\"c"};
  o.str("name", "x\ty").num("port", 443).num("neg", -12).unum("big", 18446744073709551615ULL);
  o.boolean("strict", true).boolean("cached", false).null("rule").strings("pvds", list);
  o.raw("nested", "{\"k\":1}");
  o.close();
  EXPECT_EQ(out,
            "{\"name\":\"x\\ty\",\"port\":443,\"neg\":-12,\"big\":18446744073709551615,"
            "\"strict\":true,\"cached\":false,\"rule\":null,\"pvds\":[\"a\",\"b\\\"c\"],"
            "\"nested\":{\"k\":1}}");
}

TEST(Json, AFixedBufferCutsAStringShortAndSaysSoInsteadOfOverflowing) {
  char buf[256];
  FixedSink sink(buf, sizeof buf);
  Object<FixedSink> o(sink);
  o.str("name", std::string(1000, '"'));  // 2,000 bytes escaped
  o.num("port", 53).boolean("strict", true);
  o.close();
  const std::string line(sink.data(), sink.size());
  ASSERT_LT(line.size(), sizeof buf);
  EXPECT_EQ(line.substr(0, 9), "{\"name\":\"");
  // Whole escapes only, then the marker, then the rest of the object.
  EXPECT_NE(line.find("\\\"...\",\"port\":53,\"strict\":true,\"truncated\":true}"),
            std::string::npos)
      << line;
  // No escape cut in half: every backslash before the marker starts a \" pair.
  const size_t cut = line.find("...");
  for (size_t i = 9; i < cut; i += 2) EXPECT_EQ(line.substr(i, 2), "\\\"") << i;
}

// Found by fuzz_json: after a cut string, enough members (here 16 PvD names, as many as a
// trace line lists) used to spend the reserve and overflow the buffer, cutting the line
// into invalid JSON. What no longer fits is now left out, whole.
TEST(Json, AFixedBufferLeavesOutTheMembersThatNoLongerFitAfterACutString) {
  char buf[2047];
  FixedSink sink(buf, sizeof buf);
  Object<FixedSink> o(sink);
  o.str("name", std::string(3000, 'a'));
  std::vector<std::string> pvds;
  for (int i = 0; i < 16; ++i) pvds.push_back("pvd" + std::to_string(i));
  o.str("note", "x").strings("pvds", pvds).boolean("strict", false).str("step_name", "rule");
  o.num("us", 123456789).null("none");
  o.close();
  const std::string line(sink.data(), sink.size());
  ASSERT_LT(line.size(), sizeof buf);
  EXPECT_EQ(line.substr(line.size() - 18), ",\"truncated\":true}") << line;
  EXPECT_NE(line.find("\"pvds\":[\"...\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"],"), std::string::npos) << line;  // the array is closed
}

TEST(Json, ArraysOfStringsRawValuesAndObjectsWrittenInPlace) {
  std::string out;
  StringSink sink(&out);
  Array<StringSink> a(sink);
  a.str("we\"ird").raw("12").str("\xff");
  {
    Object<StringSink> o(a.element());
    o.str("name", "x").null("why");
    o.close();
  }
  a.close();
  EXPECT_EQ(out, "[\"we\\\"ird\",12,\"\\udcff\",{\"name\":\"x\",\"why\":null}]");

  std::string empty;
  StringSink emptySink(&empty);
  Array<StringSink>(emptySink).close();
  EXPECT_EQ(empty, "[]");
}

TEST(Json, TraceHeaderForAnotherProcess) {
  std::string out;
  StringSink sink(&out);
  Object<StringSink> o(sink);
  traceHeader(o, "connect", 4242);
  o.close();
  // {"time":"YYYY-MM-DDTHH:MM:SS.uuuuuuZ","pid":4242,"call":"connect"}
  ASSERT_EQ(out.size(), 66u) << out;
  EXPECT_EQ(out.substr(0, 9), "{\"time\":\"");
  EXPECT_EQ(out.substr(35), "Z\",\"pid\":4242,\"call\":\"connect\"}");
}

}  // namespace
}  // namespace mif::json
