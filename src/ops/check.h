// Shared validation helpers for the op entry points.
#pragma once
#include "core/error.h"
#include "core/tensor.h"
#include "ops/kernels.h"

namespace sv::ops::detail {

// F32 input, made contiguous if needed (views from permute/narrow are accepted by every op).
inline Tensor f32_input(const Tensor& t, const char* op, const char* name) {
  SV_CHECK(t.defined(), op, ": input '", name, "' is undefined");
  SV_CHECK(t.dtype() == DType::F32, op, ": input '", name, "' must be F32, got ", dtype_name(t.dtype()));
  return t.contiguous();
}

inline void same_device(const Tensor& a, const Tensor& b, const char* op) {
  SV_CHECK(!b.defined() || a.device() == b.device(), op, ": inputs on different devices");
}

// A weight matrix: F32, BF16 or F16 (CPU kernels widen half types on the fly), made contiguous.
inline Tensor weight_input(const Tensor& t, const char* op, const char* name) {
  SV_CHECK(t.defined(), op, ": input '", name, "' is undefined");
  SV_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::BF16 || t.dtype() == DType::F16, op, ": weight '", name,
           "' must be F32, BF16 or F16, got ", dtype_name(t.dtype()));
  return t.contiguous();
}

// Modulation tensors [B, T, D] may be strided views of a [B, T, 6, D] table; only the last dim must be dense.
inline void check_modulation(const Tensor& x, const Tensor& m, const char* op, const char* name) {
  SV_CHECK(m.defined() && m.dtype() == DType::F32 && m.dim() == 3, op, ": '", name, "' must be F32 [B, T, D], got ",
           shape_str(m.shape()));
  SV_CHECK(x.dim() == 3 && m.size(0) == x.size(0) && m.size(2) == x.size(2) && m.size(1) > 0 && x.size(1) % m.size(1) == 0,
           op, ": '", name, "' ", shape_str(m.shape()), " does not broadcast to x ", shape_str(x.shape()));
  SV_CHECK(m.stride(2) == 1, op, ": '", name, "' must be dense in its last dim");
}

}  // namespace sv::ops::detail

#define SV_DISPATCH(dev, fn, ...) \
  ((dev) == ::sv::Device::CPU ? ::sv::cpu::fn(__VA_ARGS__) : ::sv::cuda::fn(__VA_ARGS__))
