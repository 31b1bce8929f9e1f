// Convolutions the DiT needs: patch embedding (kernel == stride), depthwise 3x3 + GLU, temporal conv.
#include "ops/check.h"

namespace sv::ops {

Tensor patch_embed(Context& ctx, const Tensor& x_in, const Tensor& w_in, const Tensor& b_in) {
  const char* op = "patch_embed";
  Tensor x = detail::f32_input(x_in, op, "x"), w = detail::f32_input(w_in, op, "weight");
  Tensor b = detail::f32_input(b_in, op, "bias");
  SV_CHECK(x.dim() == 5 && w.dim() == 5 && x.size(1) == w.size(1), op, ": x [B, C, F, H, W] and weight [D, C, pt, ph, pw] ",
           "expected, got ", shape_str(x.shape()), " and ", shape_str(w.shape()));
  SV_CHECK(b.shape() == Shape({w.size(0)}), op, ": bias ", shape_str(b.shape()));
  for (int i = 0; i < 3; ++i)
    SV_CHECK(w.size(2 + i) > 0 && x.size(2 + i) >= w.size(2 + i), op, ": input ", shape_str(x.shape()),
             " is smaller than the patch ", shape_str(w.shape()));
  return SV_DISPATCH(x.device(), patch_embed, ctx, x, w, b);
}

Tensor unpatchify(Context& ctx, const Tensor& x_in, int64_t f, int64_t h, int64_t w, int64_t pt, int64_t ph, int64_t pw) {
  Tensor x = detail::f32_input(x_in, "unpatchify", "x");
  SV_CHECK(x.dim() == 3 && x.size(1) == f * h * w && pt > 0 && ph > 0 && pw > 0 && x.size(2) % (pt * ph * pw) == 0,
           "unpatchify: ", shape_str(x.shape()), " does not hold ", f, "x", h, "x", w, " patches of ", pt, "x", ph, "x", pw);
  return SV_DISPATCH(x.device(), unpatchify, ctx, x, f, h, w, pt, ph, pw);
}

Tensor depthwise_conv3x3_glu(Context& ctx, const Tensor& x_in, const Tensor& w_in, const Tensor& b_in) {
  const char* op = "depthwise_conv3x3_glu";
  Tensor x = detail::f32_input(x_in, op, "x"), w = detail::f32_input(w_in, op, "weight");
  Tensor b = detail::f32_input(b_in, op, "bias");
  SV_CHECK(x.dim() == 4 && x.size(3) % 2 == 0, op, ": x must be channels-last [B, H, W, 2C], got ", shape_str(x.shape()));
  SV_CHECK(w.shape() == Shape({x.size(3), 1, 3, 3}) && b.shape() == Shape({x.size(3)}), op, ": weight ",
           shape_str(w.shape()), " / bias ", shape_str(b.shape()), " do not match ", x.size(3), " channels");
  return SV_DISPATCH(x.device(), depthwise_conv3x3_glu, ctx, x, w, b);
}

Tensor temporal_conv3_residual(Context& ctx, const Tensor& x_in, const Tensor& w_in, const Tensor& left_in,
                               const std::vector<int64_t>& cut) {
  const char* op = "temporal_conv3_residual";
  Tensor x = detail::f32_input(x_in, op, "x"), w = detail::weight_input(w_in, op, "weight");
  SV_CHECK(x.dim() == 4, op, ": x must be [B, F, P, D], got ", shape_str(x.shape()));
  SV_CHECK(w.shape() == Shape({x.size(3), x.size(3), 3, 1}), op, ": weight ", shape_str(w.shape()), " for ", x.size(3),
           " channels");
  Tensor left;
  if (left_in.defined()) {
    left = detail::f32_input(left_in, op, "left");
    SV_CHECK(left.shape() == Shape({x.size(0), 1, x.size(2), x.size(3)}), op, ": left context must be [",
             x.size(0), ", 1, ", x.size(2), ", ", x.size(3), "], got ", shape_str(left.shape()));
    detail::same_device(x, left, op);
  }
  for (size_t i = 0; i < cut.size(); ++i)
    SV_CHECK(cut[i] > 0 && cut[i] < x.size(1) && (i == 0 || cut[i] > cut[i - 1]), op, ": chunk cut ", cut[i],
             " must be ascending inside (0, ", x.size(1), ")");
  return SV_DISPATCH(x.device(), temporal_conv3_residual, ctx, x, w, left, cut);
}

}  // namespace sv::ops
