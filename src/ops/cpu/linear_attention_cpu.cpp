// CPU ReLU linear attention, following diffusers' SanaLinearAttnProcessor3_0 in fp32: ReLU feature
// map, rotary on the numerator features only, normaliser from the un-rotated features. Three forms
// share the pieces below: bidirectional, LongSANA's cached block (state of earlier blocks), and the
// chunk-causal full sequence that the cached form must reproduce.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu/blas.h"
#include "ops/kernels.h"

namespace sv::cpu {
namespace {

struct Dims {
  int64_t B, N, D, H, C, P;
  Dims(const Tensor& q, int64_t heads)
      : B(q.size(0)), N(q.size(1)), D(q.size(2)), H(heads), C(q.size(2) / heads), P(q.size(2) / heads / 2) {}
};

// ReLU'd q and k rotated by each token's angles, same [B, N, D] layout as the inputs.
void relu_rotate(Context& ctx, const Dims& d, const Tensor& q, const Tensor& k, const Tensor& cos, const Tensor& sin,
                 float* qr, float* kr) {
  const float *qp = q.f32(), *kp = k.f32(), *cp = cos.f32(), *sp = sin.f32();
  ctx.parallel_for(d.B * d.N, d.B * d.N * d.D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const int64_t n = r % d.N;
      const float *c = cp + n * d.P, *s = sp + n * d.P;
      for (int64_t h = 0; h < d.H; ++h) {
        const int64_t o = r * d.D + h * d.C;
        for (int64_t i = 0; i < d.P; ++i) {
          const float q0 = std::max(qp[o + 2 * i], 0.0f), q1 = std::max(qp[o + 2 * i + 1], 0.0f);
          const float k0 = std::max(kp[o + 2 * i], 0.0f), k1 = std::max(kp[o + 2 * i + 1], 0.0f);
          qr[o + 2 * i] = q0 * c[i] - q1 * s[i];
          qr[o + 2 * i + 1] = q0 * s[i] + q1 * c[i];
          kr[o + 2 * i] = k0 * c[i] - k1 * s[i];
          kr[o + 2 * i + 1] = k0 * s[i] + k1 * c[i];
        }
      }
    }
  });
}

// ks[b*D + ch] += sum over tokens [n0, n1) of ReLU(k), accumulated in double.
void relu_token_sum(Context& ctx, const Dims& d, const float* kp, int64_t n0, int64_t n1, double* ks) {
  for (int64_t b = 0; b < d.B; ++b) {
    double* kb = ks + b * d.D;
    ctx.parallel_for((d.D + 63) / 64, (n1 - n0) * d.D, [&](int64_t blk0, int64_t blk1) {
      for (int64_t c0 = blk0 * 64; c0 < std::min(d.D, blk1 * 64); c0 += 64) {
        const int64_t c1 = std::min(d.D, c0 + 64);
        for (int64_t n = n0; n < n1; ++n) {
          const float* row = kp + (b * d.N + n) * d.D;
          for (int64_t c = c0; c < c1; ++c) kb[c] += std::max(row[c], 0.0f);
        }
      }
    });
  }
}

// vk[c1, c2] = sum over tokens [n0, n1) of v[n, c1] * k_r[n, c2] for batch b, head h.
void token_vk(const Context& ctx, const Dims& d, const float* vp, const float* kr, int64_t b, int64_t h, int64_t n0, int64_t n1, float* vk) {
  const int64_t base = (b * d.N + n0) * d.D + h * d.C;
  sgemm(ctx, true, false, d.C, d.C, n1 - n0, 1.0f, vp + base, d.D, kr + base, d.D, 0.0f, vk, d.C);
}

// out rows [n0, n1) of batch b, head h: q_r @ vk^T (normalised later).
void apply_vk(const Context& ctx, const Dims& d, const float* qr, const float* vk, int64_t b, int64_t h, int64_t n0, int64_t n1, float* op) {
  const int64_t base = (b * d.N + n0) * d.D + h * d.C;
  sgemm(ctx, false, true, n1 - n0, d.C, d.C, 1.0f, qr + base, d.D, vk, d.C, 0.0f, op + base, d.D);
}

// Divides rows [n0, n1) of every batch by ReLU(q) . ks + eps, with ks [B, D] per batch.
void normalise(Context& ctx, const Dims& d, const float* qp, const double* ks, int64_t n0, int64_t n1, float eps,
               float* op) {
  const int64_t rows = n1 - n0;
  ctx.parallel_for(d.B * rows, d.B * rows * d.D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const int64_t b = r / rows, n = n0 + r % rows;
      for (int64_t h = 0; h < d.H; ++h) {
        const float* qrow = qp + (b * d.N + n) * d.D + h * d.C;
        const double* k = ks + b * d.D + h * d.C;
        double den = 0.0;
        for (int64_t c = 0; c < d.C; ++c) den += std::max(qrow[c], 0.0f) * k[c];
        const float z = 1.0f / (static_cast<float>(den) + eps);
        float* orow = op + (b * d.N + n) * d.D + h * d.C;
        for (int64_t c = 0; c < d.C; ++c) orow[c] *= z;
      }
    }
  });
}

}  // namespace

Tensor linear_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                        const Tensor& sin, int64_t heads, float eps) {
  return linear_attention_cached(ctx, q, k, v, cos, sin, heads, Tensor(), Tensor(), nullptr, nullptr, eps);
}

Tensor linear_attention_cached(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                               const Tensor& sin, int64_t heads, const Tensor& vk_prev, const Tensor& ksum_prev,
                               Tensor* vk_cur, Tensor* ksum_cur, float eps) {
  const Dims d(q, heads);
  Tensor qr_t = ctx.empty(q.shape()), kr_t = ctx.empty(q.shape()), out = ctx.empty(q.shape());
  float *qr = qr_t.f32(), *kr = kr_t.f32(), *op = out.f32();
  relu_rotate(ctx, d, q, k, cos, sin, qr, kr);
  std::vector<double> ks(static_cast<size_t>(d.B * d.D), 0.0);
  relu_token_sum(ctx, d, k.f32(), 0, d.N, ks.data());
  if (ksum_cur) {
    *ksum_cur = Tensor::empty({d.B, d.H, d.C});
    for (int64_t i = 0; i < d.B * d.D; ++i) ksum_cur->f32()[i] = static_cast<float>(ks[static_cast<size_t>(i)]);
  }
  if (ksum_prev.defined())
    for (int64_t i = 0; i < d.B * d.D; ++i) ks[static_cast<size_t>(i)] += ksum_prev.f32()[i];
  if (vk_cur) *vk_cur = Tensor::empty({d.B, d.H, d.C, d.C});
  // One head per chunk: a head's GEMMs are C x C wide, too narrow to cut further.
  ctx.parallel_for(d.B * d.H, 2 * d.B * d.N * d.D * d.C, [&](int64_t bh0, int64_t bh1) {
    std::vector<float> vk(static_cast<size_t>(d.C * d.C));
    for (int64_t bh = bh0; bh < bh1; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H;
      token_vk(ctx, d, v.f32(), kr, b, h, 0, d.N, vk.data());
      const int64_t slot = (b * d.H + h) * d.C * d.C;
      if (vk_cur) std::memcpy(vk_cur->f32() + slot, vk.data(), vk.size() * sizeof(float));
      if (vk_prev.defined()) {
        const float* prev = vk_prev.f32() + slot;
        for (size_t i = 0; i < vk.size(); ++i) vk[i] += prev[i];
      }
      apply_vk(ctx, d, qr, vk.data(), b, h, 0, d.N, op);
    }
  });
  normalise(ctx, d, q.f32(), ks.data(), 0, d.N, eps, op);
  return out;
}

Tensor linear_attention_chunked(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                                const Tensor& sin, int64_t heads, const std::vector<int64_t>& chunk_starts, float eps) {
  const Dims d(q, heads);
  Tensor qr_t = ctx.empty(q.shape()), kr_t = ctx.empty(q.shape()), out = ctx.empty(q.shape());
  float *qr = qr_t.f32(), *kr = kr_t.f32(), *op = out.f32();
  relu_rotate(ctx, d, q, k, cos, sin, qr, kr);
  std::vector<double> ks(static_cast<size_t>(d.B * d.D));
  for (size_t c = 0; c < chunk_starts.size(); ++c) {
    const int64_t n0 = chunk_starts[c], n1 = c + 1 < chunk_starts.size() ? chunk_starts[c + 1] : d.N;
    // Keys of every token up to the chunk's end, summed directly (no carried state).
    ctx.parallel_for(d.B * d.H, 2 * d.B * n1 * d.D * d.C, [&](int64_t bh0, int64_t bh1) {
      std::vector<float> vk(static_cast<size_t>(d.C * d.C));
      for (int64_t bh = bh0; bh < bh1; ++bh) {
        token_vk(ctx, d, v.f32(), kr, bh / d.H, bh % d.H, 0, n1, vk.data());
        apply_vk(ctx, d, qr, vk.data(), bh / d.H, bh % d.H, n0, n1, op);
      }
    });
    std::fill(ks.begin(), ks.end(), 0.0);
    relu_token_sum(ctx, d, k.f32(), 0, n1, ks.data());
    normalise(ctx, d, q.f32(), ks.data(), n0, n1, eps, op);
  }
  return out;
}

}  // namespace sv::cpu
