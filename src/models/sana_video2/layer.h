// One SANA-Video 2.0 layer (official SanaVideo2Block) as its two attention-residual sub-layers. There is
// no running hidden state: each sub-layer gets a routed input and returns a delta that the transformer
// adds into the current block sum.
#pragma once
#include <string>

#include "core/context.h"
#include "io/weight_binder.h"
#include "models/sana_video2/config.h"
#include "nn/linear.h"

namespace sv::sana_video2 {

// Per-forward data shared by all layers.
struct LayerInputs {
  const Tensor* y;          // [B, L, D] caption after projection and norm
  const Tensor* text_bias;  // [B, L] additive (-10000 on masked tokens) or null
  const Tensor* t0;         // [B, T, 6D]; T = 1, frames or tokens (rows serve N/T consecutive tokens)
  const Tensor* cos_linear;  // RoPE tables [N, linear_head_dim/2] and [N, softmax_head_dim/2]
  const Tensor* sin_linear;
  const Tensor* cos_softmax;
  const Tensor* sin_softmax;
};

class Layer {
 public:
  void bind(const io::Scope& s, const Config& c, bool softmax);
  bool softmax() const { return softmax_; }
  // This layer's shift/scale/gate rows, [B, T, 6, D]: made once per forward, read by both sub-layers.
  Tensor modulation(Context& ctx, const LayerInputs& in, int64_t batch) const;
  // Gated self-attention delta plus the cross-attention delta on (h + that gated delta).
  Tensor attention_delta(Context& ctx, const Tensor& h, const Tensor& mod, const LayerInputs& in,
                         const std::string& name) const;
  // Gated SwiGLU delta.
  Tensor mlp_delta(Context& ctx, const Tensor& h, const Tensor& mod, const std::string& name) const;

 private:
  Tensor self_attention(Context& ctx, const Tensor& a, const LayerInputs& in) const;

  bool softmax_ = false, normalizer_ = false;
  int64_t dim_ = 0, heads_ = 0, head_dim_ = 0, cross_heads_ = 0;
  Tensor scale_shift_table_;  // [6, D]
  nn::Linear q_, k_, v_, proj_, output_gate_, beta_proj_;
  nn::RMSNorm q_norm_, k_norm_, o_norm_;
  nn::Linear cq_, ck_, cv_, cproj_;
  nn::RMSNorm cq_norm_, ck_norm_;
  nn::Linear gate_proj_, up_proj_, down_proj_;
};

}  // namespace sv::sana_video2
