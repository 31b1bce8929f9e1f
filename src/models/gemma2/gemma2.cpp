#include "models/gemma2/gemma2.h"

#include <cmath>
#include <filesystem>

#include "io/weight_binder.h"
#include "ops/ops.h"

namespace sv::gemma2 {
namespace {

// Gemma2RMSNorm scales by (1 + w) in fp32; fold the 1 in once at load.
void bind_gemma_norm(nn::RMSNorm& n, const io::Scope& s, int64_t dim, double eps) {
  Tensor w = s.take_host("weight", {dim});
  float* p = w.f32();
  for (int64_t i = 0; i < dim; ++i) p[i] = 1.0f + p[i];
  n.weight = s.place(w);
  n.eps = static_cast<float>(eps);
}

}  // namespace

std::unique_ptr<Gemma2Model> Gemma2Model::load(const std::string& dir, const Context* place) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": text encoder directory not found");
  const Config cfg = Config::from_json(io::JsonConfig::load((fs::path(dir) / "config.json").string()));
  const io::TensorSource src = io::TensorSource::open(dir);
  return std::make_unique<Gemma2Model>(cfg, src, place);
}

Gemma2Model::Gemma2Model(const Config& cfg, const io::TensorSource& weights, const Context* place) : cfg_(cfg) {
  io::WeightBinder binder(weights, place);
  // Checkpoints saved from Gemma2ForCausalLM prefix the decoder with "model."; lm_head is tied.
  const std::string prefix = weights.has("model.embed_tokens.weight") ? "model" : "";
  io::Scope s(binder, prefix);
  const int64_t H = cfg.hidden_size, I = cfg.intermediate_size, Dq = cfg.num_attention_heads * cfg.head_dim,
                Dk = cfg.num_key_value_heads * cfg.head_dim;
  embed_ = s.take_raw("embed_tokens.weight", {cfg.vocab_size, H});  // only looked-up rows are ever touched
  layers_.resize(static_cast<size_t>(cfg.num_hidden_layers));
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    const io::Scope l = s.sub("layers").sub(i);
    Layer& L = layers_[i];
    L.q.bind(l.sub("self_attn.q_proj"), H, Dq, false);
    L.k.bind(l.sub("self_attn.k_proj"), H, Dk, false);
    L.v.bind(l.sub("self_attn.v_proj"), H, Dk, false);
    L.o.bind(l.sub("self_attn.o_proj"), Dq, H, false);
    L.gate.bind(l.sub("mlp.gate_proj"), H, I, false);
    L.up.bind(l.sub("mlp.up_proj"), H, I, false);
    L.down.bind(l.sub("mlp.down_proj"), I, H, false);
    bind_gemma_norm(L.in_norm, l.sub("input_layernorm"), H, cfg.rms_norm_eps);
    bind_gemma_norm(L.post_attn_norm, l.sub("post_attention_layernorm"), H, cfg.rms_norm_eps);
    bind_gemma_norm(L.pre_ff_norm, l.sub("pre_feedforward_layernorm"), H, cfg.rms_norm_eps);
    bind_gemma_norm(L.post_ff_norm, l.sub("post_feedforward_layernorm"), H, cfg.rms_norm_eps);
  }
  bind_gemma_norm(norm_, s.sub("norm"), H, cfg.rms_norm_eps);
  if (weights.has("lm_head.weight")) binder.skip("lm_head.weight", {cfg.vocab_size, H});  // tied; unused here
  binder.finish();
}

Tensor Gemma2Model::forward(Context& ctx, const Tensor& ids, const Tensor& mask) const {
  const Config& c = cfg_;
  SV_CHECK(ids.defined() && ids.dim() == 2, "input_ids must be [B, L], got ", ids.defined() ? shape_str(ids.shape()) : "nothing");
  const int64_t B = ids.size(0), L = ids.size(1);
  SV_CHECK(B > 0 && L > 0, "input_ids is empty");
  SV_CHECK(!mask.defined() || mask.shape() == ids.shape(), "attention_mask ", shape_str(mask.shape()),
           " does not match input_ids ", shape_str(ids.shape()));
  // The embedding scale is a float32 tensor cast to the weight dtype (fp32 here).
  const float embed_scale = static_cast<float>(std::sqrt(static_cast<double>(c.hidden_size)));
  Tensor h = ops::embedding(ctx, ids, embed_, embed_scale);

  // RoPE: inv_freq in fp32 as torch computes base ** (arange(0, d, 2) / d); angles pos * inv_freq in fp32.
  const int64_t half = c.head_dim / 2;
  Tensor cos = Tensor::empty({L, half}), sin = Tensor::empty({L, half});
  for (int64_t j = 0; j < half; ++j) {
    const float expo = static_cast<float>(2 * j) / static_cast<float>(c.head_dim);
    const float inv = 1.0f / std::pow(static_cast<float>(c.rope_theta), expo);
    for (int64_t p = 0; p < L; ++p) {
      const float a = static_cast<float>(p) * inv;
      cos.f32()[p * half + j] = std::cos(a);
      sin.f32()[p * half + j] = std::sin(a);
    }
  }
  cos = ctx.to_device(cos);
  sin = ctx.to_device(sin);
  const Tensor key_mask = mask.defined() ? ctx.to_device(mask.to_host().to(DType::F32)) : Tensor();
  const float scale = static_cast<float>(1.0 / std::sqrt(c.query_pre_attn_scalar));
  const float cap = static_cast<float>(c.attn_logit_softcapping);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    Tensor a = l.in_norm(ctx, h);
    Tensor q = ops::rope_half(ctx, l.q(ctx, a), cos, sin, c.num_attention_heads);
    Tensor k = ops::rope_half(ctx, l.k(ctx, a), cos, sin, c.num_key_value_heads);
    Tensor v = l.v(ctx, a);
    const int64_t window = c.sliding[i] ? c.sliding_window : 0;
    Tensor o = ops::causal_attention(ctx, q, k, v, key_mask, c.num_attention_heads, c.num_key_value_heads, scale, cap, window);
    h = ops::add(ctx, h, l.post_attn_norm(ctx, l.o(ctx, o)));
    Tensor f = l.pre_ff_norm(ctx, h);
    f = l.down(ctx, ops::mul_act(ctx, l.gate(ctx, f), l.up(ctx, f), ops::Act::GeluTanh));
    h = ops::add(ctx, h, l.post_ff_norm(ctx, f));
    ctx.dump("layers." + std::to_string(i), h);
  }
  return norm_(ctx, h);
}

}  // namespace sv::gemma2
