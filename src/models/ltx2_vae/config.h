// AutoencoderKLLTX2Video configuration (diffusers vae/config.json). Lists are kept as diffusers takes
// them: the decoder reverses its channel, depth, scaling, residual and factor lists (encoder order), but
// not upsample_type, which is already in decoder order. Options the engine does not implement
// are refused by name in from_json.
#pragma once
#include <string>
#include <vector>

#include "io/json_config.h"

namespace sv::ltx2_vae {

struct Config {
  int64_t in_channels = 3, out_channels = 3, latent_channels = 128, patch_size = 4, patch_size_t = 1;
  std::vector<int64_t> block_out_channels{256, 512, 1024, 2048};
  std::vector<int64_t> decoder_block_out_channels{256, 512, 1024};
  std::vector<int64_t> layers_per_block{4, 6, 6, 2, 2};
  std::vector<int64_t> decoder_layers_per_block{5, 5, 5, 5};
  std::vector<bool> spatio_temporal_scaling{true, true, true, true};
  std::vector<bool> decoder_spatio_temporal_scaling{true, true, true};
  std::vector<bool> upsample_residual{true, true, true};
  std::vector<std::string> downsample_type{"spatial", "temporal", "spatiotemporal", "spatiotemporal"};
  std::vector<std::string> upsample_type{"spatiotemporal", "spatiotemporal", "spatiotemporal"};
  std::vector<int64_t> upsample_factor{2, 2, 2};
  bool encoder_causal = true, decoder_causal = true;
  bool encoder_reflect = false, decoder_reflect = true;  // spatial padding modes ("zeros" / "reflect")
  double scaling_factor = 1.0;
  // The compression factors from the block structure (patch x every halving); the config's
  // spatial/temporal_compression_ratio must agree when given.
  int64_t spatial_factor = 32, temporal_factor = 8;

  static Config from_json(const io::JsonConfig& j);
};

// (t, h, w) stride of a down/upsampler type ("spatial", "temporal", "spatiotemporal").
std::array<int64_t, 3> sampler_stride(const std::string& type);

}  // namespace sv::ltx2_vae
