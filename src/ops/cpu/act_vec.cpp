// Activation loops compiled with -ffast-math (see CMakeLists.txt) so GCC calls glibc's vector
// expf/tanhf (libmvec): SiLU/GELU epilogues were ~10% of a DiT forward as scalar libm calls.
// Only these loops get the flag (glibc declares the SIMD variants only under finite-math); accuracy
// stays within a few ulp, far inside the 1e-4 budget. Inputs here are finite activations.
#include <cmath>

#include "ops/cpu/act.h"

namespace sv::cpu {

void apply_act_inplace(Context& ctx, float* y, int64_t n, ops::Act act) {
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  ctx.parallel_for(chunks, n, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t c = pf_lo; c < pf_hi; ++c) {
      float* p = y + c * kChunk;
      const int64_t len = std::min(kChunk, n - c * kChunk);
      switch (act) {
        case ops::Act::None: break;
        case ops::Act::SiLU:
          for (int64_t i = 0; i < len; ++i) p[i] = p[i] / (1.0f + expf(-p[i]));
          break;
        case ops::Act::GeluTanh:
          for (int64_t i = 0; i < len; ++i) {
            const float x = p[i];
            p[i] = 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
          }
          break;
        case ops::Act::ReLU:
          for (int64_t i = 0; i < len; ++i) p[i] = p[i] > 0.0f ? p[i] : 0.0f;
          break;
        case ops::Act::Sigmoid:
          for (int64_t i = 0; i < len; ++i) p[i] = 1.0f / (1.0f + expf(-p[i]));
          break;
      }
    }
  });
}

void glu_silu_rows(float* y, const float* u, const float* g, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = u[i] * (g[i] / (1.0f + expf(-g[i])));
}

}  // namespace sv::cpu
