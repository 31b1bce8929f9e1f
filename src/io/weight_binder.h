// Binds model parameters by their diffusers state-dict names with shape checks. Every tensor
// in the source must be used exactly once: missing and unused tensors are errors.
#pragma once
#include <set>
#include <string>

#include "core/context.h"
#include "core/tensor.h"
#include "io/safetensors.h"

namespace sv::io {

class WeightBinder {
 public:
  // `place`: the context whose device the weights live on (null or a CPU context: the host).
  explicit WeightBinder(const TensorSource& src, const Context* place = nullptr) : src_(src), place_(place) {}

  // The named tensor, checked against `expected`, as F32 on the placement's device. On the host F32
  // checkpoints are zero-copy views of the mapped file; BF16/F16 are converted once.
  Tensor take(const std::string& name, const Shape& expected);
  // Same checks, for large matrices. On the host F32/BF16/F16 stay in their stored dtype (zero-copy
  // views of the mapped file; CPU ops widen per call), so a bf16 checkpoint stays bf16 in memory. On a
  // device they are uploaded once in the context's compute dtype (a bf16 checkpoint in a bf16 context
  // goes up as stored; an fp32 context widens).
  Tensor take_raw(const std::string& name, const Shape& expected);
  // The named tensor as host F32 (for parameters the model rewrites at load before place()).
  Tensor take_host(const std::string& name, const Shape& expected);
  // Checks a tensor the model does not use (e.g. a tied output head) and marks it bound, never loading it.
  void skip(const std::string& name, const Shape& expected);
  // A host tensor moved to the placement's device.
  Tensor place(const Tensor& host) const;
  bool has(const std::string& name) const { return src_.has(name); }
  // Throws when tensors were left unbound (listing the first few).
  void finish() const;

 private:
  Tensor bind(const std::string& name, const Shape& expected, bool keep_half, bool host = false);
  bool on_device() const { return place_ && place_->device() != Device::CPU; }

  const TensorSource& src_;
  const Context* place_;
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
  Tensor take_host(const std::string& name, const Shape& expected) const { return b_.take_host(join(name), expected); }
  Tensor place(const Tensor& host) const { return b_.place(host); }
  bool has(const std::string& name) const { return b_.has(join(name)); }
  std::string join(const std::string& name) const { return prefix_.empty() ? name : prefix_ + "." + name; }

 private:
  WeightBinder& b_;
  std::string prefix_;
};

}  // namespace sv::io
