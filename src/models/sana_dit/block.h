// SanaVideoTransformerBlock (diffusers transformer_sana_video.py): modulated LayerNorm, ReLU linear
// self-attention with 3D RoPE, cross-attention to the caption, GLUMBTempConv feed-forward.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "core/context.h"
#include "io/weight_binder.h"
#include "models/sana_dit/config.h"
#include "nn/linear.h"

namespace sv::sana_dit {

// Per-forward data shared by all blocks.
struct BlockInputs {
  const Tensor* caption;  // [B, L, D] after caption projection + norm
  const Tensor* text_bias;  // [B, L] additive (-10000 on masked keys) or undefined
  const Tensor* tmod;     // [B, T, 6D]
  const Tensor* rope_cos;  // [N, C/2]
  const Tensor* rope_sin;
  int64_t frames, height, width;  // post-patch grid
  // Chunk-causal full sequence (the stateless teacher form of LongSANA): first post-patch frame of each
  // chunk; null for the bidirectional model.
  const std::vector<int64_t>* chunk_frames = nullptr;
};

// LongSANA cached mode for one layer: the state read from earlier blocks and, when the pointers are
// set, this block's own contribution written back.
struct CausalLayer {
  Tensor vk, ksum;    // summed state of earlier blocks, undefined for the first block
  Tensor conv_frame;  // previous block's last FFN frame before the temporal conv, [B, 1, H'*W', D]
  Tensor *vk_out = nullptr, *ksum_out = nullptr, *conv_out = nullptr;
};

// Tokens the Mix-FFN's frame-wise part (inverted conv, depthwise GLU, point conv) takes at once: whole
// frames, at least one, up to this many tokens (GEMMs of this height keep a CPU or a GPU busy).
constexpr int64_t kFfnChunkTokens = int64_t(1) << 14;
inline int64_t ffn_chunk_images(int64_t images, int64_t tokens_per_image) {
  return std::max<int64_t>(1, std::min<int64_t>(images, kFfnChunkTokens / std::max<int64_t>(1, tokens_per_image)));
}

class Block {
 public:
  void bind(const io::Scope& s, const Config& c);
  // x [B, N, D] updated in place. `causal` selects LongSANA's cached mode for this block of frames.
  void forward(Context& ctx, Tensor& x, const BlockInputs& in, const std::string& name,
               CausalLayer* causal = nullptr) const;

 private:
  int64_t dim_ = 0, heads_ = 0, cross_heads_ = 0, hidden_ = 0;
  float eps_ = 1e-6f;
  Tensor scale_shift_table_;  // [6, D]
  nn::Linear to_q_, to_k_, to_v_, to_out_;
  nn::RMSNorm norm_q_, norm_k_;
  Tensor norm2_w_, norm2_b_;  // only with norm_elementwise_affine
  nn::Linear cq_, ck_, cv_, cout_;
  nn::RMSNorm cnorm_q_, cnorm_k_;
  nn::Linear conv_inverted_, conv_point_;
  Tensor conv_depth_w_, conv_depth_b_, conv_temp_w_;
};

}  // namespace sv::sana_dit
