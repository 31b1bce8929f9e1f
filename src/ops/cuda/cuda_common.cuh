// Shared pieces of the CUDA kernels: error checks, the runtime behind a CUDA Context (stream,
// cuBLAS/cuBLASLt handles and workspace, caching allocator), launch helpers and bf16 loads.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "core/context.h"
#include "core/error.h"
#include "ops/kernels.h"

#define SV_CUDA_CHECK(expr)                                                                   \
  do {                                                                                        \
    const cudaError_t sv_err_ = (expr);                                                       \
    if (sv_err_ != cudaSuccess) SV_THROW("CUDA error: ", cudaGetErrorString(sv_err_), " (", #expr, ")"); \
  } while (0)
#define SV_CUBLAS_CHECK(expr)                                                                  \
  do {                                                                                         \
    const cublasStatus_t sv_st_ = (expr);                                                      \
    if (sv_st_ != CUBLAS_STATUS_SUCCESS) SV_THROW("cuBLAS error ", static_cast<int>(sv_st_), " (", #expr, ")"); \
  } while (0)
// After every launch: reports bad launch configurations at once (no synchronisation).
#define SV_CUDA_LAUNCHED() SV_CUDA_CHECK(cudaGetLastError())

namespace sv::cuda {

// Device memory under BlockCache's policy (as the host allocator: size classes, best fit up to 1.5x),
// cached on free so a denoising loop's steady state calls cudaMalloc never. Out of memory names the
// bytes asked for and the bytes free.
class CachingAllocator : public Allocator {
 public:
  explicit CachingAllocator(int device) : device_(device), cache_(~size_t(0)) {}
  ~CachingAllocator() override;
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  Device device() const override { return Device::CUDA; }
  void release_cached() override;
  // The high-water mark of the bytes handed out by size class (what a job needs, the cache aside).
  size_t peak_bytes() const { return cache_.peak_asked_bytes(); }
  void reset_peak() { cache_.reset_peak(); }
  // Kept for reuse, or being freed by a release that waits for the device: free memory to a job.
  size_t cached_bytes() const { return cache_.cached_bytes() + releasing_.load(); }

 private:
  int device_;
  std::mutex release_mu_;  // one release at a time (it synchronises the device)
  BlockCache cache_;
  std::atomic<size_t> releasing_{0};
};

class CudaRuntime : public DeviceRuntime {
 public:
  explicit CudaRuntime(int index);
  ~CudaRuntime() override;
  int index() const override { return index_; }
  std::string name() const override { return name_; }
  const std::shared_ptr<Allocator>& allocator() const override { return alloc_; }
  void synchronize() override;
  size_t peak_bytes() const override;
  void reset_peak() override;
  void upload(void* dst, const void* src, size_t bytes) override;
  void fill_zero(void* dst, size_t bytes) override;
  size_t available_bytes() const override;

  cudaStream_t stream() const { return stream_; }
  cublasHandle_t blas() const { return blas_; }
  cublasLtHandle_t lt() const { return lt_; }
  void* workspace() const { return workspace_; }
  size_t workspace_bytes() const { return workspace_bytes_; }
  int sm_count() const { return sm_count_; }

  // cuBLASLt algorithm chosen once per problem (heuristic result cached).
  struct LtPlan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool ok = false;
  };
  using LtKey = std::tuple<int64_t, int64_t, int64_t, int, int, int, int>;  // M, N, K, dtype, bias, alignA, alignB
  std::map<LtKey, LtPlan>& lt_plans() { return lt_plans_; }

 private:
  int index_;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = size_t(32) << 20;
  int sm_count_ = 0;
  std::shared_ptr<Allocator> alloc_;
  std::map<LtKey, LtPlan> lt_plans_;
};

// The runtime of a CUDA context (an op reached the CUDA backend with a CUDA tensor).
inline CudaRuntime& rt(const Context& ctx) {
  SV_CHECK(ctx.runtime(), "a CUDA tensor reached an op run with a CPU context");
  auto& r = *static_cast<CudaRuntime*>(ctx.runtime());
  cudaSetDevice(r.index());  // the calling thread may not be the one that created the context
  return r;
}
inline cudaStream_t stream(const Context& ctx) { return rt(ctx).stream(); }

inline unsigned blocks_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 2147483647 ? 2147483647 : b));
}

// Any float storage read as float.
__device__ __forceinline__ float load_f(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load_f(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ float load_f(const __half* p, int64_t i) { return __half2float(p[i]); }

inline cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::F32: return CUDA_R_32F;
    case DType::BF16: return CUDA_R_16BF;
    case DType::F16: return CUDA_R_16F;
    default: SV_THROW("no CUDA matrix type for ", dtype_name(t));
  }
}

// Copies a strided view into another of the same shape on the context stream (dtype conversion
// between F32/BF16/F16).
void copy_into(Context& ctx, const Tensor& src, const Tensor& dst);
// A float copy of x in `dt` (F32/BF16/F16) on the context's device: GEMM operands.
Tensor convert(Context& ctx, const Tensor& x, DType dt);

// C[m, n] (column-major, ldc) = alpha * op(A) op(B) + beta * C through cublasGemmEx: A, B in their
// dtypes (F32/BF16/F16), C F32. fast_f32: TF32 tensor cores for F32 operands (bf16 contexts).
void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const void* A,
          DType ta, int64_t lda, const void* B, DType tb, int64_t ldb, float beta, float* C, int64_t ldc);
// Softmax attention without a bias through the fused bf16 kernel (flash_attention.cu) when the head
// dim is 32, 64, 128 or 256 and the GPU has bf16 tensor cores; false (nothing done) otherwise.
bool flash_attention_bf16(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, int64_t heads);
// Batched form with constant strides between the batch's matrices (in elements).
void gemm_batched(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const void* A, DType ta, int64_t lda, int64_t sa, const void* B, DType tb, int64_t ldb, int64_t sb,
                  float beta, float* C, int64_t ldc, int64_t sc, int64_t batch);

}  // namespace sv::cuda
