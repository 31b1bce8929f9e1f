// CPU softmax attention (cross-attention to the caption). Linear attention: linear_attention_cpu.cpp.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/blas.h"
#include "ops/kernels.h"

namespace sv::cpu {

Tensor sdpa(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias, int64_t heads) {
  const int64_t B = q.size(0), N = q.size(1), D = q.size(2), L = k.size(1), C = D / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(C));
  const float *qp = q.f32(), *kp = k.f32(), *vp = v.f32();
  const float* bp = bias.defined() ? bias.f32() : nullptr;
  Tensor out = ctx.empty(q.shape());
  float* op = out.f32();
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(N, (int64_t(1) << 22) / std::max<int64_t>(L, 1)));
  std::vector<float> S(static_cast<size_t>(chunk * L));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t n0 = 0; n0 < N; n0 += chunk) {
        const int64_t rows = std::min(chunk, N - n0);
        const float* qb = qp + (b * N + n0) * D + h * C;
        sgemm(ctx, false, true, rows, L, C, scale, qb, D, kp + b * L * D + h * C, D, 0.0f, S.data(), L);
        ctx.parallel_for(rows, rows * L, [&](int64_t pf_lo, int64_t pf_hi) {
          for (int64_t r = pf_lo; r < pf_hi; ++r) {
            float* s = S.data() + r * L;
            float mx = -INFINITY;
            for (int64_t l = 0; l < L; ++l) {
              if (bp) s[l] += bp[b * L + l];
              mx = std::max(mx, s[l]);
            }
            double sum = 0.0;
            for (int64_t l = 0; l < L; ++l) {
              s[l] = std::exp(s[l] - mx);
              sum += s[l];
            }
            const float inv = static_cast<float>(1.0 / sum);
            for (int64_t l = 0; l < L; ++l) s[l] *= inv;
          }
        });
        sgemm(ctx, false, false, rows, C, L, 1.0f, S.data(), L, vp + b * L * D + h * C, D, 0.0f,
              op + (b * N + n0) * D + h * C, D);
      }
    }
  }
  return out;
}

}  // namespace sv::cpu
