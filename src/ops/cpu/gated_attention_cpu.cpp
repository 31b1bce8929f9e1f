// CPU kernels of SANA-Video 2.0's attention pieces. The state S = V^T (beta K) and the output Q S^T are
// BLAS GEMMs per (batch, head); the rest are row loops with double accumulation where sums are long.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/blas.h"
#include "ops/kernels.h"

namespace sv::cpu {

Tensor rope_pairs(Context& ctx, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t heads) {
  const int64_t B = x.size(0), N = x.size(1), D = x.size(2), C = D / heads, P = C / 2;
  Tensor y = ctx.empty(x.shape());
  const float *xp = x.f32(), *cp = cos.f32(), *sp = sin.f32();
  float* yp = y.f32();
  ctx.parallel_for(B * N, B * N * D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const float *c = cp + (r % N) * P, *s = sp + (r % N) * P;
      for (int64_t h = 0; h < heads; ++h) {
        const float* xi = xp + r * D + h * C;
        float* yo = yp + r * D + h * C;
        for (int64_t i = 0; i < P; ++i) {
          const float x0 = xi[2 * i], x1 = xi[2 * i + 1];
          yo[2 * i] = x0 * c[i] - x1 * s[i];
          yo[2 * i + 1] = x0 * s[i] + x1 * c[i];
        }
      }
    }
  });
  return y;
}

Tensor gated_linear_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& beta,
                              int64_t heads, const Tensor& q_plain, const Tensor& k_plain, float eps) {
  const int64_t B = q.size(0), N = q.size(1), D = q.size(2), H = heads, C = D / H;
  // Gated keys: k[m] * sigmoid(beta[m, h]).
  Tensor kg_t = ctx.empty(k.shape());
  const float *kp = k.f32(), *bp = beta.f32();
  float* kg = kg_t.f32();
  ctx.parallel_for(B * N, B * N * D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r)
      for (int64_t h = 0; h < H; ++h) {
        const float g = 1.0f / (1.0f + std::exp(-bp[r * H + h]));
        for (int64_t c = 0; c < C; ++c) kg[r * D + h * C + c] = kp[r * D + h * C + c] * g;
      }
  });
  Tensor out = ctx.empty(q.shape());
  float* op = out.f32();
  // One head per chunk: a head's GEMMs are C x C wide, too narrow to cut further.
  ctx.parallel_for(B * H, 2 * B * N * D * C, [&](int64_t bh0, int64_t bh1) {
    std::vector<float> S(static_cast<size_t>(C * C));
    for (int64_t bh = bh0; bh < bh1; ++bh) {
      const int64_t base = (bh / H) * N * D + (bh % H) * C;
      // S[c1, c2] = sum_m v[m, c1] kg[m, c2]; out[n, c1] = sum_c2 S[c1, c2] q[n, c2].
      sgemm(ctx, true, false, C, C, N, 1.0f, v.f32() + base, D, kg + base, D, 0.0f, S.data(), C);
      sgemm(ctx, false, true, N, C, C, 1.0f, q.f32() + base, D, S.data(), C, 0.0f, op + base, D);
    }
  });
  if (!q_plain.defined()) return out;
  // The first release's normaliser: 1 / (sum_m ReLU(k_plain[m]) . ReLU(q_plain[n]) + eps), per head.
  std::vector<double> ks(static_cast<size_t>(B * D), 0.0);
  const float *qpp = q_plain.f32(), *kpp = k_plain.f32();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < D; ++c) ks[b * D + c] += std::max(kpp[(b * N + n) * D + c], 0.0f);
  ctx.parallel_for(B * N, B * N * D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const int64_t b = r / N;
      for (int64_t h = 0; h < H; ++h) {
        double den = 0.0;
        for (int64_t c = 0; c < C; ++c) den += std::max(qpp[r * D + h * C + c], 0.0f) * ks[b * D + h * C + c];
        const float z = 1.0f / (static_cast<float>(den) + eps);
        for (int64_t c = 0; c < C; ++c) op[r * D + h * C + c] *= z;
      }
    }
  });
  return out;
}

Tensor rms_dot(Context& ctx, const Tensor& x, const Tensor& w, float eps) {
  const int64_t R = x.size(0) * x.size(1), D = x.size(2), J = w.size(0);
  Tensor y = ctx.empty({x.size(0), x.size(1), J});
  const float *xp = x.f32(), *wp = w.f32();
  float* yp = y.f32();
  ctx.parallel_for(R, R * D * (J + 1), [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const float* xr = xp + r * D;
      double ss = 0.0;
      for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(xr[d]) * xr[d];
      const double inv = 1.0 / std::sqrt(ss / static_cast<double>(D) + eps);
      for (int64_t j = 0; j < J; ++j) {
        double dot = 0.0;
        for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(wp[j * D + d]) * xr[d];
        yp[r * J + j] = static_cast<float>(dot * inv);
      }
    }
  });
  return y;
}

Tensor softmax_mix(Context& ctx, const std::vector<Tensor>& values, const std::vector<Tensor>& logits, int64_t col) {
  const int64_t S = static_cast<int64_t>(values.size());
  const int64_t R = values[0].size(0) * values[0].size(1), D = values[0].size(2);
  Tensor y = ctx.empty(values[0].shape());
  float* yp = y.f32();
  std::vector<const float*> vp, lp;
  std::vector<int64_t> lj;
  for (int64_t s = 0; s < S; ++s) {
    vp.push_back(values[s].f32());
    lp.push_back(logits[s].f32());
    lj.push_back(logits[s].size(2));
  }
  ctx.parallel_for(R, R * D * S, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      float a[16];
      float mx = -INFINITY;
      for (int64_t s = 0; s < S; ++s) mx = std::max(mx, a[s] = lp[s][r * lj[s] + col]);
      float sum = 0.0f;
      for (int64_t s = 0; s < S; ++s) sum += (a[s] = std::exp(a[s] - mx));
      for (int64_t s = 0; s < S; ++s) a[s] /= sum;
      float* yr = yp + r * D;
      for (int64_t d = 0; d < D; ++d) yr[d] = a[0] * vp[0][r * D + d];
      for (int64_t s = 1; s < S; ++s) {
        const float* vr = vp[s] + r * D;
        for (int64_t d = 0; d < D; ++d) yr[d] += a[s] * vr[d];
      }
    }
  });
  return y;
}

}  // namespace sv::cpu
