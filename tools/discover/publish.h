#pragma once
// Writes the PvD files of `mif discover` (format: mif/view/published_pvds.h,
// docs/discovery.md): one per PvD under DIR, each replaced atomically (a temporary
// ".NAME.XXXXXX" in DIR, written, fsync'd, renamed over NAME), so that a reader sees the
// old file or the new one, never a part. Files of PvDs that ended are removed.
#include <string>
#include <vector>

#include "mif/view/published_pvds.h"

namespace mif::discover {

class Publisher {
 public:
  explicit Publisher(std::string dir) : dir_(std::move(dir)) {}
  // Creates DIR (and its parent) readable by everyone; false with `why`.
  bool prepare(std::string& why);
  // Makes DIR hold exactly `pvds`: writes those whose text changed, removes the others
  // (those this publisher wrote, and any left by an earlier run). False with `why` when a
  // write failed (the previous file then stays).
  bool publish(const std::vector<view::PublishedPvd>& pvds, std::string& why);
  // Removes every file it published (the listener is stopping: nothing keeps them true).
  void withdrawAll();
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::pair<std::string, std::string>> written_;  // name, text
};

}  // namespace mif::discover
