// SanaVideoTransformer3DModel configuration (diffusers transformer/config.json).
#pragma once
#include <array>
#include <string>

#include "io/json_config.h"

namespace sv::sana_dit {

struct Config {
  int64_t in_channels = 16;
  int64_t out_channels = 16;
  int64_t num_attention_heads = 20;
  int64_t attention_head_dim = 112;
  int64_t num_layers = 20;
  int64_t num_cross_attention_heads = 20;
  int64_t cross_attention_head_dim = 112;
  int64_t cross_attention_dim = 2240;
  int64_t caption_channels = 2304;
  double mlp_ratio = 2.5;
  bool attention_bias = false;
  int64_t sample_size = 30;
  std::array<int64_t, 3> patch_size{1, 2, 2};
  bool norm_elementwise_affine = false;
  double norm_eps = 1e-6;
  bool guidance_embeds = false;
  bool qk_norm = true;  // "rms_norm_across_heads" (true) or null (false)
  int64_t rope_max_seq_len = 1024;

  int64_t inner_dim() const { return num_attention_heads * attention_head_dim; }
  int64_t cross_inner_dim() const { return num_cross_attention_heads * cross_attention_head_dim; }
  int64_t ffn_hidden() const { return static_cast<int64_t>(mlp_ratio * static_cast<double>(inner_dim())); }
  int64_t patch_volume() const { return patch_size[0] * patch_size[1] * patch_size[2]; }

  // Parses and validates; errors name the file and the field.
  static Config from_json(const io::JsonConfig& j);
};

}  // namespace sv::sana_dit
