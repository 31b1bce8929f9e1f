// Scalar activation functions shared by CPU kernels (match torch's fp32 formulas).
#pragma once
#include <cmath>

#include "core/context.h"
#include "ops/ops.h"

namespace sv::cpu {

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
inline float gelu_tanh(float x) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}
inline float apply_act(ops::Act a, float x) {
  switch (a) {
    case ops::Act::None: return x;
    case ops::Act::SiLU: return silu(x);
    case ops::Act::GeluTanh: return gelu_tanh(x);
    case ops::Act::ReLU: return x > 0.0f ? x : 0.0f;
    case ops::Act::Sigmoid: return 1.0f / (1.0f + std::exp(-x));
  }
  return x;
}

// F32 view of a weight: itself when F32, else a widened copy from the context allocator.
Tensor widen(Context& ctx, const Tensor& w);

// Vectorised in-place activation over a dense buffer (act_vec.cpp, built so libm's SIMD exp is used).
void apply_act_inplace(Context& ctx, float* y, int64_t n, ops::Act act);
// y[i] = u[i] * SiLU(g[i]) for rows of C channels (GLU second half as gate).
void glu_silu_rows(float* y, const float* u, const float* g, int64_t n);

}  // namespace sv::cpu
