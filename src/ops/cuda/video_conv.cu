// The VAEs' video kernels: dense 3-D convolution (tiled im2col + cuBLAS GEMM, zero or reflect spatial
// padding), nearest 2x upsample, the Wan and LTX-2 channel RMS norms.
#include "ops/cuda/act.cuh"
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {
constexpr int kT = 256;

__global__ void up2_kernel(const float* x, float* y, int64_t H, int64_t W, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // over outputs
  if (i >= total) return;
  const int64_t ox = i % (2 * W), oy = (i / (2 * W)) % (2 * H), plane = i / (4 * H * W);
  y[i] = x[(plane * H + oy / 2) * W + ox / 2];
}

// One thread per (b, position): sum of squares over channels in double, as the CPU.
__global__ void crms_kernel(const float* x, const float* g, float* y, int64_t C, int64_t S, int64_t total, float scale) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // over B*S
  if (i >= total) return;
  const int64_t b = i / S, s = i % S;
  const float* p = x + b * C * S + s;
  double ss = 0.0;
  for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(p[c * S]) * p[c * S];
  const double inv = 1.0 / fmax(sqrt(ss), 1e-12);
  float* q = y + b * C * S + s;
  for (int64_t c = 0; c < C; ++c) q[c * S] = static_cast<float>(p[c * S] * inv) * scale * g[c];
}
// LTX-2 PerChannelRMSNorm + activation: one thread per (b, position), sum of squares in double as the CPU.
__global__ void crms_act_kernel(const float* x, float* y, int64_t C, int64_t S, int64_t total, float eps, int act) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int64_t b = i / S, s = i % S;
  const float* p = x + b * C * S + s;
  double ss = 0.0;
  for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(p[c * S] * p[c * S]);
  const float rms = sqrtf(static_cast<float>(ss / static_cast<double>(C)) + eps);
  float* q = y + b * C * S + s;
  for (int64_t c = 0; c < C; ++c) q[c * S] = apply_act(act, p[c * S] / rms);
}

struct Conv3dGeom {
  int64_t Cin, T, H, W, kt, kh, kw, st, sh, sw, pt, ph, pw, To, Ho, Wo;
  bool reflect;
};

// PyTorch reflect padding (no edge repeat); the op layer guarantees pad < size.
__device__ __forceinline__ int64_t reflect_index(int64_t i, int64_t n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; }

__device__ __forceinline__ void store_col(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store_col(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16(v); }
__device__ __forceinline__ void store_col(__half* p, int64_t i, float v) { p[i] = __float2half(v); }

// cols[k, j] (row-major [K, np]) for output positions p0 + j; k over the weight's (ci, it, ih, iw).
template <typename T>
__global__ void im2col3d(const float* x, T* cols, Conv3dGeom g, int64_t p0, int64_t np, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int64_t j = i % np, k = i / np, p = p0 + j;
  const int64_t wo = p % g.Wo, ho = (p / g.Wo) % g.Ho, to = p / (g.Wo * g.Ho);
  const int64_t iw = k % g.kw, ih = (k / g.kw) % g.kh, it = (k / (g.kw * g.kh)) % g.kt, ci = k / (g.kw * g.kh * g.kt);
  const int64_t t = to * g.st - g.pt + it;
  int64_t h = ho * g.sh - g.ph + ih, w = wo * g.sw - g.pw + iw;
  if (g.reflect) h = reflect_index(h, g.H), w = reflect_index(w, g.W);
  float v = 0.0f;
  if (t >= 0 && t < g.T && h >= 0 && h < g.H && w >= 0 && w < g.W) v = x[((ci * g.T + t) * g.H + h) * g.W + w];
  store_col(cols, i, v);
}

__global__ void bias_rows_kernel(float* y, const float* b, int64_t C, int64_t P, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) y[i] += b[(i / P) % C];
}
}  // namespace

Tensor conv3d(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, const std::array<int64_t, 3>& stride,
              const std::array<int64_t, 3>& pad, ops::Padding spatial) {
  const int64_t B = x.size(0), Cin = x.size(1), T = x.size(2), H = x.size(3), W = x.size(4);
  const int64_t Cout = w.size(0), kt = w.size(2), kh = w.size(3), kw = w.size(4);
  const int64_t To = (T + 2 * pad[0] - kt) / stride[0] + 1, Ho = (H + 2 * pad[1] - kh) / stride[1] + 1,
                Wo = (W + 2 * pad[2] - kw) / stride[2] + 1;
  const int64_t P = To * Ho * Wo, K = Cin * kt * kh * kw;
  Tensor y = ctx.empty({B, Cout, To, Ho, Wo});
  if (B * Cout * P == 0) return y;
  // Columns in the weight's dtype (bf16 weights: bf16 GEMM inputs, fp32 accumulation), built for a
  // tile of output positions at a time so the buffer stays under 512 MiB at any resolution.
  const DType ct = w.dtype() == DType::F32 ? DType::F32 : w.dtype();
  const size_t es = dtype_size(ct);
  const int64_t tile = std::max<int64_t>(1, std::min<int64_t>(P, (int64_t(512) << 20) / static_cast<int64_t>(K * es)));
  Tensor cols = ctx.empty({K, tile}, ct);
  const Conv3dGeom g{Cin, T, H, W, kt, kh, kw, stride[0], stride[1], stride[2], pad[0], pad[1], pad[2], To, Ho, Wo,
                      spatial == ops::Padding::Reflect};
  for (int64_t bi = 0; bi < B; ++bi) {
    const float* xb = x.data<float>() + bi * Cin * T * H * W;
    float* yb = y.data<float>() + bi * Cout * P;
    for (int64_t p0 = 0; p0 < P; p0 += tile) {
      const int64_t np = std::min(tile, P - p0), total = K * np;
      if (ct == DType::F32)
        im2col3d<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(xb, cols.data<float>(), g, p0, np, total);
      else if (ct == DType::BF16)
        im2col3d<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(xb, cols.data<__nv_bfloat16>(), g, p0, np, total);
      else
        im2col3d<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(xb, cols.data<__half>(), g, p0, np, total);
      SV_CUDA_LAUNCHED();
      // y[co, p0 + j] = sum_k w[co, k] cols[k, j]: column-major y^T tile (np x Cout, ld P) = cols^T w^T.
      gemm(ctx, false, false, np, Cout, K, 1.0f, cols.raw(), ct, np, w.raw(), w.dtype(), K, 0.0f, yb + p0, P);
    }
  }
  if (b.defined()) {
    const int64_t n = y.numel();
    bias_rows_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(y.data<float>(), b.data<float>(), Cout, P, n);
    SV_CUDA_LAUNCHED();
  }
  return y;
}

// The GPU has bandwidth to spare: the parts are concatenated, then convolved.
Tensor conv3d_frames(Context& ctx, const std::vector<Tensor>& parts, const Tensor& w, const Tensor& b, int64_t pad_hw,
                     ops::Padding spatial) {
  return cuda::conv3d(ctx, ops::cat(ctx, parts, 2), w, b, {1, 1, 1}, {0, pad_hw, pad_hw}, spatial);
}

Tensor upsample_nearest2x(Context& ctx, const Tensor& x) {
  const int64_t H = x.size(3), W = x.size(4);
  Tensor y = ctx.empty({x.size(0), x.size(1), x.size(2), 2 * H, 2 * W});
  const int64_t total = y.numel();
  if (total) up2_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), y.data<float>(), H, W, total);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor channel_rms_norm(Context& ctx, const Tensor& x, const Tensor& gamma) {
  const int64_t B = x.size(0), C = x.size(1), S = x.numel() / std::max<int64_t>(1, B * C);
  Tensor y = ctx.empty(x.shape());
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(C)));
  const int64_t total = B * S;
  if (total)
    crms_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), gamma.data<float>(), y.data<float>(), C, S,
                                                               total, scale);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor channel_rms_norm_act(Context& ctx, const Tensor& x, float eps, ops::Act act) {
  const int64_t B = x.size(0), C = x.size(1), S = x.numel() / std::max<int64_t>(1, B * C);
  Tensor y = ctx.empty(x.shape());
  const int64_t total = B * S;
  if (total)
    crms_act_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), y.data<float>(), C, S, total, eps,
                                                                  static_cast<int>(act));
  SV_CUDA_LAUNCHED();
  return y;
}

}  // namespace sv::cuda
