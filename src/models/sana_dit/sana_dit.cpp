#include "models/sana_dit/sana_dit.h"

#include <filesystem>

#include "io/weight_binder.h"
#include "models/sana_dit/rope3d.h"
#include "ops/ops.h"

namespace sv::sana_dit {

std::unique_ptr<SanaVideoTransformer> SanaVideoTransformer::load(const std::string& dir) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": model directory not found");
  const Config cfg = Config::from_json(io::JsonConfig::load((fs::path(dir) / "config.json").string()));
  const io::TensorSource src = io::TensorSource::open(dir);
  return std::make_unique<SanaVideoTransformer>(cfg, src);
}

SanaVideoTransformer::SanaVideoTransformer(const Config& cfg, const io::TensorSource& weights) : cfg_(cfg) {
  io::WeightBinder binder(weights);
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

Tensor SanaVideoTransformer::forward(Context& ctx, const Inputs& in) const {
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

  Tensor cos, sin;
  rope3d_tables(c.attention_head_dim, c.rope_max_seq_len, Fp, Hp, Wp, &cos, &sin);

  // 1. Patch embedding -> tokens [B, N, D].
  Tensor x = ops::patch_embed(ctx, hs.to_f32(), patch_w_, patch_b_);
  ctx.dump("patch_embedding", x);

  // 2. Timestep (AdaLayerNormSingle): temb [B*T, D], tmod [B*T, 6D].
  Tensor t = in.timestep.to_f32().reshape({tn});
  Tensor temb = t_lin2_(ctx, t_lin1_(ctx, ops::timestep_embedding(ctx, t, 256, true, 0.0f), ops::Act::SiLU));
  if (c.guidance_embeds) {
    SV_CHECK(in.guidance.defined() && in.guidance.numel() == tn, "this model has guidance_embeds and needs `guidance` with ",
             tn, " values");
    Tensor g = in.guidance.to_f32().reshape({tn});
    temb = ops::add(ctx, temb, g_lin2_(ctx, g_lin1_(ctx, ops::timestep_embedding(ctx, g, 256, true, 0.0f), ops::Act::SiLU)));
  }
  Tensor tmod = t_mod_(ctx, ops::activation(ctx, temb, ops::Act::SiLU));
  ctx.dump("time_embed", tmod);
  ctx.dump("time_embed.embedded_timestep", temb);
  tmod = tmod.reshape({B, T, 6 * c.inner_dim()});
  temb = temb.reshape({B, T, c.inner_dim()});

  // 3. Caption projection + RMSNorm.
  Tensor y = cap2_(ctx, cap1_(ctx, ehs.to_f32(), ops::Act::GeluTanh));
  y = cap_norm_(ctx, y);
  ctx.dump("caption_norm", y);

  // Text mask -> additive bias, as diffusers: (1 - mask) * -10000.
  Tensor bias;
  if (in.encoder_attention_mask.defined()) {
    const Tensor& m = in.encoder_attention_mask;
    SV_CHECK(m.dim() == 2 && m.size(0) == B && m.size(1) == L, "encoder_attention_mask must be [B, L] = [", B, ", ", L,
             "], got ", shape_str(m.shape()));
    Tensor mf = m.to(DType::F32);
    bias = Tensor::empty({B, L});
    const float* mp = mf.f32();
    float* bp = bias.f32();
    for (int64_t i = 0; i < B * L; ++i) bp[i] = (1.0f - mp[i]) * -10000.0f;
  }

  // 4. Blocks.
  const BlockInputs bi{&y, bias.defined() ? &bias : nullptr, &tmod, &cos, &sin, Fp, Hp, Wp};
  for (size_t i = 0; i < blocks_.size(); ++i) blocks_[i].forward(ctx, x, bi, "transformer_blocks." + std::to_string(i));

  // 5. Output norm: shift = table[0] + temb, scale = table[1] + temb (the un-projected embedding).
  Tensor mod = ops::add(ctx, temb.reshape({B, T, 1, c.inner_dim()}), out_table_);  // [B, T, 2, D]
  x = ops::layer_norm_modulate(ctx, x, Tensor(), Tensor(), mod.select(2, 0), mod.select(2, 1), 1e-6f);
  ctx.dump("norm_out", x);
  x = proj_out_(ctx, x);
  ctx.dump("proj_out", x);
  return ops::unpatchify(ctx, x, Fp, Hp, Wp, p[0], p[1], p[2]);
}

}  // namespace sv::sana_dit
