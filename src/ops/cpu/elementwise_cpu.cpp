// CPU pointwise kernels.
#include <cstring>

#include "ops/cpu/act.h"
#include "ops/kernels.h"

namespace sv::cpu {

Tensor activation(Context& ctx, const Tensor& x, ops::Act act) {
  Tensor y = ctx.empty(x.shape());
  std::memcpy(y.f32(), x.f32(), x.nbytes());
  apply_act_inplace(ctx, y.f32(), x.numel(), act);
  return y;
}

Tensor add(Context& ctx, const Tensor& a, const Tensor& b) {
  if (a.shape() == b.shape()) {  // the residual case: no index arithmetic
    Tensor y = ctx.empty(a.shape());
    const float *ap = a.f32(), *bp = b.f32();
    float* yp = y.f32();
    const int64_t n = a.numel();
    ctx.parallel_for(n, n, [&](int64_t pf_lo, int64_t pf_hi) {
      for (int64_t i = pf_lo; i < pf_hi; ++i) yp[i] = ap[i] + bp[i];
    });
    return y;
  }
  const int64_t nd = std::max(a.dim(), b.dim());
  Shape out(nd), sa(nd, 0), sb(nd, 0);
  const Shape ca = contiguous_strides(a.shape()), cb = contiguous_strides(b.shape());
  for (int64_t i = 0; i < nd; ++i) {
    const int64_t ia = i - (nd - a.dim()), ib = i - (nd - b.dim());
    const int64_t da = ia < 0 ? 1 : a.size(ia), db = ib < 0 ? 1 : b.size(ib);
    out[i] = std::max(da, db);
    if (ia >= 0 && da != 1) sa[i] = ca[ia];
    if (ib >= 0 && db != 1) sb[i] = cb[ib];
  }
  Tensor y = ctx.empty(out);
  const float *ap = a.f32(), *bp = b.f32();
  float* yp = y.f32();
  const int64_t n = y.numel();
  ctx.parallel_for(n, n, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t i = pf_lo; i < pf_hi; ++i) {
      int64_t r = i, oa = 0, ob = 0;
      for (int64_t d = nd - 1; d >= 0; --d) {
        const int64_t idx = r % out[d];
        r /= out[d];
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      yp[i] = ap[oa] + bp[ob];
    }
  });
  return y;
}

void add_gated_(Context& ctx, Tensor& x, const Tensor& gate, const Tensor& y) {
  const int64_t B = x.size(0), N = x.size(1), D = x.size(2), T = gate.size(1);
  float* xp = x.f32();
  const float* yp = y.f32();
  const float* gp = gate.data<float>();
  const int64_t gs0 = gate.stride(0), gs1 = gate.stride(1), grp = N / T;
  ctx.parallel_for(B * N, B * N * D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const int64_t bi = r / N, n = r % N;
      const float* g = gp + bi * gs0 + (n / grp) * gs1;
      float* xr = xp + r * D;
      const float* yr = yp + r * D;
      for (int64_t d = 0; d < D; ++d) xr[d] += g[d] * yr[d];
    }
  });
}

}  // namespace sv::cpu

namespace sv::cpu {

Tensor mul_act(Context& ctx, const Tensor& a, const Tensor& b, ops::Act act) {
  Tensor y = ctx.empty(a.shape());
  std::memcpy(y.f32(), a.f32(), a.nbytes());
  apply_act_inplace(ctx, y.f32(), a.numel(), act);
  float* yp = y.f32();
  const float* bp = b.f32();
  const int64_t n = a.numel();
  ctx.parallel_for(n, n, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t i = pf_lo; i < pf_hi; ++i) yp[i] *= bp[i];
  });
  return y;
}

}  // namespace sv::cpu

namespace sv::cpu {

Tensor widen(Context& ctx, const Tensor& w) {
  if (w.dtype() == DType::F32) return w;
  Tensor out = ctx.empty(w.shape());
  const uint16_t* src = static_cast<const uint16_t*>(w.raw());
  float* dst = out.f32();
  const int64_t n = w.numel();
  const bool bf = w.dtype() == DType::BF16;
  ctx.parallel_for(n, n, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t i = pf_lo; i < pf_hi; ++i) dst[i] = bf ? bf16_to_f32(src[i]) : f16_to_f32(src[i]);
  });
  return out;
}

}  // namespace sv::cpu
