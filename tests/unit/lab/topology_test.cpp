// Topology files: the `delay` key (a PvD's added round trip, relayed by `mif lab delay`
// since this kernel has no netem) and its errors, which name file:line:column as every
// other key's do.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "lab/lab.h"

namespace {

class Topology : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mif-lab-topology-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  // A one-PvD topology whose [pvd.cell] section ends with EXTRA (line 4 onwards).
  std::string write(const std::string& extra) {
    const std::string file = dir_ + "/t.toml";
    std::ofstream(file) << "[pvd.cell]\nnode = [\"198.51.100.10/24\"]\n"
                           "router = [\"198.51.100.1/24\"]\n"
                        << extra;
    return file;
  }
  bool load(const std::string& extra, mif::lab::Topology& t, std::string& error) {
    return mif::lab::loadTopology(write(extra), t, error);
  }
  std::string dir_;
};

TEST_F(Topology, DelayIsTheRoundTripAddedInMicroseconds) {
  for (auto [text, us] : {std::pair{"40ms", 40'000L}, std::pair{"500us", 500L},
                          std::pair{"2s", 2'000'000L}, std::pair{"10s", 10'000'000L},
                          std::pair{"1us", 1L}}) {
    mif::lab::Topology t;
    std::string error;
    ASSERT_TRUE(load(std::string("delay = \"") + text + "\"\n", t, error)) << text << ": " << error;
    ASSERT_EQ(t.pvds.size(), 1u);
    EXPECT_EQ(t.pvds[0].delayUs, us) << text;
  }
  mif::lab::Topology t;
  std::string error;
  ASSERT_TRUE(load("", t, error)) << error;
  EXPECT_EQ(t.pvds[0].delayUs, 0) << "no delay unless asked for";
}

TEST_F(Topology, ABadDelayNamesItsPosition) {
  for (const char* value : {"\"40\"", "40", "\"0ms\"", "\"11s\"", "\"4.5ms\"", "\"40 ms\"",
                            "\"-5ms\"", "\"40msec\"", "\"\"", "\"999999999ms\""}) {
    mif::lab::Topology t;
    std::string error;
    const std::string file = write(std::string("delay = ") + value + "\n");
    EXPECT_FALSE(mif::lab::loadTopology(file, t, error)) << value;
    EXPECT_EQ(error, file + ":4:9: error: 'delay' must be a string such as \"40ms\" (the time "
                            "added to the round trip: an integer and us, ms or s, from 1us to 10s)")
        << value;
  }
}

TEST_F(Topology, ADelayOnASharedSegmentIsRefused) {
  mif::lab::Topology t;
  std::string error;
  const std::string file = write("segment = \"lan\"\ndelay = \"20ms\"\n");
  EXPECT_FALSE(mif::lab::loadTopology(file, t, error));
  EXPECT_EQ(error, file + ":5:9: error: 'delay' applies to a link of its own, not to a segment");
}

}  // namespace

// Run from a build tree, the built-in topologies are those of the sources it was built
// from, wherever the build ran from (they were looked up beside __FILE__, which a ccache
// build with CCACHE_BASEDIR makes relative: no built-in was found then).
TEST(TopologyBuiltins, AreFoundFromAnyWorkingDirectory) {
  const char* cwd = "/";
  ASSERT_EQ(::chdir(cwd), 0);
  const auto names = mif::lab::builtinTopologies();
  EXPECT_NE(std::find(names.begin(), names.end(), "oneway"), names.end()) << names.size();
  mif::lab::Topology t;
  std::string error;
  ASSERT_TRUE(mif::lab::loadTopology("oneway", t, error)) << error;
  EXPECT_NE(t.pvd("cell"), nullptr);
}
