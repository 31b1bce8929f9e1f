// Entry points of SANA-Video 2.0's attention pieces: interleaved RoPE, gated linear attention and the
// block attention-residual routing.
#include "ops/check.h"
#include "ops/kernels.h"

namespace sv::ops {

Tensor rope_pairs(Context& ctx, const Tensor& x_in, const Tensor& cos_in, const Tensor& sin_in, int64_t heads) {
  const char* op = "rope_pairs";
  Tensor x = detail::f32_input(x_in, op, "x"), c = detail::f32_input(cos_in, op, "cos"),
         s = detail::f32_input(sin_in, op, "sin");
  SV_CHECK(x.dim() == 3 && heads > 0 && x.size(2) % (2 * heads) == 0, op, ": x must be [B, N, H*C] with even C, got ",
           shape_str(x.shape()), " for ", heads, " heads");
  const Shape table{x.size(1), x.size(2) / heads / 2};
  SV_CHECK(c.shape() == table && s.shape() == table, op, ": cos/sin must be ", shape_str(table), ", got ",
           shape_str(c.shape()));
  detail::same_device(x, c, op);
  detail::same_device(x, s, op);
  return SV_DISPATCH(x.device(), rope_pairs, ctx, x, c, s, heads);
}

Tensor gated_linear_attention(Context& ctx, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                              const Tensor& beta_in, int64_t heads, const Tensor& qp_in, const Tensor& kp_in, float eps) {
  const char* op = "gated_linear_attention";
  Tensor q = detail::f32_input(q_in, op, "q"), k = detail::f32_input(k_in, op, "k"), v = detail::f32_input(v_in, op, "v");
  Tensor beta = detail::f32_input(beta_in, op, "beta");
  SV_CHECK(q.dim() == 3 && q.shape() == k.shape() && q.shape() == v.shape(), op, ": q, k, v must be one [B, N, H*C], got ",
           shape_str(q.shape()), ", ", shape_str(k.shape()), ", ", shape_str(v.shape()));
  SV_CHECK(heads > 0 && q.size(2) % heads == 0, op, ": width ", q.size(2), " is not divisible by ", heads, " heads");
  SV_CHECK(beta.shape() == Shape({q.size(0), q.size(1), heads}), op, ": beta must be [B, N, H] = [", q.size(0), ", ",
           q.size(1), ", ", heads, "], got ", shape_str(beta.shape()));
  SV_CHECK(qp_in.defined() == kp_in.defined(), op, ": q_plain and k_plain go together");
  Tensor qp, kp;
  if (qp_in.defined()) {
    qp = detail::f32_input(qp_in, op, "q_plain");
    kp = detail::f32_input(kp_in, op, "k_plain");
    SV_CHECK(qp.shape() == q.shape() && kp.shape() == q.shape(), op, ": q_plain/k_plain must match q");
  }
  for (const Tensor* t : {&k, &v, &beta}) detail::same_device(q, *t, op);
  return SV_DISPATCH(q.device(), gated_linear_attention, ctx, q, k, v, beta, heads, qp, kp, eps);
}

Tensor rms_dot(Context& ctx, const Tensor& x_in, const Tensor& w_in, float eps) {
  const char* op = "rms_dot";
  Tensor x = detail::f32_input(x_in, op, "x"), w = detail::f32_input(w_in, op, "w");
  SV_CHECK(x.dim() == 3 && w.dim() == 2 && w.size(1) == x.size(2), op, ": x [B, N, D] and w [J, D] expected, got ",
           shape_str(x.shape()), ", ", shape_str(w.shape()));
  detail::same_device(x, w, op);
  return SV_DISPATCH(x.device(), rms_dot, ctx, x, w, eps);
}

Tensor softmax_mix(Context& ctx, const std::vector<Tensor>& values_in, const std::vector<Tensor>& logits_in, int64_t col) {
  const char* op = "softmax_mix";
  SV_CHECK(!values_in.empty() && values_in.size() == logits_in.size() && values_in.size() <= 16, op,
           ": 1 to 16 sources, each with its logits, expected; got ", values_in.size(), " and ", logits_in.size());
  if (values_in.size() == 1) return values_in[0];
  std::vector<Tensor> values, logits;
  for (size_t s = 0; s < values_in.size(); ++s) {
    values.push_back(detail::f32_input(values_in[s], op, "value"));
    logits.push_back(detail::f32_input(logits_in[s], op, "logits"));
    SV_CHECK(values[s].dim() == 3 && values[s].shape() == values[0].shape(), op, ": sources must share one [B, N, D]");
    SV_CHECK(logits[s].dim() == 3 && logits[s].size(0) == values[0].size(0) && logits[s].size(1) == values[0].size(1) &&
                 col >= 0 && col < logits[s].size(2),
             op, ": logits must be [B, N, J] with column ", col, ", got ", shape_str(logits[s].shape()));
    detail::same_device(values[0], values[s], op);
    detail::same_device(values[0], logits[s], op);
  }
  return SV_DISPATCH(values[0].device(), softmax_mix, ctx, values, logits, col);
}

}  // namespace sv::ops
