// The CUDA runtime behind a Context, device memory, copies, and the cuBLAS GEMM wrappers.
#include <cstring>

#include "ops/cuda/cuda_common.cuh"

namespace sv {

bool built_with_cuda() { return true; }

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // no driver / no device: not an error for the caller
    return 0;
  }
  return n;
}

std::shared_ptr<DeviceRuntime> make_cuda_runtime(int index) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    SV_THROW("--device cuda: no usable CUDA device on this machine (no NVIDIA GPU or driver: ", cudaGetErrorString(e), ")");
  }
  SV_CHECK(n > 0, "--device cuda: this machine has no CUDA device");
  SV_CHECK(index >= 0 && index < n, "--device cuda:", index, ": no such device (", n, " CUDA device(s) present)");
  return std::make_shared<cuda::CudaRuntime>(index);
}

namespace {
constexpr int kMaxDims = 8;
struct StridedDesc {
  int nd;
  int64_t shape[kMaxDims], src_stride[kMaxDims], dst_stride[kMaxDims];
};

__device__ __forceinline__ void offsets(const StridedDesc& d, int64_t i, int64_t* so, int64_t* dso) {
  int64_t s = 0, t = 0;
  for (int k = d.nd - 1; k >= 0; --k) {
    const int64_t idx = i % d.shape[k];
    i /= d.shape[k];
    s += idx * d.src_stride[k];
    t += idx * d.dst_stride[k];
  }
  *so = s;
  *dso = t;
}

template <typename T>
__global__ void copy_same(StridedDesc d, const T* src, T* dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t so, dso;
    offsets(d, i, &so, &dso);
    dst[dso] = src[so];
  }
}

__device__ __forceinline__ void store_f(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store_f(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16(v); }
__device__ __forceinline__ void store_f(__half* p, int64_t i, float v) { p[i] = __float2half(v); }

template <typename S, typename T>
__global__ void copy_convert(StridedDesc d, const S* src, T* dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t so, dso;
    offsets(d, i, &so, &dso);
    store_f(dst, dso, cuda::load_f(src, so));
  }
}

template <typename S>
void launch_convert(const StridedDesc& d, const S* src, void* dst, DType dt, int64_t n, cudaStream_t st) {
  const unsigned g = cuda::blocks_for(n, 256) > 65535u * 8 ? 65535u * 8 : cuda::blocks_for(n, 256);
  switch (dt) {
    case DType::F32: copy_convert<<<g, 256, 0, st>>>(d, src, static_cast<float*>(dst), n); break;
    case DType::BF16: copy_convert<<<g, 256, 0, st>>>(d, src, static_cast<__nv_bfloat16*>(dst), n); break;
    case DType::F16: copy_convert<<<g, 256, 0, st>>>(d, src, static_cast<__half*>(dst), n); break;
    default: SV_THROW("device copy: no conversion to ", dtype_name(dt));
  }
  SV_CUDA_LAUNCHED();
}

// Copies src (strided) into dst (strided, same shape) on `st`.
void strided_copy_on(const Tensor& src, const Tensor& dst, cudaStream_t st) {
  SV_CHECK(src.shape() == dst.shape(), "device copy: shapes ", shape_str(src.shape()), " and ", shape_str(dst.shape()));
  SV_CHECK(src.dim() <= kMaxDims, "device copy: more than ", kMaxDims, " dimensions");
  const int64_t n = src.numel();
  if (n == 0) return;
  StridedDesc d{};
  d.nd = static_cast<int>(src.dim());
  for (int k = 0; k < d.nd; ++k) d.shape[k] = src.size(k), d.src_stride[k] = src.stride(k), d.dst_stride[k] = dst.stride(k);
  if (d.nd == 0) d.nd = 1, d.shape[0] = 1, d.src_stride[0] = d.dst_stride[0] = 0;
  const unsigned g = cuda::blocks_for(n, 256) > 65535u * 8 ? 65535u * 8 : cuda::blocks_for(n, 256);
  if (src.dtype() == dst.dtype()) {
    switch (dtype_size(src.dtype())) {
      case 1: copy_same<<<g, 256, 0, st>>>(d, src.data<uint8_t>(), dst.data<uint8_t>(), n); break;
      case 2: copy_same<<<g, 256, 0, st>>>(d, src.data<uint16_t>(), dst.data<uint16_t>(), n); break;
      case 4: copy_same<<<g, 256, 0, st>>>(d, src.data<uint32_t>(), dst.data<uint32_t>(), n); break;
      case 8: copy_same<<<g, 256, 0, st>>>(d, src.data<uint64_t>(), dst.data<uint64_t>(), n); break;
      default: SV_THROW("device copy: element size ", dtype_size(src.dtype()));
    }
    SV_CUDA_LAUNCHED();
    return;
  }
  switch (src.dtype()) {
    case DType::F32: launch_convert(d, src.data<float>(), dst.raw(), dst.dtype(), n, st); break;
    case DType::BF16: launch_convert(d, src.data<__nv_bfloat16>(), dst.raw(), dst.dtype(), n, st); break;
    case DType::F16: launch_convert(d, src.data<__half>(), dst.raw(), dst.dtype(), n, st); break;
    default: SV_THROW("device copy: no conversion from ", dtype_name(src.dtype()), " to ", dtype_name(dst.dtype()));
  }
}
}  // namespace

// Tensor methods have no context: they run on the legacy default stream, which orders itself with
// the contexts' (blocking) streams.
void device_copy_strided(const Tensor& src, const Tensor& dst) { strided_copy_on(src, dst, nullptr); }

void device_to_host(void* dst, const void* src, size_t bytes) {
  SV_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

namespace cuda {

void copy_into(Context& ctx, const Tensor& src, const Tensor& dst) { strided_copy_on(src, dst, stream(ctx)); }

CachingAllocator::~CachingAllocator() { release_cached(); }

void* CachingAllocator::allocate(size_t bytes) {
  const size_t sz = BlockCache::size_class(bytes);
  if (void* p = cache_.take(sz)) return p;
  void* p = nullptr;
  cudaSetDevice(device_);
  if (cudaMalloc(&p, sz) != cudaSuccess) {
    (void)cudaGetLastError();
    release_cached();
    if (cudaMalloc(&p, sz) != cudaSuccess) {
      (void)cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      SV_THROW("CUDA out of memory on cuda:", device_, ": asked for ", bytes, " bytes (", bytes >> 20, " MiB), ",
               free_b >> 20, " MiB free of ", total_b >> 20, " MiB");
    }
  }
  cache_.add_new(p, sz);
  return p;
}

// Kept without a cap: a freed block may still be read by kernels queued on the stream, and a cached
// block is only handed to later work on that same stream.
void CachingAllocator::deallocate(void* p, size_t /*bytes: the cache knows each block's size*/) {
  if (p) (void)cache_.give_back(p);
}

void CachingAllocator::release_cached() {
  std::lock_guard<std::mutex> lock(release_mu_);
  const std::vector<std::pair<void*, size_t>> blocks = cache_.drain();
  if (blocks.empty()) return;
  size_t bytes = 0;
  for (const auto& b : blocks) bytes += b.second;
  releasing_ += bytes;  // still counted as available while the device finishes with them
  cudaSetDevice(device_);
  cudaDeviceSynchronize();  // blocks may still be read by queued kernels
  for (const auto& b : blocks) cudaFree(b.first);
  releasing_ -= bytes;
}

CudaRuntime::CudaRuntime(int index) : index_(index) {
  SV_CUDA_CHECK(cudaSetDevice(index));
  cudaDeviceProp prop{};
  SV_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  name_ = std::string(prop.name) + " (cuda:" + std::to_string(index) + ")";
  sm_count_ = prop.multiProcessorCount;
  SV_CUDA_CHECK(cudaStreamCreate(&stream_));
  SV_CUBLAS_CHECK(cublasCreate(&blas_));
  SV_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
  SV_CUBLAS_CHECK(cublasLtCreate(&lt_));
  SV_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
  SV_CUBLAS_CHECK(cublasSetWorkspace(blas_, workspace_, workspace_bytes_));
  alloc_ = std::make_shared<CachingAllocator>(index);
}

CudaRuntime::~CudaRuntime() {
  cudaStreamSynchronize(stream_);
  for (auto& kv : lt_plans_) {
    LtPlan& p = kv.second;
    if (p.op) cublasLtMatmulDescDestroy(p.op);
    for (cublasLtMatrixLayout_t l : {p.a, p.b, p.c})
      if (l) cublasLtMatrixLayoutDestroy(l);
  }
  if (lt_) cublasLtDestroy(lt_);
  if (blas_) cublasDestroy(blas_);
  if (workspace_) cudaFree(workspace_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaRuntime::upload(void* dst, const void* src, size_t bytes) {
  cudaSetDevice(index_);
  SV_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
}

size_t CudaRuntime::available_bytes() const {
  cudaSetDevice(index_);
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
  return free_b + static_cast<CachingAllocator*>(alloc_.get())->cached_bytes();
}

void CudaRuntime::fill_zero(void* dst, size_t bytes) {
  cudaSetDevice(index_);
  SV_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream_));
}

void CudaRuntime::synchronize() {
  cudaSetDevice(index_);
  SV_CUDA_CHECK(cudaStreamSynchronize(stream_));
}
size_t CudaRuntime::peak_bytes() const { return static_cast<CachingAllocator*>(alloc_.get())->peak_bytes(); }
void CudaRuntime::reset_peak() { static_cast<CachingAllocator*>(alloc_.get())->reset_peak(); }

Tensor convert(Context& ctx, const Tensor& x, DType dt) {
  Tensor y = ctx.empty(x.shape(), dt);
  copy_into(ctx, x, y);
  return y;
}

namespace {
cublasComputeType_t compute_for(const Context& ctx, DType ta, DType tb) {
  if (ta == DType::F32 && tb == DType::F32)
    return ctx.compute_dtype() == DType::BF16 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  return CUBLAS_COMPUTE_32F;
}
}  // namespace

void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const void* A,
          DType ta, int64_t lda, const void* B, DType tb, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (m == 0 || n == 0) return;
  SV_CHECK(m < INT32_MAX && n < INT32_MAX && k < INT32_MAX, "GEMM too large for cuBLAS: ", m, "x", n, "x", k);
  CudaRuntime& r = rt(ctx);
  SV_CUBLAS_CHECK(cublasGemmEx(r.blas(), trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                               static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), &alpha, A, cuda_type(ta),
                               static_cast<int>(lda), B, cuda_type(tb), static_cast<int>(ldb), &beta, C, CUDA_R_32F,
                               static_cast<int>(ldc), compute_for(ctx, ta, tb), CUBLAS_GEMM_DEFAULT));
}

void gemm_batched(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const void* A, DType ta, int64_t lda, int64_t sa, const void* B, DType tb, int64_t ldb, int64_t sb,
                  float beta, float* C, int64_t ldc, int64_t sc, int64_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  SV_CHECK(m < INT32_MAX && n < INT32_MAX && k < INT32_MAX && batch < INT32_MAX, "batched GEMM too large for cuBLAS");
  CudaRuntime& r = rt(ctx);
  SV_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      r.blas(), trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(m),
      static_cast<int>(n), static_cast<int>(k), &alpha, A, cuda_type(ta), static_cast<int>(lda), sa, B, cuda_type(tb),
      static_cast<int>(ldb), sb, &beta, C, CUDA_R_32F, static_cast<int>(ldc), sc, static_cast<int>(batch),
      compute_for(ctx, ta, tb), CUBLAS_GEMM_DEFAULT));
}

}  // namespace cuda
}  // namespace sv
