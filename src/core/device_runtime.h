// The device side of a Context: memory, stream and library handles of one GPU. The CUDA backend
// implements it (ops/cuda/cuda_runtime.cu); a build without CUDA links a stub whose constructor
// reports that. Core and model code see only this interface.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "core/allocator.h"
#include "core/dtype.h"
#include "core/device.h"

namespace sv {

class Tensor;

class DeviceRuntime {
 public:
  virtual ~DeviceRuntime() = default;
  virtual int index() const = 0;
  virtual std::string name() const = 0;  // e.g. "NVIDIA H200 (cuda:0)"
  virtual const std::shared_ptr<Allocator>& allocator() const = 0;
  virtual void synchronize() = 0;         // waits for the context's stream
  virtual size_t peak_bytes() const = 0;  // high-water mark of live device allocations
  virtual void reset_peak() = 0;
  // Host -> device bytes on the context's stream, ordered with its kernels; the host buffer may be
  // freed on return.
  virtual void upload(void* dst, const void* src, size_t bytes) = 0;
  // Bytes a new allocation can still get: the device's free memory plus the allocator's cached blocks.
  virtual size_t available_bytes() const = 0;
  // Zeroes device bytes on the context's stream.
  virtual void fill_zero(void* dst, size_t bytes) = 0;
};

// cuda:N as a runtime. Throws one clear line when the build has no CUDA, there is no driver or GPU,
// or N is out of range.
std::shared_ptr<DeviceRuntime> make_cuda_runtime(int index);
// GPUs usable by this process: 0 without a driver, without a GPU, or in a build without CUDA.
int cuda_device_count();
// Whether this binary was built with the CUDA backend.
bool built_with_cuda();

// Copies a strided view on the device into a contiguous device tensor of the same shape, converting
// between F32, BF16 and F16 as needed (Tensor::to / contiguous / clone on device tensors).
void device_copy_strided(const Tensor& src, const Tensor& dst);
// Device -> host bytes, synchronous (Tensor::to_host).
void device_to_host(void* dst, const void* src, size_t bytes);

}  // namespace sv
