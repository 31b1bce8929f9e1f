// Sinusoidal timestep features, float32 step for step like diffusers' get_timestep_embedding.
#include <cmath>

#include "ops/kernels.h"

namespace sv::cpu {

Tensor timestep_embedding(Context& ctx, const Tensor& t, int64_t dim, bool flip, float shift) {
  const int64_t M = t.size(0), half = dim / 2;
  std::vector<float> freq(half);
  const float neg_log = static_cast<float>(-std::log(10000.0));
  const float denom = static_cast<float>(half) - shift;
  for (int64_t i = 0; i < half; ++i) freq[i] = std::exp((neg_log * static_cast<float>(i)) / denom);
  Tensor y = ctx.empty({M, dim});
  const float* tp = t.f32();
  float* yp = y.f32();
  for (int64_t m = 0; m < M; ++m) {
    float* row = yp + m * dim;
    for (int64_t i = 0; i < half; ++i) {
      const float a = tp[m] * freq[i];
      row[flip ? half + i : i] = std::sin(a);
      row[flip ? i : half + i] = std::cos(a);
    }
  }
  return y;
}

}  // namespace sv::cpu

namespace sv::cpu {

Tensor embedding(Context& ctx, const Tensor& ids, const Tensor& table, float scale) {
  const int64_t B = ids.size(0), L = ids.size(1), D = table.size(1);
  Tensor y = ctx.empty({B, L, D});
  const int64_t* ip = ids.data<int64_t>();
  float* yp = y.f32();
  const DType dt = table.dtype();
  const char* tp = static_cast<const char*>(table.raw());
  const size_t es = dtype_size(dt);
  ctx.parallel_for(B * L, B * L * D, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const char* row = tp + static_cast<size_t>(ip[r] * D) * es;
      for (int64_t d = 0; d < D; ++d) {
        float v;
        if (dt == DType::F32) v = reinterpret_cast<const float*>(row)[d];
        else if (dt == DType::BF16) v = bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[d]);
        else v = f16_to_f32(reinterpret_cast<const uint16_t*>(row)[d]);
        yp[r * D + d] = v * scale;
      }
    }
  });
  return y;
}

}  // namespace sv::cpu
