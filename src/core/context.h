// Execution context passed explicitly to every op and forward: device, threads, and the
// intermediate-dump hook used by parity tests and `--dump`. No global state lives elsewhere.
#pragma once
#include <functional>
#include <string>

#include "core/allocator.h"
#include "core/device.h"
#include "core/tensor.h"

namespace sv {

class Context {
 public:
  explicit Context(Device device = Device::CPU, int threads = 0);

  Device device() const { return device_; }
  // Activations come from the context's caching allocator.
  Tensor empty(const Shape& shape, DType dtype = DType::F32) const { return Tensor::empty(shape, dtype, allocator_); }
  const std::shared_ptr<CpuCachingAllocator>& allocator() const { return allocator_; }
  int threads() const { return threads_; }
  // Threads worth waking for a loop of `work` element operations: small loops stay on one thread,
  // since a parallel region's wake-up and barrier cost more than the loop on a busy 2-core host.
  int threads_for(int64_t work) const { return work < (int64_t(1) << 15) ? 1 : threads_; }

  // Named intermediates ("transformer_blocks.3.attn1", ...). Costs one branch when unset.
  using DumpFn = std::function<void(const std::string& name, const Tensor& t)>;
  void set_dump(DumpFn fn) { dump_ = std::move(fn); }
  bool dumping() const { return static_cast<bool>(dump_); }
  void dump(const std::string& name, const Tensor& t) const {
    if (dump_) dump_(name, t);
  }

 private:
  Device device_;
  int threads_;
  DumpFn dump_;
  std::shared_ptr<CpuCachingAllocator> allocator_;
};

}  // namespace sv
