// Minimal "--key value" option parsing shared by CLI subcommands.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/error.h"
#include "models/video_vae.h"

namespace sv::cli {

class Args {
 public:
  Args(const std::vector<std::string>& argv, const std::set<std::string>& known, const std::string& cmd) {
    for (size_t i = 0; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      SV_CHECK(known.count(a), cmd, ": unknown option '", a, "'");
      SV_CHECK(i + 1 < argv.size(), cmd, ": option ", a, " needs a value");
      values_[a] = argv[++i];
      all_[a].push_back(values_[a]);
    }
  }
  bool has(const std::string& k) const { return values_.count(k) != 0; }
  std::string get(const std::string& k, const std::string& cmd) const {
    auto it = values_.find(k);
    SV_CHECK(it != values_.end(), cmd, ": missing required option ", k);
    return it->second;
  }
  std::vector<std::string> get_all(const std::string& k) const {
    auto it = all_.find(k);
    return it == all_.end() ? std::vector<std::string>{} : it->second;
  }
  int get_int(const std::string& k, int def, const std::string& cmd) const {
    auto it = values_.find(k);
    if (it == values_.end()) return def;
    try {
      size_t pos = 0;
      const int v = std::stoi(it->second, &pos);
      SV_CHECK(pos == it->second.size(), "");
      return v;
    } catch (const std::exception&) {
      SV_THROW(cmd, ": option ", k, " expects an integer, got '", it->second, "'");
    }
  }
  // The runners' context: --device (default cpu) and --dtype (default fp32) with --threads.
  Context context(const std::string& cmd) const {
    const Placement p = parse_placement(has("--device") ? get("--device", cmd) : "cpu",
                                        has("--dtype") ? get("--dtype", cmd) : "fp32");
    return Context(p.device, get_int("--threads", 0, cmd), p.index, p.compute);
  }

  // diffusers' vae.enable_tiling(): --vae-tiling 1 with its defaults (512 px tiles, 448 px stride);
  // --vae-tile PX / --vae-tile-stride PX set both sides (and turn tiling on; the stride defaults to
  // min(448, tile), as in the C API).
  VaeTiling vae_tiling(const std::string& cmd) const {
    const int tile = get_int("--vae-tile", 0, cmd), stride = get_int("--vae-tile-stride", 0, cmd);
    SV_CHECK((!has("--vae-tile") || tile > 0) && (!has("--vae-tile-stride") || stride > 0), cmd,
             ": --vae-tile and --vae-tile-stride take a positive number of pixels");
    return VaeTiling::square(get_int("--vae-tiling", 0, cmd) != 0 || has("--vae-tile") || has("--vae-tile-stride"), tile,
                             stride);
  }
  static std::set<std::string> with_tiling(std::set<std::string> known) {
    known.insert({"--vae-tiling", "--vae-tile", "--vae-tile-stride"});
    return known;
  }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_;
};

}  // namespace sv::cli
