#include "core/context.h"

#include "core/host_cpu.h"
#include "core/host_memory.h"

#include <cstdlib>
#include <cstring>

namespace sv {

namespace {
constexpr const char* kCpuFp32Only = "the CPU computes in fp32 only (bf16 needs --device cuda)";
}  // namespace

Context::Context(Device device, int threads, int device_index, DType compute) : device_(device), compute_(compute) {
  SV_CHECK(compute == DType::F32 || compute == DType::BF16, "compute dtype must be fp32 or bf16, got ",
           dtype_name(compute));
  SV_CHECK(device == Device::CUDA || compute == DType::F32, kCpuFp32Only);
  if (device == Device::CUDA) {
    runtime_ = make_cuda_runtime(device_index);
    allocator_ = runtime_->allocator();
  } else {
    allocator_ = std::make_shared<CpuCachingAllocator>();
  }
  if (threads <= 0) threads = default_cpu_threads();
  threads_ = threads > 0 ? threads : 1;
  if (device == Device::CPU && threads_ > 1) pool_ = std::make_shared<ThreadPool>(threads_);
}

size_t Context::available_bytes() const { return runtime_ ? runtime_->available_bytes() : host_available_bytes(); }

Tensor Context::zeros(const Shape& shape, DType dtype) const {
  Tensor t = empty(shape, dtype);
  if (t.nbytes() == 0) return t;
  if (runtime_) runtime_->fill_zero(t.raw(), t.nbytes());
  else std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Context::to_device(const Tensor& t) const {
  if (!t.defined()) return t;
  if (device_ == Device::CPU) return t.to_host();
  if (t.device() != Device::CPU) return t.contiguous();
  const Tensor h = t.contiguous();
  Tensor d = empty(h.shape(), h.dtype());
  if (h.nbytes()) runtime_->upload(d.raw(), h.raw(), h.nbytes());
  return d;
}

void parse_device(const std::string& s, Device* device, int* index) {
  *index = 0;
  if (s == "cpu") {
    *device = Device::CPU;
    return;
  }
  if (s == "cuda") {
    *device = Device::CUDA;
    return;
  }
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() < 9 &&
      s.find_first_not_of("0123456789", 5) == std::string::npos) {
    *device = Device::CUDA;
    *index = std::stoi(s.substr(5));
    return;
  }
  SV_THROW("unknown device '", s, "' (cpu, cuda or cuda:N)");
}

Placement parse_placement(const std::string& device, const std::string& dtype) {
  Placement p;
  if (!device.empty()) parse_device(device, &p.device, &p.index);
  else if (cuda_device_count() > 0) p.device = Device::CUDA;
  p.compute = !dtype.empty() ? parse_compute_dtype(dtype) : p.device == Device::CUDA ? DType::BF16 : DType::F32;
  SV_CHECK(p.device == Device::CUDA || p.compute == DType::F32, kCpuFp32Only);
  return p;
}

DType parse_compute_dtype(const std::string& s) {
  if (s == "fp32" || s == "float32") return DType::F32;
  if (s == "bf16" || s == "bfloat16") return DType::BF16;
  SV_THROW("unknown compute dtype '", s, "' (fp32 or bf16)");
}

}  // namespace sv
