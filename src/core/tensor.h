// Tensor: shared storage + shape/strides in PyTorch dimension order (outermost first).
// Views (permute, narrow, reshape of contiguous data) share storage; element strides.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"

namespace sv {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);  // throws on negative dims or overflow

// A block of bytes. `owner` keeps foreign memory (an mmap) alive; otherwise we own `data`.
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  std::shared_ptr<void> owner;
  std::shared_ptr<Allocator> allocator;  // set for allocator-made storage: copies of a view reuse it
  std::function<void(void*)> release;  // frees `data` when we own it
  ~Storage() {
    if (release && data) release(data);
  }
};

class Tensor {
 public:
  Tensor() = default;

  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device dev = Device::CPU);
  // Storage from `alloc`, which is kept alive until the storage is released.
  static Tensor empty(const Shape& shape, DType dtype, const std::shared_ptr<Allocator>& alloc);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device dev = Device::CPU);
  // Wrap external memory (e.g. a mapped file); `owner` is kept alive by the tensor.
  static Tensor from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> owner,
                          Device dev = Device::CPU);
  static Tensor from_vector(const std::vector<float>& v, const Shape& shape);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device : Device::CPU; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t d) const;
  int64_t stride(int64_t d) const;
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;

  void* raw() const;  // pointer to element 0 of this view
  template <typename T>
  T* data() const { return static_cast<T*>(raw()); }
  float* f32() const;  // checked: F32 and CPU

  // Views.
  Tensor reshape(const Shape& shape) const;  // needs contiguous input; one dim may be -1
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;  // drops `dim`
  Tensor unsqueeze(int64_t dim) const;

  // Copies.
  Tensor contiguous() const;  // returns *this when already contiguous
  Tensor clone() const;
  // dtype conversion, always a new contiguous tensor on the same device (device tensors: F32/BF16/F16,
  // through the storage's allocator).
  Tensor to(DType dtype) const;
  Tensor to_f32() const { return dtype_ == DType::F32 && is_contiguous() ? *this : to(DType::F32); }

  std::vector<float> to_vector() const;  // any float/int dtype, row-major order (device tensors are copied back)
  // A contiguous host copy (the tensor itself when it already is one). Uploads go through
  // Context::to_device, on the context's stream.
  Tensor to_host() const;

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_, strides_;
  int64_t offset_ = 0;  // in elements
  DType dtype_ = DType::F32;
  int64_t wrap_dim(int64_t d, int64_t n) const;
  static Tensor wrap(std::shared_ptr<Storage> st, const Shape& shape, DType dtype);
};

Shape contiguous_strides(const Shape& shape);

}  // namespace sv
