// Gemma2Model (transformers models/gemma2/modeling_gemma2.py), the decoder SANA-Video uses as its
// text encoder: returns last_hidden_state after the final norm, computed like the eager path.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "io/safetensors.h"
#include "models/gemma2/config.h"
#include "nn/linear.h"

namespace sv::gemma2 {

class Gemma2Model {
 public:
  // `dir` holds config.json and model.safetensors (or a sharded index). Keys may carry a "model." prefix.
  // `place`: the context whose device holds the weights (null: the host).
  static std::unique_ptr<Gemma2Model> load(const std::string& dir, const Context* place = nullptr);
  Gemma2Model(const Config& cfg, const io::TensorSource& weights, const Context* place = nullptr);

  const Config& config() const { return cfg_; }
  // input_ids [B, L] integer, attention_mask [B, L] (1 = token) or undefined -> [B, L, hidden] F32 on the
  // context's device.
  Tensor forward(Context& ctx, const Tensor& input_ids, const Tensor& attention_mask) const;

 private:
  struct Layer {
    nn::Linear q, k, v, o, gate, up, down;
    nn::RMSNorm in_norm, post_attn_norm, pre_ff_norm, post_ff_norm;
  };
  Config cfg_;
  Tensor embed_;
  std::vector<Layer> layers_;
  nn::RMSNorm norm_;
};

}  // namespace sv::gemma2
