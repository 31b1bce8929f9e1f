// Attention entry points: SANA's ReLU linear attention and masked softmax attention.
#include "ops/check.h"

namespace sv::ops {

Tensor linear_attention(Context& ctx, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& cos_in,
                        const Tensor& sin_in, int64_t heads, float eps) {
  const char* op = "linear_attention";
  Tensor q = detail::f32_input(q_in, op, "q"), k = detail::f32_input(k_in, op, "k"), v = detail::f32_input(v_in, op, "v");
  Tensor c = detail::f32_input(cos_in, op, "cos"), s = detail::f32_input(sin_in, op, "sin");
  SV_CHECK(q.dim() == 3 && q.shape() == k.shape() && q.shape() == v.shape(), op, ": q, k, v must share a [B, N, D] shape, got ",
           shape_str(q.shape()), ", ", shape_str(k.shape()), ", ", shape_str(v.shape()));
  SV_CHECK(heads > 0 && q.size(2) % heads == 0, op, ": width ", q.size(2), " is not divisible by ", heads, " heads");
  const int64_t C = q.size(2) / heads;
  SV_CHECK(C % 2 == 0, op, ": head dim ", C, " must be even for rotary pairs");
  SV_CHECK(c.shape() == Shape({q.size(1), C / 2}) && s.shape() == c.shape(), op, ": rotary tables must be [",
           q.size(1), ", ", C / 2, "], got ", shape_str(c.shape()));
  return SV_DISPATCH(q.device(), linear_attention, ctx, q, k, v, c, s, heads, eps);
}

Tensor rope_half(Context& ctx, const Tensor& x_in, const Tensor& cos_in, const Tensor& sin_in, int64_t heads) {
  Tensor x = detail::f32_input(x_in, "rope_half", "x"), c = detail::f32_input(cos_in, "rope_half", "cos");
  Tensor s = detail::f32_input(sin_in, "rope_half", "sin");
  SV_CHECK(x.dim() == 3 && heads > 0 && x.size(2) % heads == 0 && (x.size(2) / heads) % 2 == 0,
           "rope_half: x must be [B, L, H*Dh] with even Dh, got ", shape_str(x.shape()), " for ", heads, " heads");
  SV_CHECK(c.shape() == Shape({x.size(1), x.size(2) / heads / 2}) && s.shape() == c.shape(),
           "rope_half: tables must be [L, Dh/2], got ", shape_str(c.shape()));
  return SV_DISPATCH(x.device(), rope_half, ctx, x, c, s, heads);
}

Tensor causal_attention(Context& ctx, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask_in,
                        int64_t heads, int64_t kv_heads, float scale, float softcap, int64_t window) {
  const char* op = "causal_attention";
  Tensor q = detail::f32_input(q_in, op, "q"), k = detail::f32_input(k_in, op, "k"), v = detail::f32_input(v_in, op, "v");
  SV_CHECK(heads > 0 && kv_heads > 0 && heads % kv_heads == 0, op, ": ", heads, " query heads cannot share ", kv_heads,
           " kv heads");
  SV_CHECK(q.dim() == 3 && k.shape() == v.shape() && k.dim() == 3 && q.size(0) == k.size(0) && q.size(1) == k.size(1) &&
               q.size(2) % heads == 0 && k.size(2) == q.size(2) / heads * kv_heads,
           op, ": shapes q ", shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()),
           " do not fit ", heads, "/", kv_heads, " heads");
  Tensor mask;
  if (mask_in.defined()) {
    SV_CHECK(mask_in.shape() == Shape({q.size(0), q.size(1)}), op, ": key mask must be [B, L], got ",
             shape_str(mask_in.shape()));
    mask = mask_in.to(DType::F32);
  }
  return SV_DISPATCH(q.device(), causal_attention, ctx, q, k, v, mask, heads, kv_heads, scale, softcap, window);
}

Tensor sdpa(Context& ctx, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& bias_in, int64_t heads) {
  const char* op = "sdpa";
  Tensor q = detail::f32_input(q_in, op, "q"), k = detail::f32_input(k_in, op, "k"), v = detail::f32_input(v_in, op, "v");
  SV_CHECK(q.dim() == 3 && k.dim() == 3 && k.shape() == v.shape() && q.size(0) == k.size(0) && q.size(2) == k.size(2), op,
           ": q [B, N, D] and k, v [B, L, D] expected, got ", shape_str(q.shape()), ", ", shape_str(k.shape()), ", ",
           shape_str(v.shape()));
  SV_CHECK(heads > 0 && q.size(2) % heads == 0, op, ": width ", q.size(2), " is not divisible by ", heads, " heads");
  Tensor bias;
  if (bias_in.defined()) {
    bias = detail::f32_input(bias_in, op, "bias");
    SV_CHECK(bias.shape() == Shape({k.size(0), k.size(1)}), op, ": bias must be [B, L] = [", k.size(0), ", ", k.size(1),
             "], got ", shape_str(bias.shape()));
  }
  return SV_DISPATCH(q.device(), sdpa, ctx, q, k, v, bias, heads);
}

}  // namespace sv::ops
