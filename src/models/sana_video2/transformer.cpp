#include "models/sana_video2/transformer.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "io/weight_binder.h"
#include "nn/text_mask.h"
#include "ops/ops.h"

namespace sv::sana_video2 {

namespace {
constexpr float kKeyNormEps = 1e-6f;  // the routing keys' parameter-free RMSNorm
}

std::unique_ptr<Transformer> Transformer::load(const std::string& dir, const Context* place) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": model directory not found");
  const Config cfg = Config::from_json(io::JsonConfig::load((fs::path(dir) / "config.json").string()));
  const io::TensorSource src = io::TensorSource::open(dir);
  return std::make_unique<Transformer>(cfg, src, place);
}

Transformer::Transformer(const Config& cfg, const io::TensorSource& weights, const Context* place)
    : cfg_(cfg),
      rope_linear_(cfg.linear_head_dim, cfg.rope_max_seq_len),
      rope_softmax_(cfg.softmax_head_dim, cfg.rope_max_seq_len) {
  io::WeightBinder binder(weights, place);
  io::Scope s(binder);
  const int64_t D = cfg.hidden_size;
  const auto& p = cfg.patch_size;
  // Kept in checkpoints for compatibility with older classes; inference never reads them.
  for (const char* unused : {"pos_embed", "y_embedder.y_embedding"})
    if (weights.has(unused)) binder.skip(unused, weights.info(unused).shape);
  patch_w_ = s.take("x_embedder.proj.weight", {D, cfg.in_channels, p[0], p[1], p[2]});
  patch_b_ = s.take("x_embedder.proj.bias", {D});
  t_lin1_.bind(s.sub("t_embedder.mlp.0"), 256, D, true);
  t_lin2_.bind(s.sub("t_embedder.mlp.2"), D, D, true);
  t_block_.bind(s.sub("t_block.1"), D, 6 * D, true);
  y_fc1_.bind(s.sub("y_embedder.y_proj.fc1"), cfg.caption_channels, D, true);
  y_fc2_.bind(s.sub("y_embedder.y_proj.fc2"), D, D, true);
  y_norm_.bind(s.sub("attention_y_norm"), D, 1e-5f);
  layers_.resize(static_cast<size_t>(cfg.depth));
  for (int64_t i = 0; i < cfg.depth; ++i) layers_[i].bind(s.sub("blocks").sub(i), cfg, cfg.is_softmax_layer(i));
  Tensor w = Tensor::empty({3, D});
  int64_t row = 0;
  for (const char* q : {"attn_res.attn_proj.weight", "attn_res.mlp_proj.weight", "attn_res.final_proj.weight"}) {
    const Tensor r = s.take_host(q, {1, D});
    std::memcpy(w.f32() + row++ * D, r.f32(), static_cast<size_t>(D) * sizeof(float));
  }
  attn_res_w_ = s.place(w);
  final_table_ = s.take("final_layer.scale_shift_table", {2, D});
  final_linear_.bind(s.sub("final_layer.linear"), D, cfg.patch_volume() * cfg.out_channels, true);
  binder.finish();
}

struct Transformer::Prepared {
  Tensor x, t, t0, y, bias, cos_l, sin_l, cos_s, sin_s;
  int64_t B = 0, Fp = 0, Hp = 0, Wp = 0;
};

Transformer::Prepared Transformer::prepare(Context& ctx, const Inputs& in) const {
  const Config& c = cfg_;
  const Tensor& hs = in.hidden_states;
  SV_CHECK(hs.defined() && hs.dim() == 5, "hidden_states must be [B, C, F, H, W], got ",
           hs.defined() ? shape_str(hs.shape()) : "nothing");
  const int64_t B = hs.size(0);
  SV_CHECK(hs.size(1) == c.in_channels, "hidden_states has ", hs.size(1), " channels, the model takes in_channels = ",
           c.in_channels);
  const auto& p = c.patch_size;
  const int64_t Fp = hs.size(2) / p[0], Hp = hs.size(3) / p[1], Wp = hs.size(4) / p[2], N = Fp * Hp * Wp;
  SV_CHECK(B > 0 && Fp > 0 && Hp > 0 && Wp > 0, "hidden_states ", shape_str(hs.shape()), " is smaller than one patch");
  Tensor ehs = in.encoder_hidden_states;
  SV_CHECK(ehs.defined(), "encoder_hidden_states is required");
  if (ehs.dim() == 4 && ehs.size(1) == 1) ehs = ehs.contiguous().reshape({ehs.size(0), ehs.size(2), ehs.size(3)});
  SV_CHECK(ehs.dim() == 3 && ehs.size(0) == B && ehs.size(2) == c.caption_channels && ehs.size(1) > 0,
           "encoder_hidden_states must be [B=", B, ", L, caption_channels=", c.caption_channels, "], got ",
           shape_str(ehs.shape()));
  const int64_t L = ehs.size(1);
  SV_CHECK(in.timestep.defined(), "timestep is required");
  const int64_t tn = in.timestep.numel();
  SV_CHECK(tn == B || tn == B * Fp || tn == B * N, "timestep has ", tn, " values; expected B = ", B,
           ", one per latent frame B*F = ", B * Fp, " or one per token B*F*H*W = ", B * N);
  const int64_t T = tn / B;

  Prepared r;
  r.B = B, r.Fp = Fp, r.Hp = Hp, r.Wp = Wp;
  rope_linear_.get(ctx, Fp, Hp, Wp, 0, &r.cos_l, &r.sin_l);
  rope_softmax_.get(ctx, Fp, Hp, Wp, 0, &r.cos_s, &r.sin_s);

  r.x = ops::patch_embed(ctx, ctx.to_device(hs.to_host().to_f32()), patch_w_, patch_b_);
  ctx.dump("x_embedder", r.x);

  // The model sees integer timesteps (the reference's .long()) unless a normalisation factor is set.
  Tensor t = in.timestep.to_host().to(DType::F32).reshape({tn});
  for (int64_t i = 0; i < tn; ++i) {
    float& v = t.f32()[i];
    v = c.timestep_norm_scale_factor != 1.0 ? static_cast<float>(v / c.timestep_norm_scale_factor) : std::trunc(v);
  }
  t = ctx.to_device(t);
  Tensor temb = t_lin2_(ctx, t_lin1_(ctx, ops::timestep_embedding(ctx, t, 256, true, 0.0f), ops::Act::SiLU));
  Tensor t0 = t_block_(ctx, ops::activation(ctx, temb, ops::Act::SiLU));
  ctx.dump("t_embedder", temb);
  ctx.dump("t_block", t0);
  r.t = temb.reshape({B, T, c.hidden_size});
  r.t0 = t0.reshape({B, T, 6 * c.hidden_size});

  r.y = y_norm_(ctx, y_fc2_(ctx, y_fc1_(ctx, ctx.to_device(ehs.to_host().to_f32()), ops::Act::GeluTanh)));
  ctx.dump("y_embedder", r.y);
  if (in.encoder_attention_mask.defined()) {
    Tensor m = in.encoder_attention_mask;
    if (m.dim() == 4 && m.size(1) == 1 && m.size(2) == 1) m = m.contiguous().reshape({m.size(0), m.size(3)});
    r.bias = nn::text_mask_bias(ctx, m, B, L);
  }
  return r;
}

Tensor Transformer::forward(Context& ctx, const Inputs& in) const {
  Prepared r = prepare(ctx, in);
  const LayerInputs li{&r.y, r.bias.defined() ? &r.bias : nullptr, &r.t0, &r.cos_l, &r.sin_l, &r.cos_s, &r.sin_s};

  // Block attention residuals: the sources are the embedded input, every completed block's sum and the
  // running partial sum. Each source's three routing logits (attn, mlp, final query) are computed once.
  std::vector<Tensor> values{r.x}, logits{ops::rms_dot(ctx, r.x, attn_res_w_, kKeyNormEps)};
  Tensor partial, partial_logits;
  auto sources = [&](std::vector<Tensor>* v, std::vector<Tensor>* l) {
    *v = values, *l = logits;
    if (partial.defined()) v->push_back(partial), l->push_back(partial_logits);
  };
  std::vector<Tensor> sv, sl;
  for (int64_t i = 0; i < cfg_.depth; ++i) {
    const std::string name = "blocks." + std::to_string(i);
    const Tensor mod = layers_[i].modulation(ctx, li, r.B);
    sources(&sv, &sl);
    const Tensor h = ops::softmax_mix(ctx, sv, sl, 0);
    ctx.dump(name + ".attn_in", h);
    const Tensor d = layers_[i].attention_delta(ctx, h, mod, li, name);
    partial = partial.defined() ? ops::add(ctx, partial, d) : d;
    partial_logits = ops::rms_dot(ctx, partial, attn_res_w_, kKeyNormEps);
    sources(&sv, &sl);
    const Tensor h2 = ops::softmax_mix(ctx, sv, sl, 1);
    ctx.dump(name + ".mlp_in", h2);
    partial = ops::add(ctx, partial, layers_[i].mlp_delta(ctx, h2, mod, name));
    partial_logits = ops::rms_dot(ctx, partial, attn_res_w_, kKeyNormEps);
    if ((i + 1) % cfg_.attn_res_block_size == 0 || i + 1 == cfg_.depth) {
      ctx.dump("block_sum." + std::to_string(values.size() - 1), partial);
      values.push_back(partial);
      logits.push_back(partial_logits);
      partial = partial_logits = Tensor();
    }
  }
  const Tensor h = ops::softmax_mix(ctx, values, logits, 2);
  ctx.dump("final_in", h);

  // T2IFinalLayer: shift/scale from its table plus t (not t0), per timestep group.
  const int64_t D = cfg_.hidden_size;
  const Tensor mod = ops::add(ctx, r.t.reshape({r.B, r.t.size(1), 1, D}), final_table_);  // [B, T, 2, D]
  Tensor x = ops::layer_norm_modulate(ctx, h, Tensor(), Tensor(), mod.select(2, 0), mod.select(2, 1), 1e-6f);
  x = final_linear_(ctx, x);
  ctx.dump("final_layer", x);
  const auto& p = cfg_.patch_size;
  return ops::unpatchify(ctx, x, r.Fp, r.Hp, r.Wp, p[0], p[1], p[2]);
}

}  // namespace sv::sana_video2
