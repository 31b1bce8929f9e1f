// Dense projections on cuBLASLt: y[M, N] = x[M, K] w[N, K]^T + b with the bias fused as a GEMM
// epilogue. Weights are used in their uploaded dtype: bf16 weights take bf16 activations (converted
// per call) with fp32 accumulation and fp32 output; fp32 weights run an fp32 GEMM (TF32 tensor cores
// in a bf16 context, exact fp32 in an fp32 one).
#include "ops/cuda/act.cuh"
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {

int alignment(const void* p) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  int a = 256;
  while (a > 4 && v % a) a /= 2;
  return a;
}

// Column-major view: D (N x M, ld N) = op_T(W as K x N, ld K) * (X as K x M, ld K) [+ bias per row].
bool lt_matmul(Context& ctx, const void* W, DType wt, const void* X, DType xt, const float* bias, float* Y, int64_t M,
               int64_t N, int64_t K) {
  CudaRuntime& r = rt(ctx);
  const bool tf32 = wt == DType::F32 && ctx.compute_dtype() == DType::BF16;
  const CudaRuntime::LtKey key{M, N, K, static_cast<int>(wt) * 16 + static_cast<int>(xt) + (tf32 ? 256 : 0),
                               bias ? 1 : 0, alignment(W), std::min(alignment(X), alignment(Y))};
  auto& plans = r.lt_plans();
  auto it = plans.find(key);
  if (it == plans.end()) {
    CudaRuntime::LtPlan p;
    const cublasComputeType_t ct = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    bool ok = cublasLtMatmulDescCreate(&p.op, ct, CUDA_R_32F) == CUBLAS_STATUS_SUCCESS;
    const cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
    ok = ok && cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof tA) == CUBLAS_STATUS_SUCCESS;
    ok = ok && cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof tB) == CUBLAS_STATUS_SUCCESS;
    if (bias) {
      const cublasLtEpilogue_t ep = CUBLASLT_EPILOGUE_BIAS;
      ok = ok && cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep) == CUBLAS_STATUS_SUCCESS;
    }
    ok = ok && cublasLtMatrixLayoutCreate(&p.a, cuda_type(wt), K, N, K) == CUBLAS_STATUS_SUCCESS;
    ok = ok && cublasLtMatrixLayoutCreate(&p.b, cuda_type(xt), K, M, K) == CUBLAS_STATUS_SUCCESS;
    ok = ok && cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, N, M, N) == CUBLAS_STATUS_SUCCESS;
    cublasLtMatmulPreference_t pref = nullptr;
    ok = ok && cublasLtMatmulPreferenceCreate(&pref) == CUBLAS_STATUS_SUCCESS;
    if (ok) {
      const size_t ws = r.workspace_bytes();
      const uint32_t aa = std::get<5>(key), ab = std::get<6>(key);
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &aa, sizeof aa);
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &ab, sizeof ab);
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &ab, sizeof ab);
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &ab, sizeof ab);
      cublasLtMatmulHeuristicResult_t res{};
      int found = 0;
      ok = cublasLtMatmulAlgoGetHeuristic(r.lt(), p.op, p.a, p.b, p.c, p.c, pref, 1, &res, &found) ==
               CUBLAS_STATUS_SUCCESS &&
           found > 0;
      if (ok) p.algo = res.algo;
      cublasLtMatmulPreferenceDestroy(pref);
    }
    p.ok = ok;
    it = plans.emplace(key, p).first;
  }
  CudaRuntime::LtPlan& p = it->second;
  if (!p.ok) return false;
  if (bias &&
      cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias) != CUBLAS_STATUS_SUCCESS)
    return false;
  const float alpha = 1.0f, beta = 0.0f;
  return cublasLtMatmul(r.lt(), p.op, &alpha, W, p.a, X, p.b, &beta, Y, p.c, Y, p.c, &p.algo, r.workspace(),
                        r.workspace_bytes(), r.stream()) == CUBLAS_STATUS_SUCCESS;
}

__global__ void bias_act_kernel(float* y, const float* b, int64_t N, int64_t total, int act) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  float v = y[i];
  if (b) v += b[i % N];
  y[i] = apply_act(act, v);
}

}  // namespace

Tensor linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, ops::Act act) {
  const int64_t N = w.size(0), K = w.size(1), M = K ? x.numel() / K : 0;
  Shape out = x.shape();
  out.back() = N;
  Tensor y = ctx.empty(out);
  if (M == 0 || N == 0) return y;
  // Half weights take half activations of the same type; fp32 weights take the fp32 activations.
  const DType wt = w.dtype();
  const Tensor xs = wt == DType::F32 ? x : convert(ctx, x, wt);
  const float* bias = b.defined() ? b.data<float>() : nullptr;
  const bool fused = K > 0 && lt_matmul(ctx, w.raw(), wt, xs.raw(), xs.dtype(), bias, y.data<float>(), M, N, K);
  if (!fused) {
    // cublasGemmEx, then bias + activation in one pass.
    gemm(ctx, true, false, N, M, K, 1.0f, w.raw(), wt, K, xs.raw(), xs.dtype(), K, 0.0f, y.data<float>(), N);
  }
  const bool need_pass = (!fused && bias) || act != ops::Act::None;
  if (need_pass) {
    const int64_t total = M * N;
    bias_act_kernel<<<blocks_for(total, 256), 256, 0, stream(ctx)>>>(y.data<float>(), fused ? nullptr : bias, N, total,
                                                                     static_cast<int>(act));
    SV_CUDA_LAUNCHED();
  }
  return y;
}

}  // namespace sv::cuda
