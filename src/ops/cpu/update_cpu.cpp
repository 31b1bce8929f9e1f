// CPU sampler arithmetic; the loops (and their expression order) the schedulers and pipelines had.
#include <cstring>

#include "ops/kernels.h"

namespace sv::cpu {

void copy_(Context&, const Tensor& src_in, const Tensor& dst) {
  const Tensor src = src_in.dtype() == dst.dtype() ? src_in.contiguous() : src_in.to(dst.dtype());
  // One memcpy per block of the trailing dims over which dst is dense (for a narrow() of a contiguous
  // tensor, as cat writes: each outer index's whole slice).
  const size_t es = dtype_size(dst.dtype());
  int64_t k = dst.dim(), block = 1;
  while (k > 0 && (dst.size(k - 1) == 1 || dst.stride(k - 1) == block)) block *= dst.size(--k);
  const int64_t blocks = block ? src.numel() / block : 0;
  std::vector<int64_t> idx(static_cast<size_t>(k), 0);
  const char* s = static_cast<const char*>(src.raw());
  char* base = static_cast<char*>(dst.raw());
  for (int64_t b = 0; b < blocks; ++b) {
    int64_t off = 0;
    for (int64_t d = 0; d < k; ++d) off += idx[static_cast<size_t>(d)] * dst.stride(d);
    std::memcpy(base + off * static_cast<int64_t>(es), s + b * block * static_cast<int64_t>(es), static_cast<size_t>(block) * es);
    for (int64_t d = k - 1; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < dst.size(d)) break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
}

Tensor axpby(Context& ctx, float a, const Tensor& x, float b, const Tensor& y) {
  Tensor out = ctx.empty(x.shape());
  const float* xp = x.f32();
  const float* yp = y.defined() ? y.f32() : nullptr;
  float* o = out.f32();
  const int64_t n = x.numel();
  ctx.parallel_for(n, n, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t i = pf_lo; i < pf_hi; ++i) o[i] = yp ? a * xp[i] - b * yp[i] : a * xp[i];
  });
  return out;
}

Tensor dpm_2m_update(Context& ctx, const Tensor& x, const Tensor& m0_t, const Tensor& m1_t, float cx, float c0, float c1,
                     float inv_r0) {
  Tensor out = ctx.empty(x.shape());
  const float *xp = x.f32(), *m0 = m0_t.f32(), *m1 = m1_t.f32();
  float* o = out.f32();
  const int64_t N = x.numel();
  ctx.parallel_for(N, N, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t k = pf_lo; k < pf_hi; ++k) {
      const float d1 = inv_r0 * (m0[k] - m1[k]);
      o[k] = (cx * xp[k] - c0 * m0[k]) - c1 * d1;
    }
  });
  return out;
}

Tensor unipc_update(Context& ctx, const Tensor& x, const Tensor& m0_t, const Tensor& m1_t, const Tensor& mt_t, float c1,
                    float c2, float c3, float rho0, float rho1, float rk) {
  Tensor out = ctx.empty(x.shape());
  const float *xp = x.f32(), *m0 = m0_t.f32();
  const float* m1 = m1_t.defined() ? m1_t.f32() : nullptr;
  const float* mt = mt_t.defined() ? mt_t.f32() : nullptr;
  float* o = out.f32();
  const int64_t N = x.numel();
  ctx.parallel_for(N, N, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t k = pf_lo; k < pf_hi; ++k) {
      const float base = c1 * xp[k] - c2 * m0[k];
      const float corr = m1 ? rho0 * ((m1[k] - m0[k]) / rk) : 0.0f;
      o[k] = mt ? base - c3 * (corr + rho1 * (mt[k] - m0[k])) : base - c3 * corr;
    }
  });
  return out;
}

Tensor cfg_combine(Context& ctx, const Tensor& v, float gs) {
  Shape s = v.shape();
  s[0] /= 2;
  Tensor g = ctx.empty(s);
  const int64_t n = g.numel();
  const float *up = v.f32(), *cp = up + n;
  float* o = g.f32();
  for (int64_t k = 0; k < n; ++k) o[k] = up[k] + gs * (cp[k] - up[k]);
  return g;
}

void latents_affine_(Context&, Tensor& z, const std::vector<float>& mean, const std::vector<float>& inv, bool denorm) {
  const int64_t B = z.size(0), C = z.size(1), S = z.numel() / std::max<int64_t>(B * C, 1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      float* p = z.f32() + (b * C + c) * S;
      const float iv = inv[static_cast<size_t>(c)], mu = mean[static_cast<size_t>(c)];
      if (denorm)
        for (int64_t k = 0; k < S; ++k) p[k] = p[k] / iv + mu;
      else
        for (int64_t k = 0; k < S; ++k) p[k] = (p[k] - mu) * iv;
    }
}

Tensor flow_dpm_x0(Context& ctx, const Tensor& x, const Tensor& v, float t, float g) {
  Tensor x0 = ctx.empty(x.shape());
  const int64_t n = x.numel();
  const bool cfg = v.size(0) == 2 * x.size(0);
  const float *xp = x.f32(), *vu = v.f32(), *vc = cfg ? vu + n : nullptr;
  const float a = 1.0f - t;
  float* o = x0.f32();
  ctx.parallel_for(n, n, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t k = pf_lo; k < pf_hi; ++k) {
      float eps = a * vu[k] + xp[k];
      if (cfg) {
        const float ec = a * vc[k] + xp[k];
        eps = eps + g * (ec - eps);
      }
      o[k] = (xp[k] - t * eps) / a;
    }
  });
  return x0;
}

Tensor flow_x0(Context& ctx, const Tensor& x, const Tensor& v, double sg) {
  Tensor x0 = ctx.empty(x.shape());
  const float *xp = x.f32(), *vp = v.f32();
  float* o = x0.f32();
  for (int64_t k = 0; k < x.numel(); ++k)
    o[k] = static_cast<float>(static_cast<double>(xp[k]) - sg * static_cast<double>(vp[k]));
  return x0;
}

Tensor flow_renoise(Context& ctx, const Tensor& x0, const Tensor& n, double sn) {
  Tensor x = ctx.empty(x0.shape());
  const float *a = x0.f32(), *np = n.f32();
  float* o = x.f32();
  for (int64_t k = 0; k < x0.numel(); ++k) o[k] = static_cast<float>((1.0 - sn) * a[k] + sn * np[k]);
  return x;
}

}  // namespace sv::cpu
