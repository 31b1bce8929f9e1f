// Entry points for the video VAE's ops (NCTHW layout): dense 3-D conv, spatial upsampling,
// channel RMS norm, concatenation, clamp.
#include "ops/check.h"

namespace sv::ops {

Tensor conv3d(Context& ctx, const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const std::array<int64_t, 3>& stride,
              const std::array<int64_t, 3>& pad, Padding spatial) {
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
  if (spatial == Padding::Reflect)
    SV_CHECK(pad[1] < x.size(3) && pad[2] < x.size(4), op, ": reflect padding ", pad[1], " needs height and width above it, got ",
             x.size(3), " x ", x.size(4));
  return SV_DISPATCH(x.device(), conv3d, ctx, x, w, b, stride, pad, spatial);
}

Tensor conv3d_frames(Context& ctx, const std::vector<Tensor>& parts_in, const Tensor& w_in, const Tensor& b_in,
                     int64_t pad_hw, Padding spatial) {
  const char* op = "conv3d_frames";
  SV_CHECK(!parts_in.empty(), op, ": no frames");
  std::vector<Tensor> parts;
  int64_t T = 0;
  for (const Tensor& p : parts_in) {
    parts.push_back(detail::f32_input(p, op, "x"));
    const Tensor& q = parts.back();
    SV_CHECK(q.dim() == 5 && q.size(0) == parts[0].size(0) && q.size(1) == parts[0].size(1) && q.size(3) == parts[0].size(3) &&
                 q.size(4) == parts[0].size(4),
             op, ": parts must be [B, Cin, n, H, W] alike, got ", shape_str(q.shape()), " and ", shape_str(parts[0].shape()));
    detail::same_device(parts[0], q, op);
    T += q.size(2);
  }
  if (parts.size() == 1) return conv3d(ctx, parts[0], w_in, b_in, {1, 1, 1}, {0, pad_hw, pad_hw}, spatial);
  const Tensor w = detail::weight_input(w_in, op, "weight");
  SV_CHECK(w.dim() == 5 && w.size(1) == parts[0].size(1) && T >= w.size(2), op, ": weight ", shape_str(w.shape()),
           " for ", T, " frames of ", parts[0].size(1), " channels");
  SV_CHECK(pad_hw >= 0 && parts[0].size(3) + 2 * pad_hw >= w.size(3) && parts[0].size(4) + 2 * pad_hw >= w.size(4), op,
           ": frames ", shape_str(parts[0].shape()), " are smaller than the kernel ", shape_str(w.shape()));
  if (spatial == Padding::Reflect)
    SV_CHECK(pad_hw < parts[0].size(3) && pad_hw < parts[0].size(4), op, ": reflect padding ", pad_hw,
             " needs height and width above it");
  Tensor b;
  if (b_in.defined()) {
    b = detail::f32_input(b_in, op, "bias");
    SV_CHECK(b.shape() == Shape({w.size(0)}), op, ": bias ", shape_str(b.shape()));
  }
  return SV_DISPATCH(parts[0].device(), conv3d_frames, ctx, parts, w, b, pad_hw, spatial);
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

Tensor channel_rms_norm_act(Context& ctx, const Tensor& x_in, float eps, Act act) {
  Tensor x = detail::f32_input(x_in, "channel_rms_norm_act", "x");
  SV_CHECK(x.dim() >= 2, "channel_rms_norm_act: x must be [B, C, ...]");
  return SV_DISPATCH(x.device(), channel_rms_norm_act, ctx, x, eps, act);
}

namespace {
void check_factors(const Tensor& x, const std::array<int64_t, 3>& f, const char* op) {
  SV_CHECK(x.dim() == 5, op, ": x must be [B, C, T, H, W], got ", shape_str(x.shape()));
  SV_CHECK(f[0] > 0 && f[1] > 0 && f[2] > 0, op, ": factors must be positive");
}
}  // namespace

Tensor space_to_depth3d(Context& ctx, const Tensor& x_in, const std::array<int64_t, 3>& f, bool width_major) {
  Tensor x = detail::f32_input(x_in, "space_to_depth3d", "x");
  check_factors(x, f, "space_to_depth3d");
  SV_CHECK(x.size(2) % f[0] == 0 && x.size(3) % f[1] == 0 && x.size(4) % f[2] == 0, "space_to_depth3d: ",
           shape_str(x.shape()), " is not divisible by (", f[0], ", ", f[1], ", ", f[2], ")");
  return SV_DISPATCH(x.device(), space_to_depth3d, ctx, x, f, width_major);
}

Tensor depth_to_space3d(Context& ctx, const Tensor& x_in, const std::array<int64_t, 3>& f, bool width_major) {
  Tensor x = detail::f32_input(x_in, "depth_to_space3d", "x");
  check_factors(x, f, "depth_to_space3d");
  SV_CHECK(x.size(1) % (f[0] * f[1] * f[2]) == 0, "depth_to_space3d: ", x.size(1), " channels are not divisible by ",
           f[0] * f[1] * f[2]);
  return SV_DISPATCH(x.device(), depth_to_space3d, ctx, x, f, width_major);
}

Tensor channel_group_mean(Context& ctx, const Tensor& x_in, int64_t g) {
  Tensor x = detail::f32_input(x_in, "channel_group_mean", "x");
  SV_CHECK(x.dim() >= 2 && g > 0 && x.size(1) % g == 0, "channel_group_mean: ", x.size(1),
           " channels do not split into groups of ", g);
  if (g == 1) return x;
  return SV_DISPATCH(x.device(), channel_group_mean, ctx, x, g);
}

void blend_edge_(Context& ctx, Tensor& dst, const Tensor& src_in, int64_t e, int64_t dim) {
  const char* op = "blend_edge_";
  SV_CHECK(dst.defined() && dst.dtype() == DType::F32 && dst.is_contiguous() && dst.dim() == 5, op,
           ": dst must be a contiguous F32 [B, C, T, H, W]");
  Tensor src = detail::f32_input(src_in, op, "src");
  detail::same_device(dst, src, op);
  SV_CHECK(dim == 3 || dim == 4, op, ": dim must be 3 or 4");
  SV_CHECK(src.dim() == 5 && e >= 0 && e <= src.size(dim) && e <= dst.size(dim), op, ": blend of ", e, " over ",
           shape_str(src.shape()), " and ", shape_str(dst.shape()));
  for (int64_t i = 0; i < 5; ++i)
    SV_CHECK(i == dim || src.size(i) == dst.size(i), op, ": ", shape_str(src.shape()), " and ", shape_str(dst.shape()),
             " differ outside dim ", dim);
  if (e == 0) return;
  SV_DISPATCH(dst.device(), blend_edge_, ctx, dst, src, e, dim);
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
