// CPU normalisation kernels. Statistics accumulate in double: rows are short and this keeps
// us well inside the 1e-4 relative parity budget whatever the width.
#include <cmath>

#include "ops/kernels.h"

namespace sv::cpu {
namespace {
inline void row_stats(const float* x, int64_t D, float eps, float* mean_out, float* rstd_out) {
  double s = 0.0;
  for (int64_t d = 0; d < D; ++d) s += x[d];
  const double mean = s / static_cast<double>(D);
  double v = 0.0;
  for (int64_t d = 0; d < D; ++d) {
    const double c = x[d] - mean;
    v += c * c;
  }
  *mean_out = static_cast<float>(mean);
  *rstd_out = static_cast<float>(1.0 / std::sqrt(v / static_cast<double>(D) + eps));
}
}  // namespace

Tensor layer_norm_modulate(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& shift,
                           const Tensor& scale, float eps) {
  const float* wp = w.defined() ? w.f32() : nullptr;
  const float* bp = b.defined() ? b.f32() : nullptr;
  const int64_t B = x.size(0), N = x.size(1), D = x.size(2);
  Tensor y = ctx.empty(x.shape());
  const float* xp = x.f32();
  float* yp = y.f32();
  const float *sh = shift.data<float>(), *sc = scale.data<float>();
  const int64_t sh0 = shift.stride(0), sh1 = shift.stride(1), shg = N / shift.size(1);
  const int64_t sc0 = scale.stride(0), sc1 = scale.stride(1), scg = N / scale.size(1);
  ctx.parallel_for(B * N, B * N * D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const int64_t bi = r / N, n = r % N;
      const float* xr = xp + r * D;
      float* yr = yp + r * D;
      const float* shr = sh + bi * sh0 + (n / shg) * sh1;
      const float* scr = sc + bi * sc0 + (n / scg) * sc1;
      float mean, rstd;
      row_stats(xr, D, eps, &mean, &rstd);
      if (wp || bp) {
        for (int64_t d = 0; d < D; ++d) {
          float v = (xr[d] - mean) * rstd;
          if (wp) v *= wp[d];
          if (bp) v += bp[d];
          yr[d] = v * (1.0f + scr[d]) + shr[d];
        }
      } else {
        for (int64_t d = 0; d < D; ++d) yr[d] = ((xr[d] - mean) * rstd) * (1.0f + scr[d]) + shr[d];
      }
    }
  });
  return y;
}

Tensor layer_norm(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps) {
  const int64_t D = x.size(-1), R = x.numel() / std::max<int64_t>(D, 1);
  Tensor y = ctx.empty(x.shape());
  const float* xp = x.f32();
  float* yp = y.f32();
  const float* wp = w.defined() ? w.f32() : nullptr;
  const float* bp = b.defined() ? b.f32() : nullptr;
  ctx.parallel_for(R, R * D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const float* xr = xp + r * D;
      float* yr = yp + r * D;
      float mean, rstd;
      row_stats(xr, D, eps, &mean, &rstd);
      for (int64_t d = 0; d < D; ++d) {
        float v = (xr[d] - mean) * rstd;
        if (wp) v *= wp[d];
        if (bp) v += bp[d];
        yr[d] = v;
      }
    }
  });
  return y;
}

Tensor rms_norm(Context& ctx, const Tensor& x, const Tensor& w, float eps) {
  const int64_t D = x.size(-1), R = x.numel() / std::max<int64_t>(D, 1);
  Tensor y = ctx.empty(x.shape());
  const float* xp = x.f32();
  float* yp = y.f32();
  const float* wp = w.defined() ? w.f32() : nullptr;
  ctx.parallel_for(R, R * D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const float* xr = xp + r * D;
      float* yr = yp + r * D;
      double s = 0.0;
      for (int64_t d = 0; d < D; ++d) s += static_cast<double>(xr[d]) * xr[d];
      const float inv = static_cast<float>(1.0 / std::sqrt(s / static_cast<double>(D) + eps));
      for (int64_t d = 0; d < D; ++d) yr[d] = wp ? (xr[d] * inv) * wp[d] : xr[d] * inv;
    }
  });
  return y;
}

}  // namespace sv::cpu
