// Pointwise CUDA kernels: activations, broadcasting add, gated residual, act * mul, clamp.
#include "ops/cuda/act.cuh"
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {

constexpr int kT = 256;

__global__ void act_kernel(const float* x, float* y, int64_t n, int act) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = apply_act(act, x[i]);
}

__global__ void mul_act_kernel(const float* a, const float* b, float* y, int64_t n, int act) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = apply_act(act, a[i]) * b[i];
}

__global__ void add_same(const float* a, const float* b, float* y, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = a[i] + b[i];
}

constexpr int kMaxDims = 8;
struct Bcast {
  int nd;
  int64_t out[kMaxDims], sa[kMaxDims], sb[kMaxDims];
};

__global__ void add_bcast(Bcast d, const float* a, const float* b, float* y, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int64_t r = i, oa = 0, ob = 0;
  for (int k = d.nd - 1; k >= 0; --k) {
    const int64_t idx = r % d.out[k];
    r /= d.out[k];
    oa += idx * d.sa[k];
    ob += idx * d.sb[k];
  }
  y[i] = a[oa] + b[ob];
}

// x[b, n, :] += gate[b, t(n), :] * y[b, n, :]
__global__ void add_gated_kernel(float* x, const float* g, const float* y, int64_t N, int64_t D, int64_t gs0,
                                 int64_t gs1, int64_t grp, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int64_t d = i % D, r = i / D, n = r % N, b = r / N;
  x[i] += g[b * gs0 + (n / grp) * gs1 + d] * y[i];
}

__global__ void clamp_kernel(const float* x, float* y, int64_t n, float lo, float hi) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = fminf(fmaxf(x[i], lo), hi);
}

}  // namespace

Tensor activation(Context& ctx, const Tensor& x, ops::Act act) {
  Tensor y = ctx.empty(x.shape());
  const int64_t n = x.numel();
  if (n) act_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(x.data<float>(), y.data<float>(), n, static_cast<int>(act));
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor mul_act(Context& ctx, const Tensor& a, const Tensor& b, ops::Act act) {
  Tensor y = ctx.empty(a.shape());
  const int64_t n = a.numel();
  if (n)
    mul_act_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(a.data<float>(), b.data<float>(), y.data<float>(), n,
                                                              static_cast<int>(act));
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor add(Context& ctx, const Tensor& a, const Tensor& b) {
  if (a.shape() == b.shape()) {
    Tensor y = ctx.empty(a.shape());
    const int64_t n = a.numel();
    if (n) add_same<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(a.data<float>(), b.data<float>(), y.data<float>(), n);
    SV_CUDA_LAUNCHED();
    return y;
  }
  const int64_t nd = std::max(a.dim(), b.dim());
  SV_CHECK(nd <= kMaxDims, "add: more than ", kMaxDims, " dimensions");
  Bcast d{};
  d.nd = static_cast<int>(nd);
  Shape out(nd);
  const Shape ca = contiguous_strides(a.shape()), cb = contiguous_strides(b.shape());
  for (int64_t i = 0; i < nd; ++i) {
    const int64_t ia = i - (nd - a.dim()), ib = i - (nd - b.dim());
    const int64_t da = ia < 0 ? 1 : a.size(ia), db = ib < 0 ? 1 : b.size(ib);
    out[i] = d.out[i] = std::max(da, db);
    d.sa[i] = ia >= 0 && da != 1 ? ca[ia] : 0;
    d.sb[i] = ib >= 0 && db != 1 ? cb[ib] : 0;
  }
  Tensor y = ctx.empty(out);
  const int64_t n = y.numel();
  if (n) add_bcast<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(d, a.data<float>(), b.data<float>(), y.data<float>(), n);
  SV_CUDA_LAUNCHED();
  return y;
}

void add_gated_(Context& ctx, Tensor& x, const Tensor& gate, const Tensor& y) {
  const int64_t N = x.size(1), D = x.size(2), T = gate.size(1), n = x.numel();
  if (n)
    add_gated_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(x.data<float>(), gate.data<float>(), y.data<float>(), N,
                                                                D, gate.stride(0), gate.stride(1), N / T, n);
  SV_CUDA_LAUNCHED();
}

Tensor clamp(Context& ctx, const Tensor& x, float lo, float hi) {
  Tensor y = ctx.empty(x.shape());
  const int64_t n = x.numel();
  if (n) clamp_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(x.data<float>(), y.data<float>(), n, lo, hi);
  SV_CUDA_LAUNCHED();
  return y;
}

}  // namespace sv::cuda
