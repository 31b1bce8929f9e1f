// Attention entry points: SANA's ReLU linear attention and masked softmax attention.
#include "ops/check.h"

namespace sv::ops {

namespace {
struct LinearInputs {
  Tensor q, k, v, c, s;
  int64_t C;
};

LinearInputs linear_inputs(const char* op, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                           const Tensor& cos_in, const Tensor& sin_in, int64_t heads) {
  LinearInputs r;
  r.q = detail::f32_input(q_in, op, "q"), r.k = detail::f32_input(k_in, op, "k"), r.v = detail::f32_input(v_in, op, "v");
  r.c = detail::f32_input(cos_in, op, "cos"), r.s = detail::f32_input(sin_in, op, "sin");
  SV_CHECK(r.q.dim() == 3 && r.q.shape() == r.k.shape() && r.q.shape() == r.v.shape(), op,
           ": q, k, v must share a [B, N, D] shape, got ", shape_str(r.q.shape()), ", ", shape_str(r.k.shape()), ", ",
           shape_str(r.v.shape()));
  SV_CHECK(heads > 0 && r.q.size(2) % heads == 0, op, ": width ", r.q.size(2), " is not divisible by ", heads, " heads");
  r.C = r.q.size(2) / heads;
  SV_CHECK(r.C % 2 == 0, op, ": head dim ", r.C, " must be even for rotary pairs");
  SV_CHECK(r.c.shape() == Shape({r.q.size(1), r.C / 2}) && r.s.shape() == r.c.shape(), op, ": rotary tables must be [",
           r.q.size(1), ", ", r.C / 2, "], got ", shape_str(r.c.shape()));
  return r;
}
}  // namespace

Tensor linear_attention(Context& ctx, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& cos_in,
                        const Tensor& sin_in, int64_t heads, float eps) {
  const LinearInputs a = linear_inputs("linear_attention", q_in, k_in, v_in, cos_in, sin_in, heads);
  return SV_DISPATCH(a.q.device(), linear_attention, ctx, a.q, a.k, a.v, a.c, a.s, heads, eps);
}

Tensor linear_attention_cached(Context& ctx, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                               const Tensor& cos_in, const Tensor& sin_in, int64_t heads, const Tensor& vk_prev,
                               const Tensor& ksum_prev, Tensor* vk_cur, Tensor* ksum_cur, float eps) {
  const char* op = "linear_attention_cached";
  const LinearInputs a = linear_inputs(op, q_in, k_in, v_in, cos_in, sin_in, heads);
  SV_CHECK(vk_prev.defined() == ksum_prev.defined(), op, ": the state needs both vk and ksum or neither");
  Tensor vk, ks;
  if (vk_prev.defined()) {
    const int64_t B = a.q.size(0);
    vk = detail::f32_input(vk_prev, op, "vk_prev");
    ks = detail::f32_input(ksum_prev, op, "ksum_prev");
    SV_CHECK(vk.shape() == Shape({B, heads, a.C, a.C}) && ks.shape() == Shape({B, heads, a.C}), op,
             ": state must be vk [", B, ", ", heads, ", ", a.C, ", ", a.C, "] and ksum [", B, ", ", heads, ", ", a.C,
             "], got ", shape_str(vk.shape()), " and ", shape_str(ks.shape()));
    detail::same_device(a.q, vk, op);
    detail::same_device(a.q, ks, op);
  }
  return SV_DISPATCH(a.q.device(), linear_attention_cached, ctx, a.q, a.k, a.v, a.c, a.s, heads, vk, ks, vk_cur,
                     ksum_cur, eps);
}

Tensor linear_attention_chunked(Context& ctx, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                const Tensor& cos_in, const Tensor& sin_in, int64_t heads,
                                const std::vector<int64_t>& chunk_starts, float eps) {
  const char* op = "linear_attention_chunked";
  const LinearInputs a = linear_inputs(op, q_in, k_in, v_in, cos_in, sin_in, heads);
  const int64_t N = a.q.size(1);
  SV_CHECK(!chunk_starts.empty() && chunk_starts[0] == 0, op, ": chunk starts must begin at token 0");
  for (size_t i = 1; i < chunk_starts.size(); ++i)
    SV_CHECK(chunk_starts[i] > chunk_starts[i - 1] && chunk_starts[i] < N, op, ": chunk start ", chunk_starts[i],
             " must be ascending and below ", N, " tokens");
  return SV_DISPATCH(a.q.device(), linear_attention_chunked, ctx, a.q, a.k, a.v, a.c, a.s, heads, chunk_starts, eps);
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
