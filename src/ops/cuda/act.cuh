// Device activations with torch's fp32 formulas (as ops/cpu/act.h).
#pragma once
#include "ops/ops.h"

namespace sv::cuda {

__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }
__device__ __forceinline__ float gelu_tanh(float x) {
  const float k = 0.7978845608028654f;
  return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float apply_act(int a, float x) {
  switch (a) {
    case static_cast<int>(ops::Act::SiLU): return silu(x);
    case static_cast<int>(ops::Act::GeluTanh): return gelu_tanh(x);
    case static_cast<int>(ops::Act::ReLU): return x > 0.0f ? x : 0.0f;
    case static_cast<int>(ops::Act::Sigmoid): return 1.0f / (1.0f + expf(-x));
    default: return x;
  }
}

}  // namespace sv::cuda
