// PyTorch's CPU generator, reproduced bit for bit: MT19937 seeded like torch.Generator().manual_seed(s),
// uniform floats from 24-bit draws, and torch.randn's two paths (Box-Muller over blocks of 16 for
// float tensors of >= 16 elements; per-element double Box-Muller with the cached second sample
// otherwise). A seed therefore gives diffusers' initial latents.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace sv {

class TorchGenerator {
 public:
  explicit TorchGenerator(uint64_t seed = 67280421310721ull) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint32_t random();    // one MT19937 output
  uint64_t random64();  // two outputs, first in the high word
  // Whether torch on this CPU runs its AVX2 normal kernel (else the scalar loop); we follow suit.
  static bool uses_avx2_kernel();
  // torch.randn(shape, generator=g) as float32.
  Tensor randn(const Shape& shape);

 private:
  uint32_t state_[624];
  int index_ = 624;
  bool has_next_normal_ = false;
  double next_normal_ = 0.0;
  void twist();
};

}  // namespace sv
