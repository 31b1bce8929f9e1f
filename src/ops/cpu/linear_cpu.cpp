// CPU GEMM projection with fused bias + activation epilogue.
#include "ops/cpu/act.h"
#include "ops/cpu/blas.h"
#include "ops/kernels.h"

namespace sv::cpu {

Tensor linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, ops::Act act) {
  const int64_t K = w.size(1), N = w.size(0), M = x.numel() / std::max<int64_t>(K, 1);
  Shape os = x.shape();
  os.back() = N;
  Tensor y = Tensor::empty(os);
  float* yp = y.f32();
  if (K == 0) {
    std::fill(yp, yp + M * N, 0.0f);
  } else {
    sgemm(false, true, M, N, K, 1.0f, x.f32(), K, w.f32(), K, 0.0f, yp, N);
  }
  const float* bp = b.defined() ? b.f32() : nullptr;
  if (bp || act != ops::Act::None) {
#pragma omp parallel for num_threads(ctx.threads()) schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      float* row = yp + m * N;
      if (bp)
        for (int64_t n = 0; n < N; ++n) row[n] += bp[n];
      if (act != ops::Act::None)
        for (int64_t n = 0; n < N; ++n) row[n] = apply_act(act, row[n]);
    }
  }
  return y;
}

}  // namespace sv::cpu
