// Normalisations over the last dimension.
#include "ops/check.h"

namespace sv::ops {

Tensor layer_norm_modulate(Context& ctx, const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Tensor& shift,
                           const Tensor& scale, float eps) {
  Tensor x = detail::f32_input(x_in, "layer_norm_modulate", "x");
  Tensor w, b;
  if (w_in.defined()) w = detail::f32_input(w_in, "layer_norm_modulate", "weight");
  if (b_in.defined()) b = detail::f32_input(b_in, "layer_norm_modulate", "bias");
  for (const Tensor* p : {&w, &b})
    SV_CHECK(!p->defined() || (p->dim() == 1 && p->size(0) == x.size(-1)), "layer_norm_modulate: parameter ",
             shape_str(p->shape()), " for input ", shape_str(x.shape()));
  SV_CHECK(x.dim() == 3, "layer_norm_modulate: x must be [B, N, D], got ", shape_str(x.shape()));
  detail::check_modulation(x, shift, "layer_norm_modulate", "shift");
  detail::check_modulation(x, scale, "layer_norm_modulate", "scale");
  return SV_DISPATCH(x.device(), layer_norm_modulate, ctx, x, w, b, shift, scale, eps);
}

Tensor layer_norm(Context& ctx, const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, float eps) {
  Tensor x = detail::f32_input(x_in, "layer_norm", "x");
  Tensor w, b;
  if (w_in.defined()) w = detail::f32_input(w_in, "layer_norm", "weight");
  if (b_in.defined()) b = detail::f32_input(b_in, "layer_norm", "bias");
  for (const Tensor* p : {&w, &b})
    SV_CHECK(!p->defined() || (p->dim() == 1 && p->size(0) == x.size(-1)), "layer_norm: parameter ",
             shape_str(p->shape()), " for input ", shape_str(x.shape()));
  return SV_DISPATCH(x.device(), layer_norm, ctx, x, w, b, eps);
}

Tensor rms_norm(Context& ctx, const Tensor& x_in, const Tensor& w_in, float eps) {
  Tensor x = detail::f32_input(x_in, "rms_norm", "x");
  Tensor w;
  if (w_in.defined()) {
    w = detail::f32_input(w_in, "rms_norm", "weight");
    SV_CHECK(w.dim() == 1 && w.size(0) == x.size(-1), "rms_norm: weight ", shape_str(w.shape()), " for input ",
             shape_str(x.shape()));
  }
  return SV_DISPATCH(x.device(), rms_norm, ctx, x, w, eps);
}

}  // namespace sv::ops
