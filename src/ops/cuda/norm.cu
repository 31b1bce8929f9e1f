// Row normalisations: one block per row, statistics in double as the CPU kernels (rows are at most a
// few thousand wide, so the extra precision costs nothing next to the memory traffic).
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {
constexpr int kT = 256;

__device__ double block_sum(double v, double* sh) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // sh may still be read from a previous call
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  double t = 0.0;
  if (threadIdx.x < 32) {
    t = threadIdx.x < (blockDim.x >> 5) ? sh[threadIdx.x] : 0.0;
    for (int o = 16; o > 0; o >>= 1) t += __shfl_down_sync(0xffffffffu, t, o);
    if (threadIdx.x == 0) sh[0] = t;
  }
  __syncthreads();
  return sh[0];
}

__device__ void row_stats(const float* x, int64_t D, float eps, double* sh, float* mean_out, float* rstd_out) {
  double s = 0.0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) s += x[d];
  const double mean = block_sum(s, sh) / static_cast<double>(D);
  double v = 0.0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    const double c = x[d] - mean;
    v += c * c;
  }
  const double var = block_sum(v, sh) / static_cast<double>(D);
  *mean_out = static_cast<float>(mean);
  *rstd_out = static_cast<float>(1.0 / sqrt(var + eps));
}

// LayerNorm of row r with optional affine w/b, then (when sh/sc are given, rows of N tokens per batch
// entry) x * (1 + scale) + shift.
__global__ void ln_kernel(const float* x, const float* w, const float* b, const float* sh, const float* sc, float* y,
                          int64_t N, int64_t D, int64_t sh0, int64_t sh1, int64_t shg, int64_t sc0, int64_t sc1,
                          int64_t scg, float eps) {
  __shared__ double red[32];
  const int64_t r = blockIdx.x, bi = r / N, n = r % N;
  const float* xr = x + r * D;
  float* yr = y + r * D;
  float mean, rstd;
  row_stats(xr, D, eps, red, &mean, &rstd);
  const float* shr = sh ? sh + bi * sh0 + (n / shg) * sh1 : nullptr;
  const float* scr = sc ? sc + bi * sc0 + (n / scg) * sc1 : nullptr;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    float v = (xr[d] - mean) * rstd;
    if (w) v *= w[d];
    if (b) v += b[d];
    yr[d] = shr ? v * (1.0f + scr[d]) + shr[d] : v;
  }
}

__global__ void rms_kernel(const float* x, const float* w, float* y, int64_t D, float eps) {
  __shared__ double red[32];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * D;
  float* yr = y + r * D;
  double s = 0.0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) s += static_cast<double>(xr[d]) * xr[d];
  const float inv = static_cast<float>(1.0 / sqrt(block_sum(s, red) / static_cast<double>(D) + eps));
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) yr[d] = w ? (xr[d] * inv) * w[d] : xr[d] * inv;
}

const float* opt(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }
unsigned rows_grid(int64_t rows) {
  SV_CHECK(rows < 2147483647, "too many rows for one launch: ", rows);
  return static_cast<unsigned>(rows);
}
}  // namespace

Tensor layer_norm_modulate(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& shift,
                           const Tensor& scale, float eps) {
  const int64_t B = x.size(0), N = x.size(1), D = x.size(2);
  Tensor y = ctx.empty(x.shape());
  if (B * N == 0 || D == 0) return y;
  ln_kernel<<<rows_grid(B * N), kT, 0, stream(ctx)>>>(
      x.data<float>(), opt(w), opt(b), shift.data<float>(), scale.data<float>(), y.data<float>(), N, D, shift.stride(0),
      shift.stride(1), N / shift.size(1), scale.stride(0), scale.stride(1), N / scale.size(1), eps);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor layer_norm(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps) {
  const int64_t D = x.size(-1), R = D ? x.numel() / D : 0;
  Tensor y = ctx.empty(x.shape());
  if (R == 0) return y;
  ln_kernel<<<rows_grid(R), kT, 0, stream(ctx)>>>(x.data<float>(), opt(w), opt(b), nullptr, nullptr, y.data<float>(), 1, D,
                                                  0, 0, 1, 0, 0, 1, eps);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor rms_norm(Context& ctx, const Tensor& x, const Tensor& w, float eps) {
  const int64_t D = x.size(-1), R = D ? x.numel() / D : 0;
  Tensor y = ctx.empty(x.shape());
  if (R == 0) return y;
  rms_kernel<<<rows_grid(R), kT, 0, stream(ctx)>>>(x.data<float>(), opt(w), y.data<float>(), D, eps);
  SV_CUDA_LAUNCHED();
  return y;
}

}  // namespace sv::cuda
