// AutoencoderKLWan configuration (diffusers vae/config.json), Wan2.1 layout.
#pragma once
#include <vector>

#include "io/json_config.h"

namespace sv::wan_vae {

struct Config {
  int64_t base_dim = 96, decoder_base_dim = 96, z_dim = 16, num_res_blocks = 2, in_channels = 3, out_channels = 3;
  std::vector<int64_t> dim_mult{1, 2, 4, 4};
  std::vector<bool> temperal_downsample{false, true, true};
  std::vector<double> latents_mean, latents_std;
  int64_t scale_factor_temporal = 4, scale_factor_spatial = 8;

  static Config from_json(const io::JsonConfig& j);
};

}  // namespace sv::wan_vae
