// SanaVideoTransformer3DModel (diffusers models/transformers/transformer_sana_video.py): the SANA-Video
// Linear DiT. Weights are bound by their diffusers names from a directory written by save_pretrained.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/context.h"
#include "io/safetensors.h"
#include "models/sana_dit/block.h"
#include "models/sana_dit/causal_state.h"
#include "models/sana_dit/config.h"
#include "nn/linear.h"

namespace sv::sana_dit {

struct Inputs {
  Tensor hidden_states;          // [B, C, F, H, W]
  Tensor encoder_hidden_states;  // [B, L, caption_channels]
  Tensor timestep;               // [B] or per token (B * F'*H'*W' values, e.g. [B, 1, F', H', W'])
  Tensor encoder_attention_mask;  // [B, L], 1 = keep; optional
  Tensor guidance;               // [B]; only for guidance_embeds configs
  // Chunk-causal forward (LongSANA's stateless teacher form): first latent frame of each block,
  // starting at 0. Empty: the bidirectional model.
  std::vector<int64_t> block_starts;
};

class SanaVideoTransformer {
 public:
  // `dir` holds config.json and the weights (single file or sharded index).
  // `place`: the context whose device holds the weights (null: the host). Inputs may live anywhere;
  // forward moves them to the context's device.
  static std::unique_ptr<SanaVideoTransformer> load(const std::string& dir, const Context* place = nullptr);
  SanaVideoTransformer(const Config& cfg, const io::TensorSource& weights, const Context* place = nullptr);

  const Config& config() const { return cfg_; }
  // Activations that must coexist in one forward on latents [batch, C, F, H, W]: the block's input,
  // residual, attention q/k/v and the Mix-FFN's doubled hidden, in fp32 (a lower bound).
  size_t forward_bytes_lower_bound(int64_t batch, int64_t F, int64_t H, int64_t W) const {
    const auto& p = cfg_.patch_size;
    const double tokens = static_cast<double>(batch) * (F / p[0]) * (H / p[1]) * (W / p[2]);
    const double per = 4.0 * (5 * cfg_.inner_dim() + 2 * cfg_.ffn_hidden());
    const double b = tokens * per;
    return b > 1e18 ? static_cast<size_t>(1e18) : static_cast<size_t>(b);
  }
  // Returns `sample` [B, C_out, F'*pt, H'*ph, W'*pw] in F32. Named intermediates go to ctx.dump.
  Tensor forward(Context& ctx, const Inputs& in) const;

  // LongSANA cached mode (same weights). `in.hidden_states` is one block of latent frames starting at
  // absolute latent frame `frame_offset`; attention sees this block and, through `state`, the clean
  // earlier blocks; the temporal conv sees the previous block's last frame and zero after this block.
  Tensor forward_block(Context& ctx, const Inputs& in, int64_t frame_offset, const CausalState& state) const;
  // The context pass: runs a clean block (timestep 0 in LongSANA) and returns what it adds to the state.
  BlockContribution context_block(Context& ctx, const Inputs& in, int64_t frame_offset, const CausalState& state) const;

 private:
  // 3D RoPE tables of the last shapes seen, on the device of the context that asked: a denoising loop
  // calls forward with one shape every step, and the tables are megabytes at 480p.
  struct RopeEntry {
    int64_t f = 0, h = 0, w = 0, offset = 0;
    const void* where = nullptr;  // the asking context's allocator
    Tensor cos, sin;
  };
  void rope_tables(const Context& ctx, int64_t Fp, int64_t Hp, int64_t Wp, int64_t offset, Tensor* cos, Tensor* sin) const;
  mutable std::mutex rope_mu_;
  mutable std::vector<RopeEntry> rope_cache_;

  struct Prepared;
  Prepared prepare(Context& ctx, const Inputs& in, int64_t frame_offset) const;
  Tensor head(Context& ctx, Prepared& p) const;
  // The blocks in cached mode on `state`; with `write`, each layer's own contribution is recorded.
  void run_causal(Context& ctx, Prepared& r, const CausalState& state, BlockContribution* write) const;

  Config cfg_;
  Tensor patch_w_, patch_b_;
  nn::Linear t_lin1_, t_lin2_, g_lin1_, g_lin2_, t_mod_;
  nn::Linear cap1_, cap2_;
  nn::RMSNorm cap_norm_;
  std::vector<Block> blocks_;
  Tensor out_table_;  // [2, D]
  nn::Linear proj_out_;
};

}  // namespace sv::sana_dit
