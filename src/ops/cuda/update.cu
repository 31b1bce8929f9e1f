// Sampler arithmetic on the device (same expressions as ops/cpu/update_cpu.cpp) and view copies.
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {
constexpr int kT = 256;

__global__ void axpby_kernel(float a, const float* x, float b, const float* y, float* o, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) o[i] = y ? a * x[i] - b * y[i] : a * x[i];
}

__global__ void dpm_kernel(const float* x, const float* m0, const float* m1, float* o, int64_t n, float cx, float c0,
                           float c1, float inv_r0) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k >= n) return;
  const float d1 = inv_r0 * (m0[k] - m1[k]);
  o[k] = (cx * x[k] - c0 * m0[k]) - c1 * d1;
}

__global__ void unipc_kernel(const float* x, const float* m0, const float* m1, const float* mt, float* o, int64_t n,
                             float c1, float c2, float c3, float rho0, float rho1, float rk) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k >= n) return;
  const float base = c1 * x[k] - c2 * m0[k];
  const float corr = m1 ? rho0 * ((m1[k] - m0[k]) / rk) : 0.0f;
  o[k] = mt ? base - c3 * (corr + rho1 * (mt[k] - m0[k])) : base - c3 * corr;
}

__global__ void cfg_kernel(const float* u, const float* c, float* o, int64_t n, float gs) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k < n) o[k] = u[k] + gs * (c[k] - u[k]);
}

__global__ void affine_kernel(float* z, const float* mean, const float* inv, int64_t C, int64_t S, int64_t n, bool denorm) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k >= n) return;
  const int64_t c = (k / S) % C;
  z[k] = denorm ? z[k] / inv[c] + mean[c] : (z[k] - mean[c]) * inv[c];
}

__global__ void dpm_x0_kernel(const float* x, const float* vu, const float* vc, float* o, int64_t n, float t, float g) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k >= n) return;
  const float a = 1.0f - t;
  float eps = __fadd_rn(__fmul_rn(a, vu[k]), x[k]);
  if (vc) {
    const float ec = __fadd_rn(__fmul_rn(a, vc[k]), x[k]);
    eps = __fadd_rn(eps, __fmul_rn(g, __fsub_rn(ec, eps)));
  }
  o[k] = __fdiv_rn(__fsub_rn(x[k], __fmul_rn(t, eps)), a);
}

__global__ void x0_kernel(const float* x, const float* v, float* o, int64_t n, double sg) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k < n) o[k] = static_cast<float>(static_cast<double>(x[k]) - sg * static_cast<double>(v[k]));
}

__global__ void renoise_kernel(const float* x0, const float* nz, float* o, int64_t n, double sn) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k < n) o[k] = static_cast<float>((1.0 - sn) * x0[k] + sn * nz[k]);
}

const float* opt(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }
}  // namespace

void copy_(Context& ctx, const Tensor& src, const Tensor& dst) { copy_into(ctx, src, dst); }

Tensor axpby(Context& ctx, float a, const Tensor& x, float b, const Tensor& y) {
  Tensor o = ctx.empty(x.shape());
  const int64_t n = x.numel();
  if (n) axpby_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(a, x.data<float>(), b, opt(y), o.data<float>(), n);
  SV_CUDA_LAUNCHED();
  return o;
}

Tensor dpm_2m_update(Context& ctx, const Tensor& x, const Tensor& m0, const Tensor& m1, float cx, float c0, float c1,
                     float inv_r0) {
  Tensor o = ctx.empty(x.shape());
  const int64_t n = x.numel();
  if (n)
    dpm_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(x.data<float>(), m0.data<float>(), m1.data<float>(),
                                                          o.data<float>(), n, cx, c0, c1, inv_r0);
  SV_CUDA_LAUNCHED();
  return o;
}

Tensor unipc_update(Context& ctx, const Tensor& x, const Tensor& m0, const Tensor& m1, const Tensor& mt, float c1,
                    float c2, float c3, float rho0, float rho1, float rk) {
  Tensor o = ctx.empty(x.shape());
  const int64_t n = x.numel();
  if (n)
    unipc_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(x.data<float>(), m0.data<float>(), opt(m1), opt(mt),
                                                            o.data<float>(), n, c1, c2, c3, rho0, rho1, rk);
  SV_CUDA_LAUNCHED();
  return o;
}

Tensor cfg_combine(Context& ctx, const Tensor& v, float gs) {
  Shape s = v.shape();
  s[0] /= 2;
  Tensor g = ctx.empty(s);
  const int64_t n = g.numel();
  if (n) cfg_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(v.data<float>(), v.data<float>() + n, g.data<float>(), n, gs);
  SV_CUDA_LAUNCHED();
  return g;
}

void latents_affine_(Context& ctx, Tensor& z, const std::vector<float>& mean, const std::vector<float>& inv, bool denorm) {
  const int64_t C = z.size(1), n = z.numel(), S = n / std::max<int64_t>(z.size(0) * C, 1);
  std::vector<float> host(mean);
  host.insert(host.end(), inv.begin(), inv.end());
  const Tensor p = ctx.to_device(Tensor::from_vector(host, {2, C}));
  if (n)
    affine_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(z.data<float>(), p.data<float>(), p.data<float>() + C, C, S,
                                                             n, denorm);
  SV_CUDA_LAUNCHED();
}

Tensor flow_dpm_x0(Context& ctx, const Tensor& x, const Tensor& v, float t, float g) {
  Tensor o = ctx.empty(x.shape());
  const int64_t n = x.numel();
  const bool cfg = v.size(0) == 2 * x.size(0);
  if (n)
    dpm_x0_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(x.data<float>(), v.data<float>(),
                                                             cfg ? v.data<float>() + n : nullptr, o.data<float>(), n, t, g);
  SV_CUDA_LAUNCHED();
  return o;
}

Tensor flow_x0(Context& ctx, const Tensor& x, const Tensor& v, double sigma) {
  Tensor o = ctx.empty(x.shape());
  const int64_t n = x.numel();
  if (n) x0_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(x.data<float>(), v.data<float>(), o.data<float>(), n, sigma);
  SV_CUDA_LAUNCHED();
  return o;
}

Tensor flow_renoise(Context& ctx, const Tensor& x0, const Tensor& noise, double sigma) {
  Tensor o = ctx.empty(x0.shape());
  const int64_t n = x0.numel();
  if (n)
    renoise_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(x0.data<float>(), noise.data<float>(), o.data<float>(), n,
                                                              sigma);
  SV_CUDA_LAUNCHED();
  return o;
}

}  // namespace sv::cuda
