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
