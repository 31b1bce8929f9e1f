// Entry points for the video VAE's ops (NCTHW layout): dense 3-D conv, spatial upsampling,
// channel RMS norm, concatenation, clamp.
#include "ops/check.h"

namespace sv::ops {

Tensor conv3d(Context& ctx, const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const std::array<int64_t, 3>& stride,
              const std::array<int64_t, 3>& pad) {
  const char* op = "conv3d";
  Tensor x = detail::f32_input(x_in, op, "x"), w = detail::weight_input(w_in, op, "weight");
  SV_CHECK(x.dim() == 5 && w.dim() == 5 && x.size(1) == w.size(1), op, ": x [B, Cin, T, H, W] and weight [Cout, Cin, kt, kh, kw] ",
           "expected, got ", shape_str(x.shape()), " and ", shape_str(w.shape()));
  Tensor b;
  if (b_in.defined()) {
    b = detail::f32_input(b_in, op, "bias");
    SV_CHECK(b.shape() == Shape({w.size(0)}), op, ": bias ", shape_str(b.shape()));
  }
  for (int i = 0; i < 3; ++i) {
    SV_CHECK(stride[i] > 0 && pad[i] >= 0, op, ": bad stride/padding");
    SV_CHECK(x.size(2 + i) + 2 * pad[i] >= w.size(2 + i), op, ": input ", shape_str(x.shape()), " is smaller than the kernel ",
             shape_str(w.shape()));
  }
  return SV_DISPATCH(x.device(), conv3d, ctx, x, w, b, stride, pad);
}

Tensor upsample_nearest2x(Context& ctx, const Tensor& x_in) {
  Tensor x = detail::f32_input(x_in, "upsample_nearest2x", "x");
  SV_CHECK(x.dim() == 5, "upsample_nearest2x: x must be [B, C, T, H, W]");
  return SV_DISPATCH(x.device(), upsample_nearest2x, ctx, x);
}

Tensor channel_rms_norm(Context& ctx, const Tensor& x_in, const Tensor& g_in) {
  Tensor x = detail::f32_input(x_in, "channel_rms_norm", "x"), g = detail::f32_input(g_in, "channel_rms_norm", "gamma");
  SV_CHECK(x.dim() >= 2 && g.numel() == x.size(1), "channel_rms_norm: gamma with ", g.numel(), " values for ", x.size(1),
           " channels");
  return SV_DISPATCH(x.device(), channel_rms_norm, ctx, x, g.reshape({g.numel()}));
}

Tensor cat(Context& ctx, const std::vector<Tensor>& xs, int64_t dim) {
  SV_CHECK(!xs.empty(), "cat: no tensors");
  const int64_t nd = xs[0].dim();
  if (dim < 0) dim += nd;
  SV_CHECK(dim >= 0 && dim < nd, "cat: bad dim");
  Shape out = xs[0].shape();
  out[dim] = 0;
  for (const Tensor& t : xs) {
    SV_CHECK(t.dtype() == DType::F32 && t.dim() == nd, "cat: F32 tensors of equal rank expected");
    for (int64_t i = 0; i < nd; ++i)
      SV_CHECK(i == dim || t.size(i) == xs[0].size(i), "cat: shapes ", shape_str(t.shape()), " and ",
               shape_str(xs[0].shape()), " differ outside dim ", dim);
    out[dim] += t.size(dim);
  }
  for (const Tensor& t : xs) detail::same_device(xs[0], t, "cat");
  SV_CHECK(xs[0].device() == ctx.device(), "cat: tensors on ", device_name(xs[0].device()), ", context on ",
           device_name(ctx.device()));
  Tensor y = ctx.empty(out);
  int64_t at = 0;
  for (const Tensor& t : xs) {
    copy_(ctx, t, y.narrow(dim, at, t.size(dim)));
    at += t.size(dim);
  }
  return y;
}

Tensor clamp(Context& ctx, const Tensor& x_in, float lo, float hi) {
  Tensor x = detail::f32_input(x_in, "clamp", "x");
  return SV_DISPATCH(x.device(), clamp, ctx, x, lo, hi);
}

}  // namespace sv::ops
