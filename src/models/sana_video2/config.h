// SANA-Video 2.0 transformer configuration. The release ships a training config.yaml; `sana-video convert`
// turns its model section into this config.json (class "SanaVideo2Transformer"), which the engine reads.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "io/json_config.h"

namespace sv::sana_video2 {

struct Config {
  int64_t hidden_size = 2560;
  int64_t depth = 32;
  int64_t num_heads = 20;  // cross-attention heads
  int64_t linear_head_dim = 128;
  int64_t softmax_head_dim = 256;
  std::vector<int64_t> softmax_layers{3, 7, 11, 15, 19, 23, 27, 31};
  int64_t attn_res_block_size = 8;
  int64_t mlp_hidden = 10240;
  int64_t in_channels = 128;
  int64_t out_channels = 128;
  int64_t caption_channels = 2304;
  int64_t rope_max_seq_len = 1024;
  std::array<int64_t, 3> patch_size{1, 1, 1};
  double timestep_norm_scale_factor = 1.0;
  // The first release's linear-attention normaliser (removed upstream; it cancels in o_norm up to eps).
  bool linear_attention_normalizer = false;

  int64_t linear_heads() const { return hidden_size / linear_head_dim; }
  int64_t softmax_heads() const { return hidden_size / softmax_head_dim; }
  bool is_softmax_layer(int64_t i) const;
  int64_t patch_volume() const { return patch_size[0] * patch_size[1] * patch_size[2]; }

  // The official layer selection: max(1, int(depth * ratio)) anchors, every depth/count-th layer's last.
  static std::vector<int64_t> softmax_layers_for(int64_t depth, double ratio);
  static Config from_json(const io::JsonConfig& j);
  nlohmann::json to_json() const;
};

}  // namespace sv::sana_video2
