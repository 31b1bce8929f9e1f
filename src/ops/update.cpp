// Sampler and pipeline arithmetic as ops (so the denoising loop stays on the latents' device), and
// view-to-view copies.
#include "ops/check.h"

namespace sv::ops {
namespace {
void same_shape(const Tensor& a, const Tensor& b, const char* op, const char* name) {
  if (!b.defined()) return;
  SV_CHECK(a.shape() == b.shape(), op, ": '", name, "' ", shape_str(b.shape()), " differs from x ", shape_str(a.shape()));
  detail::same_device(a, b, op);
}
}  // namespace

void copy_(Context& ctx, const Tensor& src, const Tensor& dst) {
  SV_CHECK(src.defined() && dst.defined() && src.shape() == dst.shape(), "copy_: shapes differ");
  detail::same_device(src, dst, "copy_");
  SV_DISPATCH(src.device(), copy_, ctx, src, dst);
}

Tensor axpby(Context& ctx, float a, const Tensor& x_in, float b, const Tensor& y_in) {
  Tensor x = detail::f32_input(x_in, "axpby", "x"), y;
  if (y_in.defined()) y = detail::f32_input(y_in, "axpby", "y");
  same_shape(x, y, "axpby", "y");
  return SV_DISPATCH(x.device(), axpby, ctx, a, x, b, y);
}

Tensor dpm_2m_update(Context& ctx, const Tensor& x_in, const Tensor& m0_in, const Tensor& m1_in, float cx, float c0,
                     float c1, float inv_r0) {
  const char* op = "dpm_2m_update";
  Tensor x = detail::f32_input(x_in, op, "x"), m0 = detail::f32_input(m0_in, op, "m0"), m1 = detail::f32_input(m1_in, op, "m1");
  same_shape(x, m0, op, "m0");
  same_shape(x, m1, op, "m1");
  return SV_DISPATCH(x.device(), dpm_2m_update, ctx, x, m0, m1, cx, c0, c1, inv_r0);
}

Tensor unipc_update(Context& ctx, const Tensor& x_in, const Tensor& m0_in, const Tensor& m1_in, const Tensor& mt_in,
                    float c1, float c2, float c3, float rho0, float rho1, float rk) {
  const char* op = "unipc_update";
  Tensor x = detail::f32_input(x_in, op, "x"), m0 = detail::f32_input(m0_in, op, "m0"), m1, mt;
  if (m1_in.defined()) m1 = detail::f32_input(m1_in, op, "m1");
  if (mt_in.defined()) mt = detail::f32_input(mt_in, op, "mt");
  same_shape(x, m0, op, "m0");
  same_shape(x, m1, op, "m1");
  same_shape(x, mt, op, "mt");
  return SV_DISPATCH(x.device(), unipc_update, ctx, x, m0, m1, mt, c1, c2, c3, rho0, rho1, rk);
}

Tensor cfg_combine(Context& ctx, const Tensor& v_in, float scale) {
  Tensor v = detail::f32_input(v_in, "cfg_combine", "v");
  SV_CHECK(v.dim() >= 1 && v.size(0) % 2 == 0 && v.size(0) > 0, "cfg_combine: v must stack [uncond; cond] in dim 0, got ",
           shape_str(v.shape()));
  return SV_DISPATCH(v.device(), cfg_combine, ctx, v, scale);
}

void latents_affine_(Context& ctx, Tensor& z, const std::vector<float>& mean, const std::vector<float>& inv,
                     bool denormalise) {
  SV_CHECK(z.defined() && z.dtype() == DType::F32 && z.is_contiguous() && z.dim() >= 2 &&
               z.size(1) == static_cast<int64_t>(mean.size()) && mean.size() == inv.size(),
           "latents must be contiguous F32 [B, ", mean.size(), ", ...], got ", z.defined() ? shape_str(z.shape()) : "nothing");
  if (z.device() == Device::CPU) cpu::latents_affine_(ctx, z, mean, inv, denormalise);
  else cuda::latents_affine_(ctx, z, mean, inv, denormalise);
}

Tensor flow_dpm_x0(Context& ctx, const Tensor& x_in, const Tensor& v_in, float t, float guidance) {
  Tensor x = detail::f32_input(x_in, "flow_dpm_x0", "x"), v = detail::f32_input(v_in, "flow_dpm_x0", "v");
  SV_CHECK(x.dim() >= 1 && v.dim() == x.dim() && (v.size(0) == x.size(0) || v.size(0) == 2 * x.size(0)) &&
               v.numel() / std::max<int64_t>(v.size(0), 1) == x.numel() / std::max<int64_t>(x.size(0), 1),
           "flow_dpm_x0: v must be x's shape or [uncond; cond] of it, got ", shape_str(v.shape()), " for ",
           shape_str(x.shape()));
  SV_CHECK(t < 1.0f, "flow_dpm_x0: t must be below 1, got ", t);
  detail::same_device(x, v, "flow_dpm_x0");
  return SV_DISPATCH(x.device(), flow_dpm_x0, ctx, x, v, t, guidance);
}

Tensor flow_x0(Context& ctx, const Tensor& x_in, const Tensor& v_in, double sigma) {
  Tensor x = detail::f32_input(x_in, "flow_x0", "x"), v = detail::f32_input(v_in, "flow_x0", "v");
  same_shape(x, v, "flow_x0", "v");
  return SV_DISPATCH(x.device(), flow_x0, ctx, x, v, sigma);
}

Tensor flow_renoise(Context& ctx, const Tensor& x0_in, const Tensor& n_in, double sigma) {
  Tensor x0 = detail::f32_input(x0_in, "flow_renoise", "x0"), n = detail::f32_input(n_in, "flow_renoise", "noise");
  same_shape(x0, n, "flow_renoise", "noise");
  return SV_DISPATCH(x0.device(), flow_renoise, ctx, x0, n, sigma);
}

}  // namespace sv::ops
