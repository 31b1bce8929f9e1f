// Dense projections (nn.Linear, 1x1 convs on channels-last activations).
#include "ops/check.h"

namespace sv::ops {

Tensor linear(Context& ctx, const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, Act act) {
  Tensor x = detail::f32_input(x_in, "linear", "x");
  Tensor w = detail::weight_input(w_in, "linear", "weight");
  SV_CHECK(w.dim() == 2, "linear: weight must be 2-D [out, in], got ", shape_str(w.shape()));
  SV_CHECK(x.dim() >= 1 && x.size(-1) == w.size(1), "linear: input ", shape_str(x.shape()),
           " does not match weight ", shape_str(w.shape()));
  Tensor b;
  if (b_in.defined()) {
    b = detail::f32_input(b_in, "linear", "bias");
    SV_CHECK(b.dim() == 1 && b.size(0) == w.size(0), "linear: bias ", shape_str(b.shape()), " for weight ",
             shape_str(w.shape()));
  }
  detail::same_device(x, w, "linear");
  detail::same_device(x, b, "linear");
  return SV_DISPATCH(x.device(), linear, ctx, x, w, b, act);
}

}  // namespace sv::ops
