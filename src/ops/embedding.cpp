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

Tensor embedding(Context& ctx, const Tensor& ids_in, const Tensor& table_in, float scale) {
  SV_CHECK(ids_in.defined() && ids_in.dim() == 2 && !dtype_is_float(ids_in.dtype()),
           "embedding: ids must be an integer [B, L] tensor");
  Tensor table = detail::weight_input(table_in, "embedding", "table");
  SV_CHECK(table.dim() == 2, "embedding: table must be [V, D]");
  // Ids are checked on the host (a few hundred values); device kernels upload them.
  Tensor ids = ids_in.to_host();
  if (ids.dtype() != DType::I64) ids = ids.to(DType::I64);
  const int64_t* p = ids.data<int64_t>();
  for (int64_t i = 0; i < ids.numel(); ++i)
    SV_CHECK(p[i] >= 0 && p[i] < table.size(0), "embedding: token id ", p[i], " is outside the vocabulary of ",
             table.size(0), " embeddings");
  return SV_DISPATCH(table.device(), embedding, ctx, ids, table, scale);
}

}  // namespace sv::ops
