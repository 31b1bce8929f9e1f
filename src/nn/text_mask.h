// The caption mask as the additive attention bias both DiTs use (diffusers and NVIDIA alike):
// (1 - mask) * -10000 on the context's device.
#pragma once
#include "core/context.h"

namespace sv::nn {

// mask [B, L] (any numeric dtype, anywhere) -> bias [B, L] F32 on ctx's device.
inline Tensor text_mask_bias(Context& ctx, const Tensor& m, int64_t B, int64_t L) {
  SV_CHECK(m.dim() == 2 && m.size(0) == B && m.size(1) == L, "encoder_attention_mask must be [B, L] = [", B, ", ", L,
           "], got ", shape_str(m.shape()));
  const Tensor mf = m.to_host().to(DType::F32);
  Tensor bias = Tensor::empty({B, L});
  const float* mp = mf.f32();
  float* bp = bias.f32();
  for (int64_t i = 0; i < B * L; ++i) bp[i] = (1.0f - mp[i]) * -10000.0f;
  return ctx.to_device(bias);
}

}  // namespace sv::nn
