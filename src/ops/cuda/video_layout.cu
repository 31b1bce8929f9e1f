// The video VAEs' data movement on the GPU: (un)shuffles between space/time and channels, channel group
// means and the tiled decoder's edge blending (same index rules as ops/cpu/video_layout_cpu.cpp).
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {
constexpr int kT = 256;

struct ShuffleGeom {
  int64_t B, C, T, H, W, f0, f1, f2;
  bool width_major;
};

// One thread per element of the big tensor [B, C, T*f0, H*f1, W*f2]; `to_small` copies big -> small.
__global__ void shuffle_kernel(const float* in, float* out, ShuffleGeom g, bool to_small, int64_t total) {
  const int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (r >= total) return;
  const int64_t BW = g.W * g.f2, BH = g.H * g.f1, BT = g.T * g.f0, S = g.f0 * g.f1 * g.f2;
  const int64_t bx = r % BW, by = (r / BW) % BH, bt = (r / (BW * BH)) % BT, c = (r / (BW * BH * BT)) % g.C,
                b = r / (BW * BH * BT * g.C);
  const int64_t t = bt / g.f0, dt = bt % g.f0, h = by / g.f1, dh = by % g.f1, w = bx / g.f2, dw = bx % g.f2;
  const int64_t i = g.width_major ? (dt * g.f2 + dw) * g.f1 + dh : (dt * g.f1 + dh) * g.f2 + dw;
  const int64_t si = (((b * g.C + c) * S + i) * g.T + t) * g.H * g.W + h * g.W + w;
  if (to_small)
    out[si] = in[r];
  else
    out[r] = in[si];
}

__global__ void group_mean_kernel(const float* x, float* y, int64_t g, int64_t S, float inv, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // over outputs
  if (i >= total) return;
  const int64_t bc = i / S, s = i % S;
  const float* src = x + bc * g * S + s;
  float acc = 0.0f;
  for (int64_t q = 0; q < g; ++q) acc += src[q * S];
  y[i] = acc * inv;
}

__global__ void blend_kernel(float* d, const float* s, int64_t H, int64_t W, int64_t sH, int64_t sW, int64_t e,
                             bool rows, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // over planes x e x (W or H)
  if (i >= total) return;
  const int64_t across = rows ? W : H;
  const int64_t a = i % across, y = (i / across) % e, p = i / (across * e);
  const float wa = static_cast<float>(1.0 - static_cast<double>(y) / static_cast<double>(e));
  const float wb = static_cast<float>(static_cast<double>(y) / static_cast<double>(e));
  float* dp = d + p * H * W;
  const float* sp = s + p * sH * sW;
  if (rows)
    dp[y * W + a] = sp[(sH - e + y) * sW + a] * wa + dp[y * W + a] * wb;
  else
    dp[a * W + y] = sp[a * sW + sW - e + y] * wa + dp[a * W + y] * wb;
}
}  // namespace

Tensor space_to_depth3d(Context& ctx, const Tensor& x, const std::array<int64_t, 3>& f, bool width_major) {
  const ShuffleGeom g{x.size(0), x.size(1), x.size(2) / f[0], x.size(3) / f[1], x.size(4) / f[2], f[0], f[1], f[2],
                      width_major};
  Tensor y = ctx.empty({g.B, g.C * f[0] * f[1] * f[2], g.T, g.H, g.W});
  const int64_t total = x.numel();
  if (total) shuffle_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), y.data<float>(), g, true, total);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor depth_to_space3d(Context& ctx, const Tensor& x, const std::array<int64_t, 3>& f, bool width_major) {
  const int64_t S = f[0] * f[1] * f[2];
  const ShuffleGeom g{x.size(0), x.size(1) / S, x.size(2), x.size(3), x.size(4), f[0], f[1], f[2], width_major};
  Tensor y = ctx.empty({g.B, g.C, g.T * f[0], g.H * f[1], g.W * f[2]});
  const int64_t total = y.numel();
  if (total) shuffle_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), y.data<float>(), g, false, total);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor channel_group_mean(Context& ctx, const Tensor& x, int64_t g) {
  Shape shape = x.shape();
  const int64_t S = x.numel() / std::max<int64_t>(1, shape[0] * shape[1]);
  shape[1] /= g;
  Tensor y = ctx.empty(shape);
  const int64_t total = y.numel();
  if (total)
    group_mean_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), y.data<float>(), g, S,
                                                                     1.0f / static_cast<float>(g), total);
  SV_CUDA_LAUNCHED();
  return y;
}

void blend_edge_(Context& ctx, Tensor& dst, const Tensor& src, int64_t e, int64_t dim) {
  const int64_t planes = dst.size(0) * dst.size(1) * dst.size(2), H = dst.size(3), W = dst.size(4);
  const int64_t total = planes * e * (dim == 3 ? W : H);
  if (total)
    blend_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(dst.data<float>(), src.data<float>(), H, W, src.size(3),
                                                                src.size(4), e, dim == 3, total);
  SV_CUDA_LAUNCHED();
}

}  // namespace sv::cuda
