#include "mif/policy/layers.h"

#include <filesystem>

#include "mif/policy/loader.h"

namespace mif::policy {

LayerFiles LayerFiles::defaults() {
  LayerFiles f;
  f.system = systemPolicyPath();
  f.user = userPolicyPath();
  return f;
}

LoadedLayers loadLayers(const LayerFiles& files) {
  LoadedLayers out;
  auto load = [&](const std::string& path, Layer layer, bool optional) {
    if (path.empty()) return;
    std::error_code ec;
    if (optional && !std::filesystem::exists(path, ec)) return;
    LoadResult r = loadFile(path, layer);
    out.diagnostics.insert(out.diagnostics.end(), r.diagnostics.begin(), r.diagnostics.end());
    out.docs.push_back(std::move(r.doc));
  };
  load(files.system, Layer::System, true);
  load(files.user, Layer::User, true);
  load(files.commandLine, Layer::CommandLine, false);
  return out;
}

}  // namespace mif::policy
