// SanaVideoTransformer3DModel (diffusers models/transformers/transformer_sana_video.py): the SANA-Video
// Linear DiT. Weights are bound by their diffusers names from a directory written by save_pretrained.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/context.h"
#include "nn/rope3d.h"
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
  // The memory one forward on latents [batch, C, F, H, W] takes: per token, the attention's seven
  // width-sized tensors, which the caching allocator keeps for the next block; per token of one Mix-FFN
  // chunk (block.h), its doubled and gated hiddens and its output; the latents' copies around the forward;
  // the RoPE tables. The factor was fitted to measured peaks (docs/memory.md) so as to stay above them.
  size_t forward_bytes(int64_t batch, int64_t F, int64_t H, int64_t W) const {
    const auto& p = cfg_.patch_size;
    const double hw = static_cast<double>(H / p[1]) * (W / p[2]), tokens = (F / p[0]) * hw;
    const double chunk = static_cast<double>(ffn_chunk_images(batch * (F / p[0]), static_cast<int64_t>(hw))) * hw;
    const double act = batch * tokens * 7.0 * cfg_.inner_dim() + chunk * (3.0 * cfg_.ffn_hidden() + cfg_.inner_dim());
    const double latents = 6.0 * 4.0 * batch * cfg_.in_channels * F * H * W;
    const double rope = 2.0 * 4.0 * tokens * cfg_.attention_head_dim;
    const double b = 1.15 * 4.0 * act + latents + rope + double(64 << 20);
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
  nn::Rope3dCache rope_;

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
