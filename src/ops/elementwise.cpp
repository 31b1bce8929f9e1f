// Pointwise ops: activations, broadcasting add, gated residual.
#include "ops/check.h"

namespace sv::ops {

Tensor activation(Context& ctx, const Tensor& x_in, Act act) {
  Tensor x = detail::f32_input(x_in, "activation", "x");
  return SV_DISPATCH(x.device(), activation, ctx, x, act);
}

Tensor mul_act(Context& ctx, const Tensor& a_in, const Tensor& b_in, Act act) {
  Tensor a = detail::f32_input(a_in, "mul_act", "a"), b = detail::f32_input(b_in, "mul_act", "b");
  SV_CHECK(a.shape() == b.shape(), "mul_act: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()), " differ");
  detail::same_device(a, b, "mul_act");
  return SV_DISPATCH(a.device(), mul_act, ctx, a, b, act);
}

Tensor add(Context& ctx, const Tensor& a_in, const Tensor& b_in) {
  Tensor a = detail::f32_input(a_in, "add", "a"), b = detail::f32_input(b_in, "add", "b");
  detail::same_device(a, b, "add");
  const int64_t nd = std::max(a.dim(), b.dim());
  for (int64_t i = 0; i < nd; ++i) {
    const int64_t da = i < nd - a.dim() ? 1 : a.size(i - (nd - a.dim()));
    const int64_t db = i < nd - b.dim() ? 1 : b.size(i - (nd - b.dim()));
    SV_CHECK(da == db || da == 1 || db == 1, "add: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
             " do not broadcast");
  }
  return SV_DISPATCH(a.device(), add, ctx, a, b);
}

void add_gated_(Context& ctx, Tensor& x, const Tensor& gate, const Tensor& y_in) {
  SV_CHECK(x.dtype() == DType::F32 && x.is_contiguous(), "add_gated_: x must be a contiguous F32 tensor");
  Tensor y = detail::f32_input(y_in, "add_gated_", "y");
  SV_CHECK(y.shape() == x.shape(), "add_gated_: y ", shape_str(y.shape()), " vs x ", shape_str(x.shape()));
  detail::check_modulation(x, gate, "add_gated_", "gate");
  detail::same_device(x, y, "add_gated_");
  detail::same_device(x, gate, "add_gated_");
  if (x.device() == Device::CPU) cpu::add_gated_(ctx, x, gate, y);
  else cuda::add_gated_(ctx, x, gate, y);
}

}  // namespace sv::ops
