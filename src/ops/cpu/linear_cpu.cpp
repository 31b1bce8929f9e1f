// CPU GEMM projection with fused bias + activation epilogue.
#include <cstring>

#include "ops/cpu/act.h"
#include "ops/cpu/blas.h"
#include "ops/kernels.h"

namespace sv::cpu {

Tensor linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, ops::Act act) {
  const int64_t K = w.size(1), N = w.size(0), M = x.numel() / std::max<int64_t>(K, 1);
  Shape os = x.shape();
  os.back() = N;
  Tensor y = ctx.empty(os);
  const Tensor wf = widen(ctx, w);
  float* yp = y.f32();
  // Bias goes in first and the GEMM accumulates onto it (beta = 1): one pass over y instead of
  // BLAS zeroing it and a second bias pass.
  const float* bp = b.defined() ? b.f32() : nullptr;
  if (bp) {
    ctx.parallel_for(M, M * N, [&](int64_t pf_lo, int64_t pf_hi) {
      for (int64_t m = pf_lo; m < pf_hi; ++m) std::memcpy(yp + m * N, bp, static_cast<size_t>(N) * sizeof(float));
    });
  }
  if (K == 0) {
    if (!bp) std::fill(yp, yp + M * N, 0.0f);
  } else {
    sgemm(ctx, false, true, M, N, K, 1.0f, x.f32(), K, wf.f32(), K, bp ? 1.0f : 0.0f, yp, N);
  }
  if (act != ops::Act::None) apply_act_inplace(ctx, yp, M * N, act);
  return y;
}

}  // namespace sv::cpu
