// The SANA-Video 2.0 hybrid DiT (official diffusion/model/nets/sana_video2.py, SanaVideo2): gated linear
// attention layers with softmax anchors, block attention residuals, SwiGLU feed-forward. Weights are
// bound by the official state-dict names from a folder `sana-video convert` wrote (config.json + safetensors).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "io/safetensors.h"
#include "models/sana_video2/config.h"
#include "models/sana_video2/layer.h"
#include "nn/linear.h"

namespace sv::sana_video2 {

struct Inputs {
  Tensor hidden_states;           // [B, C, F, H, W]
  Tensor encoder_hidden_states;   // [B, L, caption_channels] (or [B, 1, L, caption_channels])
  Tensor timestep;                // [B]; [B, 1, F] per latent frame; or [B, 1, F, H, W] per token
  Tensor encoder_attention_mask;  // [B, L], 1 = keep; optional
};

class Transformer {
 public:
  static std::unique_ptr<Transformer> load(const std::string& dir, const Context* place = nullptr);
  Transformer(const Config& cfg, const io::TensorSource& weights, const Context* place = nullptr);

  const Config& config() const { return cfg_; }
  // Activations that must coexist in one forward on latents [batch, C, F, H, W], in fp32 (a lower bound):
  // the routing sources (the input, every block sum, the partial sum), q/k/v and the SwiGLU hidden pair.
  size_t forward_bytes_lower_bound(int64_t batch, int64_t F, int64_t H, int64_t W) const {
    const auto& p = cfg_.patch_size;
    const double tokens = static_cast<double>(batch) * (F / p[0]) * (H / p[1]) * (W / p[2]);
    const double blocks = static_cast<double>((cfg_.depth + cfg_.attn_res_block_size - 1) / cfg_.attn_res_block_size);
    const double b = tokens * 4.0 * (cfg_.hidden_size * (blocks + 5) + 2.0 * cfg_.mlp_hidden);
    return b > 1e18 ? static_cast<size_t>(1e18) : static_cast<size_t>(b);
  }
  // The flow velocity [B, out_channels, F, H, W] in F32. Named intermediates go to ctx.dump.
  Tensor forward(Context& ctx, const Inputs& in) const;

 private:
  struct Prepared;
  Prepared prepare(Context& ctx, const Inputs& in) const;

  Config cfg_;
  Tensor patch_w_, patch_b_;
  nn::Linear t_lin1_, t_lin2_, t_block_;
  nn::Linear y_fc1_, y_fc2_;
  nn::RMSNorm y_norm_;
  std::vector<Layer> layers_;
  Tensor attn_res_w_;  // [3, D]: the attn, mlp and final routing queries
  Tensor final_table_;  // [2, D]
  nn::Linear final_linear_;
};

}  // namespace sv::sana_video2
