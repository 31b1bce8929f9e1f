// `sana-video convert`: a thin shell over sv_convert_checkpoint.
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "sv/sv.h"

namespace sv::cli {

int convert(const std::vector<std::string>& argv) {
  const std::string cmd = "convert";
  SV_CHECK(!argv.empty() && argv[0].rfind("--", 0) != 0, cmd,
           ": name the checkpoint: convert IN.pth [--config config.yaml] -o OUT [--key state_dict]");
  const std::string in = argv[0];
  Args args({argv.begin() + 1, argv.end()}, {"-o", "--output", "--config", "--key"}, cmd);
  SV_CHECK(args.has("-o") || args.has("--output"), cmd, ": missing required option -o OUT");
  const std::string out = args.has("-o") ? args.get("-o", cmd) : args.get("--output", cmd);
  const std::string config = args.has("--config") ? args.get("--config", cmd) : "";
  const std::string key = args.has("--key") ? args.get("--key", cmd) : "";
  char err[1024] = {0};
  const sv_status st = sv_convert_checkpoint(in.c_str(), config.empty() ? nullptr : config.c_str(), out.c_str(),
                                             key.empty() ? nullptr : key.c_str(), err, sizeof err);
  SV_CHECK(st == SV_OK, err);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace sv::cli
