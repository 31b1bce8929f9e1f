// CPU kernels for decoder-style attention (Gemma2): rotate-half RoPE and causal GQA attention with
// logit soft-capping, key padding and sliding windows, computed like transformers' eager path.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/blas.h"
#include "ops/kernels.h"

namespace sv::cpu {

Tensor rope_half(Context& ctx, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t heads) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2), Dh = D / heads, half = Dh / 2;
  Tensor y = ctx.empty(x.shape());
  const float *xp = x.f32(), *cp = cos.f32(), *sp = sin.f32();
  float* yp = y.f32();
  ctx.parallel_for(B * L, B * L * D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const int64_t l = r % L;
      const float *c = cp + l * half, *s = sp + l * half;
      for (int64_t h = 0; h < heads; ++h) {
        const float* a = xp + r * D + h * Dh;
        float* o = yp + r * D + h * Dh;
        for (int64_t j = 0; j < half; ++j) {
          o[j] = a[j] * c[j] - a[j + half] * s[j];
          o[j + half] = a[j + half] * c[j] + a[j] * s[j];
        }
      }
    }
  });
  return y;
}

Tensor causal_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                        int64_t heads, int64_t kv_heads, float scale, float softcap, int64_t window) {
  const int64_t B = q.size(0), L = q.size(1), Dq = q.size(2), Dh = Dq / heads, Dk = k.size(2), group = heads / kv_heads;
  const float *qp = q.f32(), *kp = k.f32(), *vp = v.f32();
  const float* mp = mask.defined() ? mask.f32() : nullptr;
  Tensor out = ctx.empty(q.shape());
  float* op = out.f32();
  std::vector<float> S(static_cast<size_t>(L * L));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t kh = h / group;
      const float* kb = kp + b * L * Dk + kh * Dh;
      sgemm(ctx, false, true, L, L, Dh, scale, qp + b * L * Dq + h * Dh, Dq, kb, Dk, 0.0f, S.data(), L);
      ctx.parallel_for(L, L * L, [&](int64_t pf_lo, int64_t pf_hi) {
        for (int64_t i = pf_lo; i < pf_hi; ++i) {
          float* s = S.data() + i * L;
          float mx = -INFINITY;
          int64_t visible = 0;
          for (int64_t j = 0; j < L; ++j) {
            const bool ok = j <= i && (!mp || mp[b * L + j] != 0.0f) && (window <= 0 || i - j < window);
            if (!ok) {
              s[j] = -INFINITY;
              continue;
            }
            ++visible;
            if (softcap > 0) s[j] = std::tanh(s[j] / softcap) * softcap;
            mx = std::max(mx, s[j]);
          }
          if (visible == 0) {
            for (int64_t j = 0; j < L; ++j) s[j] = 1.0f / static_cast<float>(L);
            continue;
          }
          double sum = 0.0;
          for (int64_t j = 0; j < L; ++j) {
            s[j] = s[j] == -INFINITY ? 0.0f : std::exp(s[j] - mx);
            sum += s[j];
          }
          const float inv = static_cast<float>(1.0 / sum);
          for (int64_t j = 0; j < L; ++j) s[j] *= inv;
        }
      });
      sgemm(ctx, false, false, L, Dh, L, 1.0f, S.data(), L, vp + b * L * Dk + kh * Dh, Dk, 0.0f, op + b * L * Dq + h * Dh, Dq);
    }
  return out;
}

}  // namespace sv::cpu
