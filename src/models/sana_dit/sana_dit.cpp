#include "models/sana_dit/sana_dit.h"

#include <filesystem>

#include "io/weight_binder.h"
#include "nn/text_mask.h"
#include "ops/ops.h"

namespace sv::sana_dit {

std::unique_ptr<SanaVideoTransformer> SanaVideoTransformer::load(const std::string& dir, const Context* place) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": model directory not found");
  const Config cfg = Config::from_json(io::JsonConfig::load((fs::path(dir) / "config.json").string()));
  const io::TensorSource src = io::TensorSource::open(dir);
  return std::make_unique<SanaVideoTransformer>(cfg, src, place);
}

SanaVideoTransformer::SanaVideoTransformer(const Config& cfg, const io::TensorSource& weights, const Context* place)
    : rope_(cfg.attention_head_dim, cfg.rope_max_seq_len), cfg_(cfg) {
  io::WeightBinder binder(weights, place);
  io::Scope s(binder);
  const int64_t D = cfg.inner_dim();
  const auto& p = cfg.patch_size;
  patch_w_ = s.take("patch_embedding.weight", {D, cfg.in_channels, p[0], p[1], p[2]});
  patch_b_ = s.take("patch_embedding.bias", {D});
  if (cfg.guidance_embeds) {
    t_lin1_.bind(s.sub("time_embed.timestep_embedder.linear_1"), 256, D, true);
    t_lin2_.bind(s.sub("time_embed.timestep_embedder.linear_2"), D, D, true);
    g_lin1_.bind(s.sub("time_embed.guidance_embedder.linear_1"), 256, D, true);
    g_lin2_.bind(s.sub("time_embed.guidance_embedder.linear_2"), D, D, true);
  } else {
    t_lin1_.bind(s.sub("time_embed.emb.timestep_embedder.linear_1"), 256, D, true);
    t_lin2_.bind(s.sub("time_embed.emb.timestep_embedder.linear_2"), D, D, true);
  }
  t_mod_.bind(s.sub("time_embed.linear"), D, 6 * D, true);
  cap1_.bind(s.sub("caption_projection.linear_1"), cfg.caption_channels, D, true);
  cap2_.bind(s.sub("caption_projection.linear_2"), D, D, true);
  cap_norm_.bind(s.sub("caption_norm"), D, 1e-5f);
  blocks_.resize(static_cast<size_t>(cfg.num_layers));
  for (int64_t i = 0; i < cfg.num_layers; ++i) blocks_[i].bind(s.sub("transformer_blocks").sub(i), cfg);
  out_table_ = s.take("scale_shift_table", {2, D});
  proj_out_.bind(s.sub("proj_out"), D, cfg.patch_volume() * cfg.out_channels, true);
  binder.finish();
}

struct SanaVideoTransformer::Prepared {
  Tensor x, tmod, temb, y, bias, cos, sin;
  int64_t B = 0, Fp = 0, Hp = 0, Wp = 0;
  std::vector<int64_t> chunk_frames;
  BlockInputs block_inputs() const {
    return BlockInputs{&y, bias.defined() ? &bias : nullptr, &tmod, &cos, &sin, Fp, Hp, Wp,
                       chunk_frames.empty() ? nullptr : &chunk_frames};
  }
};

SanaVideoTransformer::Prepared SanaVideoTransformer::prepare(Context& ctx, const Inputs& in, int64_t frame_offset) const {
  const Config& c = cfg_;
  const Tensor& hs = in.hidden_states;
  SV_CHECK(hs.defined() && hs.dim() == 5, "hidden_states must be [B, C, F, H, W], got ",
           hs.defined() ? shape_str(hs.shape()) : "nothing");
  const int64_t B = hs.size(0);
  SV_CHECK(hs.size(1) == c.in_channels, "hidden_states has ", hs.size(1), " channels, the model takes in_channels = ",
           c.in_channels);
  const auto& p = c.patch_size;
  const int64_t Fp = hs.size(2) / p[0], Hp = hs.size(3) / p[1], Wp = hs.size(4) / p[2], N = Fp * Hp * Wp;
  SV_CHECK(B > 0 && Fp > 0 && Hp > 0 && Wp > 0, "hidden_states ", shape_str(hs.shape()), " is smaller than one ", p[0],
           "x", p[1], "x", p[2], " patch");
  SV_CHECK(frame_offset % p[0] == 0, "block start frame ", frame_offset, " is not a multiple of the temporal patch ", p[0]);
  const Tensor& ehs = in.encoder_hidden_states;
  SV_CHECK(ehs.defined() && ehs.dim() == 3 && ehs.size(0) == B && ehs.size(2) == c.caption_channels,
           "encoder_hidden_states must be [B=", B, ", L, caption_channels=", c.caption_channels, "], got ",
           ehs.defined() ? shape_str(ehs.shape()) : "nothing");
  const int64_t L = ehs.size(1);
  SV_CHECK(L > 0, "encoder_hidden_states has no tokens");
  SV_CHECK(in.timestep.defined(), "timestep is required");
  const int64_t tn = in.timestep.numel();
  SV_CHECK(tn == B || tn == B * N, "timestep has ", tn, " values; expected B = ", B, " or one per token B*F'*H'*W' = ",
           B * N);
  const int64_t T = tn / B;

  Prepared r;
  r.B = B, r.Fp = Fp, r.Hp = Hp, r.Wp = Wp;
  for (size_t i = 0; i < in.block_starts.size(); ++i) {
    const int64_t f = in.block_starts[i];
    SV_CHECK(f % p[0] == 0 && f / p[0] < Fp && (i == 0 ? f == 0 : f > in.block_starts[i - 1]), "block_starts must ",
             "begin at 0 and ascend below ", Fp * p[0], " frames in multiples of ", p[0], "; got ", f, " at index ", i);
    r.chunk_frames.push_back(f / p[0]);
  }
  rope_.get(ctx, Fp, Hp, Wp, frame_offset / p[0], &r.cos, &r.sin);

  // 1. Patch embedding -> tokens [B, N, D].
  r.x = ops::patch_embed(ctx, ctx.to_device(hs.device() == Device::CPU ? hs.to_f32() : hs).to_f32(), patch_w_, patch_b_);
  ctx.dump("patch_embedding", r.x);

  // 2. Timestep (AdaLayerNormSingle): temb [B*T, D], tmod [B*T, 6D].
  Tensor t = ctx.to_device(in.timestep.to_f32().reshape({tn}));
  Tensor temb = t_lin2_(ctx, t_lin1_(ctx, ops::timestep_embedding(ctx, t, 256, true, 0.0f), ops::Act::SiLU));
  if (c.guidance_embeds) {
    SV_CHECK(in.guidance.defined() && in.guidance.numel() == tn, "this model has guidance_embeds and needs `guidance` with ",
             tn, " values");
    Tensor g = ctx.to_device(in.guidance.to_f32().reshape({tn}));
    temb = ops::add(ctx, temb, g_lin2_(ctx, g_lin1_(ctx, ops::timestep_embedding(ctx, g, 256, true, 0.0f), ops::Act::SiLU)));
  }
  Tensor tmod = t_mod_(ctx, ops::activation(ctx, temb, ops::Act::SiLU));
  ctx.dump("time_embed", tmod);
  ctx.dump("time_embed.embedded_timestep", temb);
  r.tmod = tmod.reshape({B, T, 6 * c.inner_dim()});
  r.temb = temb.reshape({B, T, c.inner_dim()});

  // 3. Caption projection + RMSNorm.
  r.y = cap_norm_(ctx, cap2_(ctx, cap1_(ctx, ctx.to_device(ehs.device() == Device::CPU ? ehs.to_f32() : ehs).to_f32(), ops::Act::GeluTanh)));
  ctx.dump("caption_norm", r.y);

  // Text mask -> additive bias, as diffusers: (1 - mask) * -10000.
  if (in.encoder_attention_mask.defined()) r.bias = nn::text_mask_bias(ctx, in.encoder_attention_mask, B, L);
  return r;
}

Tensor SanaVideoTransformer::head(Context& ctx, Prepared& r) const {
  // Output norm: shift = table[0] + temb, scale = table[1] + temb (the un-projected embedding).
  const int64_t D = cfg_.inner_dim();
  Tensor mod = ops::add(ctx, r.temb.reshape({r.B, r.temb.size(1), 1, D}), out_table_);  // [B, T, 2, D]
  Tensor x = ops::layer_norm_modulate(ctx, r.x, Tensor(), Tensor(), mod.select(2, 0), mod.select(2, 1), 1e-6f);
  ctx.dump("norm_out", x);
  x = proj_out_(ctx, x);
  ctx.dump("proj_out", x);
  const auto& p = cfg_.patch_size;
  return ops::unpatchify(ctx, x, r.Fp, r.Hp, r.Wp, p[0], p[1], p[2]);
}

Tensor SanaVideoTransformer::forward(Context& ctx, const Inputs& in) const {
  Prepared r = prepare(ctx, in, 0);
  const BlockInputs bi = r.block_inputs();
  for (size_t i = 0; i < blocks_.size(); ++i) blocks_[i].forward(ctx, r.x, bi, "transformer_blocks." + std::to_string(i));
  return head(ctx, r);
}

void SanaVideoTransformer::run_causal(Context& ctx, Prepared& r, const CausalState& state,
                                      BlockContribution* write) const {
  const BlockInputs bi = r.block_inputs();
  const size_t L = blocks_.size();
  if (write) write->vk.resize(L), write->ksum.resize(L), write->conv.resize(L);
  for (size_t i = 0; i < L; ++i) {
    CausalLayer cl{state.vk(i), state.ksum(i), state.conv(i)};
    if (write) cl.vk_out = &write->vk[i], cl.ksum_out = &write->ksum[i], cl.conv_out = &write->conv[i];
    blocks_[i].forward(ctx, r.x, bi, "transformer_blocks." + std::to_string(i), &cl);
  }
}

Tensor SanaVideoTransformer::forward_block(Context& ctx, const Inputs& in, int64_t frame_offset,
                                           const CausalState& state) const {
  SV_CHECK(in.block_starts.empty(), "forward_block takes one block; block_starts is for the chunk-causal forward");
  Prepared r = prepare(ctx, in, frame_offset);
  run_causal(ctx, r, state, nullptr);
  return head(ctx, r);
}

BlockContribution SanaVideoTransformer::context_block(Context& ctx, const Inputs& in, int64_t frame_offset,
                                                      const CausalState& state) const {
  SV_CHECK(in.block_starts.empty(), "context_block takes one block; block_starts is for the chunk-causal forward");
  Prepared r = prepare(ctx, in, frame_offset);
  BlockContribution out;
  run_causal(ctx, r, state, &out);
  return out;  // the output projection is not needed: only the state is kept
}

}  // namespace sv::sana_dit
