#include "models/sana_dit/block.h"

#include "ops/ops.h"

namespace sv::sana_dit {

void Block::bind(const io::Scope& s, const Config& c) {
  dim_ = c.inner_dim();
  heads_ = c.num_attention_heads;
  cross_heads_ = c.num_cross_attention_heads;
  hidden_ = c.ffn_hidden();
  eps_ = static_cast<float>(c.norm_eps);
  const int64_t D = dim_, Dc = c.cross_inner_dim();
  scale_shift_table_ = s.take("scale_shift_table", {6, D});
  const io::Scope a1 = s.sub("attn1");
  to_q_.bind(a1.sub("to_q"), D, D, c.attention_bias);
  to_k_.bind(a1.sub("to_k"), D, D, c.attention_bias);
  to_v_.bind(a1.sub("to_v"), D, D, c.attention_bias);
  to_out_.bind(a1.sub("to_out.0"), D, D, true);
  if (c.qk_norm) {
    norm_q_.bind(a1.sub("norm_q"), D, 1e-5f);
    norm_k_.bind(a1.sub("norm_k"), D, 1e-5f);
  }
  if (c.norm_elementwise_affine) {
    norm2_w_ = s.take("norm2.weight", {D});
    norm2_b_ = s.take("norm2.bias", {D});
  }
  const io::Scope a2 = s.sub("attn2");
  cq_.bind(a2.sub("to_q"), D, Dc, true);
  ck_.bind(a2.sub("to_k"), c.cross_attention_dim, Dc, true);
  cv_.bind(a2.sub("to_v"), c.cross_attention_dim, Dc, true);
  cout_.bind(a2.sub("to_out.0"), Dc, D, true);
  if (c.qk_norm) {
    cnorm_q_.bind(a2.sub("norm_q"), Dc, 1e-5f);
    cnorm_k_.bind(a2.sub("norm_k"), Dc, 1e-5f);
  }
  const io::Scope ff = s.sub("ff");
  conv_inverted_.bind_conv1x1(ff.sub("conv_inverted"), D, 2 * hidden_, true);
  conv_depth_w_ = ff.take("conv_depth.weight", {2 * hidden_, 1, 3, 3});
  conv_depth_b_ = ff.take("conv_depth.bias", {2 * hidden_});
  conv_point_.bind_conv1x1(ff.sub("conv_point"), hidden_, D, false);
  conv_temp_w_ = ff.take_raw("conv_temp.weight", {D, D, 3, 1});
}

void Block::forward(Context& ctx, Tensor& x, const BlockInputs& in, const std::string& name,
                    CausalLayer* causal) const {
  const int64_t B = x.size(0), N = x.size(1), D = dim_, T = in.tmod->size(1);
  // Modulation: table [6, D] + tmod [B, T, 6, D]; the six rows are shift/scale/gate for attn and mlp.
  const Tensor mod = ops::add(ctx, in.tmod->reshape({B, T, 6, D}), scale_shift_table_);  // [B, T, 6, D]
  auto row = [&](int64_t i) { return mod.select(2, i); };                                 // [B, T, D] view

  // Each stage's tensors end with its scope: the Mix-FFN's 3 x hidden peak then sits beside x alone,
  // which is what SanaVideoTransformer::forward_bytes counts.
  {  // 1. Linear self-attention.
    Tensor q, k, v;
    {
      const Tensor h = ops::layer_norm_modulate(ctx, x, Tensor(), Tensor(), row(0), row(1), eps_);  // [B, N, D]
      q = to_q_(ctx, h), k = to_k_(ctx, h), v = to_v_(ctx, h);
    }
    if (norm_q_.weight.defined()) {
      q = norm_q_(ctx, q);
      k = norm_k_(ctx, k);
    }
    Tensor a;
    if (causal) {
      a = ops::linear_attention_cached(ctx, q, k, v, *in.rope_cos, *in.rope_sin, heads_, causal->vk, causal->ksum,
                                       causal->vk_out, causal->ksum_out);
    } else if (in.chunk_frames) {
      std::vector<int64_t> starts;
      for (int64_t f : *in.chunk_frames) starts.push_back(f * in.height * in.width);
      a = ops::linear_attention_chunked(ctx, q, k, v, *in.rope_cos, *in.rope_sin, heads_, starts);
    } else {
      a = ops::linear_attention(ctx, q, k, v, *in.rope_cos, *in.rope_sin, heads_);
    }
    q = k = v = Tensor();
    a = to_out_(ctx, a);
    ctx.dump(name + ".attn1", a);
    ops::add_gated_(ctx, x, row(2), a);
  }

  {  // 2. Cross-attention: no norm, no modulation, no gate.
    Tensor cq = cq_(ctx, x), ck = ck_(ctx, *in.caption), cv = cv_(ctx, *in.caption);
    if (cnorm_q_.weight.defined()) {
      cq = cnorm_q_(ctx, cq);
      ck = cnorm_k_(ctx, ck);
    }
    Tensor c = ops::sdpa(ctx, cq, ck, cv, in.text_bias ? *in.text_bias : Tensor(), cross_heads_);
    cq = Tensor();
    c = cout_(ctx, c);
    ctx.dump(name + ".attn2", c);
    x = ops::add(ctx, x, c);
  }

  // 3. GLUMBTempConv on the modulated norm2 output, channels-last throughout. The inverted conv, the
  // depthwise GLU and the point conv see one frame at a time, so they run a few frames at a time: their
  // 3 x hidden peak is a chunk's (kFfnChunkTokens), not the whole video's.
  const int64_t images = B * in.frames, HW = in.height * in.width, step = ffn_chunk_images(images, HW);
  auto spatial = [&](const Tensor& h) {  // [n, HW, D] -> [n, H', W', D]
    const int64_t n = h.size(0);
    Tensor g = conv_inverted_(ctx, h, ops::Act::SiLU);                                                // [n, HW, 2Fh]
    g = ops::depthwise_conv3x3_glu(ctx, g.reshape({n, in.height, in.width, 2 * hidden_}), conv_depth_w_,
                                   conv_depth_b_);                                                      // [n, H', W', Fh]
    return conv_point_(ctx, g);
  };
  Tensor f;
  {
    const Tensor h = ops::layer_norm_modulate(ctx, x, norm2_w_, norm2_b_, row(3), row(4), eps_).reshape({images, HW, D});
    if (step >= images) {
      f = spatial(h);
    } else {
      f = ctx.empty({images, in.height, in.width, D});
      for (int64_t i0 = 0; i0 < images; i0 += step) {
        const int64_t n = std::min(step, images - i0);
        ops::copy_(ctx, spatial(h.narrow(0, i0, n)), f.narrow(0, i0, n));
      }
    }
  }
  f = f.reshape({B, in.frames, in.height * in.width, D});
  if (causal && causal->conv_out) *causal->conv_out = f.narrow(1, in.frames - 1, 1).clone();
  std::vector<int64_t> cut;
  if (in.chunk_frames) cut.assign(in.chunk_frames->begin() + 1, in.chunk_frames->end());
  f = ops::temporal_conv3_residual(ctx, f, conv_temp_w_, causal ? causal->conv_frame : Tensor(), cut);
  f = f.reshape({B, N, D});
  ctx.dump(name + ".ff", f);
  ops::add_gated_(ctx, x, row(5), f);
  ctx.dump(name, x);
}

}  // namespace sv::sana_dit
