// The VAE's pointwise video kernels (nearest 2x upsample, channel RMS norm). The dense 3-D convolution
// on the GPU is issue #14's (Wan VAE on CUDA); until then the pipeline decodes on the CPU.
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
}  // namespace

Tensor conv3d(Context&, const Tensor&, const Tensor&, const Tensor&, const std::array<int64_t, 3>&,
              const std::array<int64_t, 3>&) {
  SV_THROW("conv3d on CUDA is not implemented yet (the Wan VAE runs on the CPU; GPU VAE is issue #14)");
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

}  // namespace sv::cuda
