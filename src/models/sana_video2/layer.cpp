#include "models/sana_video2/layer.h"

#include "ops/ops.h"

namespace sv::sana_video2 {

namespace {
// Rows [i*D, (i+1)*D) of a fused projection ([q; k; v] or [k; v]) as their own Linear.
nn::Linear rows_of(const Tensor& w, int64_t i, int64_t D, const Tensor& b = Tensor()) {
  nn::Linear l;
  l.weight = w.narrow(0, i * D, D);
  if (b.defined()) l.bias = b.narrow(0, i * D, D);
  return l;
}
}  // namespace

void Layer::bind(const io::Scope& s, const Config& c, bool softmax) {
  softmax_ = softmax;
  normalizer_ = c.linear_attention_normalizer && !softmax;
  const int64_t D = c.hidden_size;
  dim_ = D;
  head_dim_ = softmax ? c.softmax_head_dim : c.linear_head_dim;
  heads_ = D / head_dim_;
  cross_heads_ = c.num_heads;
  scale_shift_table_ = s.take("scale_shift_table", {6, D});

  const io::Scope a = s.sub("attn");
  const Tensor qkv = a.take_raw("qkv.weight", {3 * D, D});
  q_ = rows_of(qkv, 0, D);
  k_ = rows_of(qkv, 1, D);
  v_ = rows_of(qkv, 2, D);
  q_norm_.bind(a.sub("q_norm"), D, 1e-5f);
  k_norm_.bind(a.sub("k_norm"), D, 1e-5f);
  proj_.bind(a.sub("proj"), D, D, true);
  output_gate_.bind(a.sub("output_gate"), D, D, true);
  if (!softmax) {
    beta_proj_.bind(a.sub("beta_proj"), D, heads_, true);
    o_norm_.bind(a.sub("o_norm"), head_dim_, 1e-5f);
  }

  const io::Scope x = s.sub("cross_attn");
  cq_.bind(x.sub("q_linear"), D, D, true);
  const Tensor kv_w = x.take_raw("kv_linear.weight", {2 * D, D});
  const Tensor kv_b = x.take("kv_linear.bias", {2 * D});
  ck_ = rows_of(kv_w, 0, D, kv_b);
  cv_ = rows_of(kv_w, 1, D, kv_b);
  cproj_.bind(x.sub("proj"), D, D, true);
  cq_norm_.bind(x.sub("q_norm"), D, 1e-6f);
  ck_norm_.bind(x.sub("k_norm"), D, 1e-6f);

  const io::Scope m = s.sub("mlp");
  gate_proj_.bind(m.sub("gate_proj"), D, c.mlp_hidden, true);
  up_proj_.bind(m.sub("up_proj"), D, c.mlp_hidden, true);
  down_proj_.bind(m.sub("down_proj"), c.mlp_hidden, D, true);
}

Tensor Layer::modulation(Context& ctx, const LayerInputs& in, int64_t batch) const {
  const int64_t T = in.t0->size(1);
  return ops::add(ctx, in.t0->reshape({batch, T, 6, dim_}), scale_shift_table_);
}

Tensor Layer::self_attention(Context& ctx, const Tensor& a, const LayerInputs& in) const {
  const int64_t B = a.size(0), N = a.size(1);
  const Tensor q = q_norm_(ctx, q_(ctx, a)), k = k_norm_(ctx, k_(ctx, a)), v = v_(ctx, a);
  const Tensor& cos = softmax_ ? *in.cos_softmax : *in.cos_linear;
  const Tensor& sin = softmax_ ? *in.sin_softmax : *in.sin_linear;
  const Tensor qr = ops::rope_pairs(ctx, q, cos, sin, heads_), kr = ops::rope_pairs(ctx, k, cos, sin, heads_);
  Tensor o;
  if (softmax_) {
    o = ops::sdpa(ctx, qr, kr, v, Tensor(), heads_);
  } else {
    const Tensor beta = beta_proj_(ctx, a);
    o = ops::gated_linear_attention(ctx, qr, kr, v, beta, heads_, normalizer_ ? q : Tensor(),
                                    normalizer_ ? k : Tensor(), 1e-8f);
    // o_norm: RMS over each head's lanes, one weight shared by all heads.
    o = o_norm_(ctx, o.reshape({B * N * heads_, head_dim_})).reshape({B, N, dim_});
  }
  return proj_(ctx, ops::mul_act(ctx, output_gate_(ctx, a), o, ops::Act::Sigmoid));
}

Tensor Layer::attention_delta(Context& ctx, const Tensor& h, const Tensor& mod, const LayerInputs& in,
                              const std::string& name) const {
  auto row = [&](int64_t i) { return mod.select(2, i); };
  const Tensor a = ops::layer_norm_modulate(ctx, h, Tensor(), Tensor(), row(0), row(1), 1e-6f);
  const Tensor sa = self_attention(ctx, a, in);
  Tensor delta = ctx.zeros(h.shape());
  ops::add_gated_(ctx, delta, row(2), sa);
  ctx.dump(name + ".self_attn", delta);
  // Cross-attention: query from the routed input plus the gated self-attention delta; no norm or gate.
  const Tensor xq = ops::add(ctx, h, delta);
  const Tensor cq = cq_norm_(ctx, cq_(ctx, xq));
  const Tensor ck = ck_norm_(ctx, ck_(ctx, *in.y)), cv = cv_(ctx, *in.y);
  const Tensor c = cproj_(ctx, ops::sdpa(ctx, cq, ck, cv, in.text_bias ? *in.text_bias : Tensor(), cross_heads_));
  ctx.dump(name + ".cross_attn", c);
  return ops::add(ctx, delta, c);
}

Tensor Layer::mlp_delta(Context& ctx, const Tensor& h, const Tensor& mod, const std::string& name) const {
  const Tensor m = ops::layer_norm_modulate(ctx, h, Tensor(), Tensor(), mod.select(2, 3), mod.select(2, 4), 1e-6f);
  const Tensor f = down_proj_(ctx, ops::mul_act(ctx, gate_proj_(ctx, m), up_proj_(ctx, m), ops::Act::SiLU));
  Tensor delta = ctx.zeros(h.shape());
  ops::add_gated_(ctx, delta, mod.select(2, 5), f);
  ctx.dump(name + ".mlp", delta);
  return delta;
}

}  // namespace sv::sana_video2
