// Sinusoidal timestep features.
#include "ops/check.h"

namespace sv::ops {

Tensor timestep_embedding(Context& ctx, const Tensor& t_in, int64_t dim, bool flip_sin_to_cos,
                          float downscale_freq_shift) {
  SV_CHECK(t_in.defined() && t_in.dim() == 1, "timestep_embedding: timesteps must be 1-D, got ",
           shape_str(t_in.shape()));
  SV_CHECK(dim >= 2 && dim % 2 == 0, "timestep_embedding: dim must be even and >= 2");
  Tensor t = t_in.dtype() == DType::F32 ? t_in.contiguous() : t_in.to(DType::F32);
  return SV_DISPATCH(t.device(), timestep_embedding, ctx, t, dim, flip_sin_to_cos, downscale_freq_shift);
}

}  // namespace sv::ops
