// CPU attention kernels.
// Linear attention follows diffusers' SanaLinearAttnProcessor3_0 in fp32: ReLU feature map,
// rotary on the numerator features only, normaliser from the un-rotated features.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/blas.h"
#include "ops/kernels.h"

namespace sv::cpu {

Tensor linear_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                        const Tensor& sin, int64_t heads, float eps) {
  const int64_t B = q.size(0), N = q.size(1), D = q.size(2), C = D / heads, P = C / 2;
  const float *qp = q.f32(), *kp = k.f32(), *vp = v.f32(), *cp = cos.f32(), *sp = sin.f32();
  // Rotated ReLU features for all heads at once, same [B, N, D] layout as the inputs.
  Tensor qr_t = ctx.empty(q.shape()), kr_t = ctx.empty(q.shape());
  float *qr = qr_t.f32(), *kr = kr_t.f32();
#pragma omp parallel for num_threads(ctx.threads_for(B * N * D)) schedule(static)
  for (int64_t r = 0; r < B * N; ++r) {
    const int64_t n = r % N;
    const float *c = cp + n * P, *s = sp + n * P;
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t o = r * D + h * C;
      for (int64_t i = 0; i < P; ++i) {
        const float q0 = std::max(qp[o + 2 * i], 0.0f), q1 = std::max(qp[o + 2 * i + 1], 0.0f);
        const float k0 = std::max(kp[o + 2 * i], 0.0f), k1 = std::max(kp[o + 2 * i + 1], 0.0f);
        qr[o + 2 * i] = q0 * c[i] - q1 * s[i];
        qr[o + 2 * i + 1] = q0 * s[i] + q1 * c[i];
        kr[o + 2 * i] = k0 * c[i] - k1 * s[i];
        kr[o + 2 * i + 1] = k0 * s[i] + k1 * c[i];
      }
    }
  }
  // Sum over tokens of ReLU(k), per batch and channel (= per head and head channel).
  std::vector<double> ksum(static_cast<size_t>(B * D), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    double* ks = ksum.data() + b * D;
#pragma omp parallel for num_threads(ctx.threads_for(N * D)) schedule(static)
    for (int64_t d0 = 0; d0 < D; d0 += 64) {
      const int64_t d1 = std::min(D, d0 + 64);
      for (int64_t n = 0; n < N; ++n) {
        const float* row = kp + (b * N + n) * D;
        for (int64_t d = d0; d < d1; ++d) ks[d] += std::max(row[d], 0.0f);
      }
    }
  }
  Tensor out = ctx.empty(q.shape());
  float* op = out.f32();
  std::vector<float> vk(static_cast<size_t>(C * C));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t base = b * N * D + h * C;
      // vk[c1, c2] = sum_n v[n, c1] * k_r[n, c2]
      sgemm(true, false, C, C, N, 1.0f, vp + base, D, kr + base, D, 0.0f, vk.data(), C);
      // out[n, c1] = sum_c2 q_r[n, c2] * vk[c1, c2]
      sgemm(false, true, N, C, C, 1.0f, qr + base, D, vk.data(), C, 0.0f, op + base, D);
    }
  }
#pragma omp parallel for num_threads(ctx.threads_for(B * N * D)) schedule(static)
  for (int64_t r = 0; r < B * N; ++r) {
    const int64_t b = r / N;
    for (int64_t h = 0; h < heads; ++h) {
      const float* qrow = qp + r * D + h * C;
      const double* ks = ksum.data() + b * D + h * C;
      double den = 0.0;
      for (int64_t c = 0; c < C; ++c) den += std::max(qrow[c], 0.0f) * ks[c];
      const float z = 1.0f / (static_cast<float>(den) + eps);
      float* orow = op + r * D + h * C;
      for (int64_t c = 0; c < C; ++c) orow[c] *= z;
    }
  }
  return out;
}

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
        sgemm(false, true, rows, L, C, scale, qb, D, kp + b * L * D + h * C, D, 0.0f, S.data(), L);
#pragma omp parallel for num_threads(ctx.threads_for(rows * L)) schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
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
        sgemm(false, false, rows, C, L, 1.0f, S.data(), L, vp + b * L * D + h * C, D, 0.0f,
              op + (b * N + n0) * D + h * C, D);
      }
    }
  }
  return out;
}

}  // namespace sv::cpu
