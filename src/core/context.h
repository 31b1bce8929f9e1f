// Execution context passed explicitly to every op and forward: device (with its stream, library
// handles and caching allocator), compute precision, threads, and the intermediate-dump hook used by
// parity tests and `--dump`. No global state lives elsewhere.
#pragma once
#include <algorithm>
#include <functional>
#include <string>

#include "core/allocator.h"
#include "core/device.h"
#include "core/device_runtime.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace sv {

class Context {
 public:
  // device_index selects cuda:N; compute is the GEMM input precision on the device (F32 or BF16;
  // the CPU computes in F32). Creating a CUDA context without a usable GPU throws one clear line.
  explicit Context(Device device = Device::CPU, int threads = 0, int device_index = 0, DType compute = DType::F32);

  Device device() const { return device_; }
  DType compute_dtype() const { return compute_; }
  // Activations come from the context's caching allocator, on the context's device.
  Tensor empty(const Shape& shape, DType dtype = DType::F32) const { return Tensor::empty(shape, dtype, allocator_); }
  Tensor zeros(const Shape& shape, DType dtype = DType::F32) const;
  const std::shared_ptr<Allocator>& allocator() const { return allocator_; }
  void release_cached() const { allocator_->release_cached(); }
  // The GPU behind a CUDA context (null on the CPU).
  DeviceRuntime* runtime() const { return runtime_.get(); }
  // A tensor on this context's device (uploaded from the host when needed; already-there tensors are
  // returned as they are, made contiguous).
  Tensor to_device(const Tensor& t) const;
  void synchronize() const {
    if (runtime_) runtime_->synchronize();
  }
  int threads() const { return threads_; }
  // Memory a new allocation on this context's device can count on now (GPU free memory, or host RAM).
  size_t available_bytes() const;
  const char* memory_name() const { return runtime_ ? "GPU memory" : "host RAM"; }
  // Runs fn(begin, end) over [0, n) in chunks on the context's threads; `work` (element operations in
  // all) decides how many: a loop too small to repay waking a thread runs on the caller alone.
  template <class F>
  void parallel_for(int64_t n, int64_t work, F&& fn) const {
    const int64_t chunks = pool_ ? chunks_for(n, work) : 1;
    if (chunks <= 1) {
      if (n > 0) fn(int64_t(0), n);
      return;
    }
    pool_->run(chunks, [&](int64_t c) { fn(n * c / chunks, n * (c + 1) / chunks); });
  }
  // The context's CPU threads (null on a GPU context), for kernels that cut work their own way (GEMM).
  ThreadPool* pool() const { return pool_.get(); }

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
  DType compute_;
  DumpFn dump_;
  std::shared_ptr<DeviceRuntime> runtime_;
  std::shared_ptr<Allocator> allocator_;
  std::shared_ptr<ThreadPool> pool_;

  // Below this many element operations a loop stays on one thread; above, a few chunks per thread so a
  // thread the OS has descheduled leaves little behind for the others.
  static constexpr int64_t kGrain = int64_t(1) << 14;
  int64_t chunks_for(int64_t n, int64_t work) const {
    if (n <= 1 || work < 2 * kGrain) return 1;
    return std::min<int64_t>({n, work / kGrain, int64_t(4) * threads_});
  }
};

// "cpu", "cuda", "cuda:N" -> device and index; throws on anything else.
void parse_device(const std::string& s, Device* device, int* index);
// "fp32"/"float32", "bf16"/"bfloat16" -> F32 / BF16; throws on anything else.
DType parse_compute_dtype(const std::string& s);

// Where a context runs, from the user's strings (C API, CLI, benchmarks): device "" = cuda when a GPU
// is present, else cpu; dtype "" = bf16 on a GPU, fp32 on the CPU. One-line errors for anything else,
// and for bf16 on the CPU.
struct Placement {
  Device device = Device::CPU;
  int index = 0;
  DType compute = DType::F32;
};
Placement parse_placement(const std::string& device, const std::string& dtype);

}  // namespace sv
