#pragma once
// What running programs' probers published of a PvD (mif/view/probe_results.h,
// view::runningProbes), as `mif show` prints it in its `probes` field and `mif probe`
// beside its own verdicts. Written in cmd_show.cpp, by the field itself: one writer.
#include <string>
#include <string_view>
#include <vector>

#include "mif/view/probe_results.h"

namespace mif::cmd {

// One line per program whose prober judged PvD `pvd`: "VERDICT [portal P] age Ns pid N
// program NAME" (as `mif show`'s "probe" lines after the label).
std::vector<std::string> runningProbesText(const std::vector<view::ProbeFile>& files,
                                           std::string_view pvd);
// The same as a JSON array of {"verdict", "portal", "age", "pid", "program"}.
std::string runningProbesJson(const std::vector<view::ProbeFile>& files, std::string_view pvd);

}  // namespace mif::cmd
