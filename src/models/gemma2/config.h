// Gemma2Config (transformers text_encoder/config.json).
#pragma once
#include <string>
#include <vector>

#include "io/json_config.h"

namespace sv::gemma2 {

struct Config {
  int64_t vocab_size = 256000, hidden_size = 2304, intermediate_size = 9216, num_hidden_layers = 26;
  int64_t num_attention_heads = 8, num_key_value_heads = 4, head_dim = 256;
  double rms_norm_eps = 1e-6, rope_theta = 10000.0, query_pre_attn_scalar = 256;
  double attn_logit_softcapping = 50.0;  // <= 0: off
  int64_t sliding_window = 4096;
  std::vector<bool> sliding;  // per layer
  bool attention_bias = false;

  static Config from_json(const io::JsonConfig& j);
};

}  // namespace sv::gemma2
