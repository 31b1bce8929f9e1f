// nn.Linear and 1x1 convolutions (applied to channels-last activations) bound by diffusers name.
#pragma once
#include "core/context.h"
#include "io/weight_binder.h"
#include "ops/ops.h"

namespace sv::nn {

struct Linear {
  Tensor weight;  // [out, in]
  Tensor bias;    // [out] or undefined

  void bind(const io::Scope& s, int64_t in, int64_t out, bool has_bias) {
    weight = s.take_raw("weight", {out, in});
    if (has_bias) bias = s.take("bias", {out});
  }
  // Conv2d(in, out, kernel 1): weight stored as [out, in, 1, 1].
  void bind_conv1x1(const io::Scope& s, int64_t in, int64_t out, bool has_bias) {
    weight = s.take_raw("weight", {out, in, 1, 1}).reshape({out, in});
    if (has_bias) bias = s.take("bias", {out});
  }
  Tensor operator()(Context& ctx, const Tensor& x, ops::Act act = ops::Act::None) const {
    return ops::linear(ctx, x, weight, bias, act);
  }
};

// diffusers RMSNorm with an affine weight (or none).
struct RMSNorm {
  Tensor weight;
  float eps = 1e-5f;
  void bind(const io::Scope& s, int64_t dim, float eps_, bool affine = true) {
    eps = eps_;
    if (affine) weight = s.take("weight", {dim});
  }
  Tensor operator()(Context& ctx, const Tensor& x) const { return ops::rms_norm(ctx, x, weight, eps); }
};

}  // namespace sv::nn
