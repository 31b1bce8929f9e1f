// Binds model parameters by their diffusers state-dict names with shape checks. Every tensor
// in the source must be used exactly once: missing and unused tensors are errors.
#pragma once
#include <set>
#include <string>

#include "core/tensor.h"
#include "io/safetensors.h"

namespace sv::io {

class WeightBinder {
 public:
  explicit WeightBinder(const TensorSource& src, DType compute = DType::F32) : src_(src), compute_(compute) {}

  // The named tensor, checked against `expected`, in the compute dtype. F32 checkpoints are
  // zero-copy views of the mapped file; BF16/F16 are converted once.
  Tensor take(const std::string& name, const Shape& expected);
  // Same checks, but F32/BF16/F16 stay in their stored dtype (zero-copy views of the mapped file):
  // for large matrices that ops convert on the fly, so a bf16 checkpoint stays bf16 in memory.
  Tensor take_raw(const std::string& name, const Shape& expected);
  bool has(const std::string& name) const { return src_.has(name); }
  // Throws when tensors were left unbound (listing the first few).
  void finish() const;

 private:
  Tensor bind(const std::string& name, const Shape& expected, bool keep_half);

  const TensorSource& src_;
  DType compute_;
  std::set<std::string> used_;
};

// Name prefix helper, like candle's vb.pp(): Scope(b, "transformer_blocks").sub(3).take("attn1.to_q.weight", ...).
class Scope {
 public:
  Scope(WeightBinder& b, std::string prefix = "") : b_(b), prefix_(std::move(prefix)) {}
  Scope sub(const std::string& name) const { return Scope(b_, join(name)); }
  Scope sub(int64_t i) const { return sub(std::to_string(i)); }
  Tensor take(const std::string& name, const Shape& expected) const { return b_.take(join(name), expected); }
  Tensor take_raw(const std::string& name, const Shape& expected) const { return b_.take_raw(join(name), expected); }
  bool has(const std::string& name) const { return b_.has(join(name)); }
  std::string join(const std::string& name) const { return prefix_.empty() ? name : prefix_ + "." + name; }

 private:
  WeightBinder& b_;
  std::string prefix_;
};

}  // namespace sv::io
