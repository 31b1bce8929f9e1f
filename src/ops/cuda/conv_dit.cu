// The DiT's Mix-FFN convolutions: channels-last depthwise 3x3 + GLU, and the temporal conv over
// frames as three GEMMs (one per frame offset) accumulated onto the residual.
#include "ops/cuda/act.cuh"
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {
constexpr int kT = 256;

__global__ void dw_glu_kernel(const float* x, const float* w, const float* bias, float* y, int64_t H, int64_t W,
                              int64_t C, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // over B*H*W*C
  if (i >= total) return;
  const int64_t c = i % C, p = i / C, xx = p % W, yy = (p / W) % H, bi = p / (W * H);
  const int64_t C2 = 2 * C;
  float u = bias[c], g = bias[C + c];
  for (int64_t ky = 0; ky < 3; ++ky) {
    const int64_t sy = yy + ky - 1;
    if (sy < 0 || sy >= H) continue;
    for (int64_t kx = 0; kx < 3; ++kx) {
      const int64_t sx = xx + kx - 1;
      if (sx < 0 || sx >= W) continue;
      const float* src = x + ((bi * H + sy) * W + sx) * C2;
      const int64_t t = ky * 3 + kx;
      u += w[c * 9 + t] * src[c];
      g += w[(C + c) * 9 + t] * src[C + c];
    }
  }
  y[i] = u * silu(g);
}

// wk[t][o][i] = w[o][i][t][0]
template <typename T>
__global__ void split_taps(const T* w, T* wk, int64_t D) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= 3 * D * D) return;
  const int64_t t = j / (D * D), o = (j / D) % D, i = j % D;
  wk[j] = w[(o * D + i) * 3 + t];
}

}  // namespace

Tensor depthwise_conv3x3_glu(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3) / 2, total = B * H * W * C;
  Tensor y = ctx.empty({B, H, W, C});
  if (total)
    dw_glu_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), w.data<float>(), b.data<float>(),
                                                                 y.data<float>(), H, W, C, total);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor temporal_conv3_residual(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& left,
                               const std::vector<int64_t>& cut) {
  const int64_t B = x.size(0), F = x.size(1), P = x.size(2), D = x.size(3);
  // GEMM operands in the weight's dtype (bf16 weights: bf16 activations, fp32 accumulation).
  const DType wt = w.dtype() == DType::F32 ? DType::F32 : w.dtype();
  Tensor wk = ctx.empty({3, D, D}, wt);
  const int64_t nw = 3 * D * D;
  if (nw) {
    if (wt == DType::F32)
      split_taps<<<blocks_for(nw, kT), kT, 0, stream(ctx)>>>(w.data<float>(), wk.data<float>(), D);
    else
      split_taps<<<blocks_for(nw, kT), kT, 0, stream(ctx)>>>(w.data<uint16_t>(), wk.data<uint16_t>(), D);
    SV_CUDA_LAUNCHED();
  }
  const Tensor xs = wt == DType::F32 ? x : convert(ctx, x, wt);
  Tensor y = ctx.empty(x.shape());
  copy_into(ctx, x, y);
  const size_t es = dtype_size(wt);
  const char* xb = static_cast<const char*>(xs.raw());
  const char* wb = static_cast<const char*>(wk.raw());
  std::vector<int64_t> ends(cut.begin(), cut.end());
  ends.push_back(F);
  for (int64_t b = 0; b < B; ++b) {
    auto tap = [&](int64_t t, int64_t f0, int64_t f1) {  // output frames [f0, f1) read frame f + t - 1
      if (f1 <= f0) return;
      gemm(ctx, true, false, D, (f1 - f0) * P, D, 1.0f, wb + t * D * D * es, wt, D,
           xb + ((b * F + f0 + t - 1) * P) * D * es, wt, D, 1.0f, y.data<float>() + (b * F + f0) * P * D, D);
    };
    tap(0, 1, F);
    tap(1, 0, F);
    int64_t start = 0;
    for (int64_t e : ends) {
      tap(2, start, e - 1);
      start = e;
    }
    if (left.defined()) {
      const Tensor ls = wt == DType::F32 ? left : convert(ctx, left, wt);
      gemm(ctx, true, false, D, P, D, 1.0f, wb, wt, D, static_cast<const char*>(ls.raw()) + b * P * D * es, wt, D, 1.0f,
           y.data<float>() + b * F * P * D, D);
    }
  }
  return y;
}

}  // namespace sv::cuda
