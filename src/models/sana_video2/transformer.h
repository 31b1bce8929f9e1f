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
#include "nn/rope3d.h"

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
  // The memory one forward on latents [batch, C, F, H, W] takes: per token the routing sources (the
  // input, every block sum, the partial sum), q/k/v and the SwiGLU hidden pair, times the factor that
  // measured peaks need (docs/memory.md: the allocator keeps each stage's blocks for the next layer),
  // plus the latents' copies around the forward.
  size_t forward_bytes(int64_t batch, int64_t F, int64_t H, int64_t W) const {
    const auto& p = cfg_.patch_size;
    const double tokens = static_cast<double>(batch) * (F / p[0]) * (H / p[1]) * (W / p[2]);
    const double blocks = static_cast<double>((cfg_.depth + cfg_.attn_res_block_size - 1) / cfg_.attn_res_block_size);
    const double latents = 6.0 * 4.0 * batch * cfg_.in_channels * F * H * W;
    const double b = tokens * 2.0 * 4.0 * (cfg_.hidden_size * (blocks + 5) + 2.0 * cfg_.mlp_hidden) + latents +
                     double(64 << 20);
    return b > 1e18 ? static_cast<size_t>(1e18) : static_cast<size_t>(b);
  }
  // The flow velocity [B, out_channels, F, H, W] in F32. Named intermediates go to ctx.dump.
  Tensor forward(Context& ctx, const Inputs& in) const;

 private:
  struct Prepared;
  Prepared prepare(Context& ctx, const Inputs& in) const;

  Config cfg_;
  nn::Rope3dCache rope_linear_, rope_softmax_;  // the linear and the softmax layers' head dims
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
