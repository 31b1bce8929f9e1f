// Softmax attention on the GPU: scores by batched cuBLAS GEMMs into an fp32 buffer, a masked softmax
// kernel (one warp per row, normaliser summed in double as the CPU does), then P @ V by GEMM.
// Cross-attention (sdpa) has at most a few hundred caption keys, so the score buffer is small per
// query row; long query sequences are processed in row chunks to bound it. Self-attention over the
// video in bf16 contexts goes to the fused kernel instead (flash_attention.cu).
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {

__device__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// rows of length L; bias (per batch row of keys) may be null.
__global__ void softmax_bias_kernel(float* S, const float* bias, int64_t rows, int64_t L) {
  const int64_t row = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  float* s = S + row * L;
  float mx = -INFINITY;
  for (int64_t l = lane; l < L; l += 32) {
    float v = s[l];
    if (bias) v += bias[l];
    s[l] = v;
    mx = fmaxf(mx, v);
  }
  mx = warp_max(mx);
  double sum = 0.0;
  for (int64_t l = lane; l < L; l += 32) {
    const float e = expf(s[l] - mx);
    s[l] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / warp_sum(sum));
  for (int64_t l = lane; l < L; l += 32) s[l] *= inv;
}

// Rows (h, i) of [H, L, L] scores for one batch entry: causal, key mask, sliding window, soft-cap.
__global__ void causal_softmax_kernel(float* S, const float* mask, int64_t rows, int64_t L, float softcap,
                                      int64_t window) {
  const int64_t row = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  const int64_t i = row % L;
  float* s = S + row * L;
  float mx = -INFINITY;
  int visible = 0;
  for (int64_t j = lane; j < L; j += 32) {
    const bool ok = j <= i && (!mask || mask[j] != 0.0f) && (window <= 0 || i - j < window);
    if (!ok) {
      s[j] = -INFINITY;
      continue;
    }
    ++visible;
    float v = s[j];
    if (softcap > 0) v = tanhf(v / softcap) * softcap;
    s[j] = v;
    mx = fmaxf(mx, v);
  }
  mx = warp_max(mx);
  for (int o = 16; o > 0; o >>= 1) visible += __shfl_xor_sync(0xffffffffu, visible, o);
  if (visible == 0) {
    for (int64_t j = lane; j < L; j += 32) s[j] = 1.0f / static_cast<float>(L);
    return;
  }
  double sum = 0.0;
  for (int64_t j = lane; j < L; j += 32) {
    const float e = s[j] == -INFINITY ? 0.0f : expf(s[j] - mx);
    s[j] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / warp_sum(sum));
  for (int64_t j = lane; j < L; j += 32) s[j] *= inv;
}

unsigned warp_rows_grid(int64_t rows) { return blocks_for(rows, 8); }  // 8 warps (256 threads) per block

}  // namespace

Tensor sdpa(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias_in, int64_t heads) {
  const int64_t B = q.size(0), N = q.size(1), D = q.size(2), L = k.size(1), C = D / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(C));
  const Tensor bias = ctx.to_device(bias_in);
  Tensor out = ctx.empty(q.shape());
  if (B * N * D == 0 || L == 0) return out;
  // bf16 contexts: the fused kernel (SANA-Video 2.0's head-256 anchors over the whole video).
  if (ctx.compute_dtype() == DType::BF16 && !bias.defined() && flash_attention_bf16(ctx, q, k, v, out, heads)) return out;
  // Query rows per chunk: the score buffer H x rows x L stays under 256 Mi floats.
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(N, (int64_t(1) << 28) / std::max<int64_t>(heads * L, 1)));
  Tensor S = ctx.empty({heads, chunk, L});
  for (int64_t b = 0; b < B; ++b) {
    const float* qb = q.data<float>() + b * N * D;
    const float* kb = k.data<float>() + b * L * D;
    const float* vb = v.data<float>() + b * L * D;
    float* ob = out.data<float>() + b * N * D;
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
      const int64_t rows = std::min(chunk, N - n0);
      // S_h^T (L x rows) = K_h^T-op (L x C) * Q_h^T (C x rows)
      gemm_batched(ctx, true, false, L, rows, C, scale, kb, DType::F32, D, C, qb + n0 * D, DType::F32, D, C, 0.0f,
                   S.data<float>(), L, rows * L, heads);
      // Each head's rows share the batch's bias: launch per head keeps the bias pointer simple.
      softmax_bias_kernel<<<warp_rows_grid(heads * rows), 256, 0, stream(ctx)>>>(
          S.data<float>(), bias.defined() ? bias.data<float>() + b * L : nullptr, heads * rows, L);
      SV_CUDA_LAUNCHED();
      // O_h^T (C x rows) = V_h^T (C x L) * P_h^T (L x rows)
      gemm_batched(ctx, false, false, C, rows, L, 1.0f, vb, DType::F32, D, C, S.data<float>(), DType::F32, L, rows * L,
                   0.0f, ob + n0 * D, D, C, heads);
    }
  }
  return out;
}

Tensor causal_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask_in,
                        int64_t heads, int64_t kv_heads, float scale, float softcap, int64_t window) {
  const int64_t B = q.size(0), L = q.size(1), Dq = q.size(2), Dh = Dq / heads, Dk = k.size(2), group = heads / kv_heads;
  const Tensor mask = ctx.to_device(mask_in);
  Tensor out = ctx.empty(q.shape());
  if (B * L * Dq == 0) return out;
  Tensor S = ctx.empty({heads, L, L});
  float* sp = S.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    const float* qb = q.data<float>() + b * L * Dq;
    const float* kb = k.data<float>() + b * L * Dk;
    const float* vb = v.data<float>() + b * L * Dk;
    float* ob = out.data<float>() + b * L * Dq;
    // Query head h = kvh * group + j reads kv head kvh: one batched GEMM per j over the kv heads.
    for (int64_t j = 0; j < group; ++j)
      gemm_batched(ctx, true, false, L, L, Dh, scale, kb, DType::F32, Dk, Dh, qb + j * Dh, DType::F32, Dq, group * Dh,
                   0.0f, sp + j * L * L, L, group * L * L, kv_heads);
    causal_softmax_kernel<<<warp_rows_grid(heads * L), 256, 0, stream(ctx)>>>(
        sp, mask.defined() ? mask.data<float>() + b * L : nullptr, heads * L, L, softcap, window);
    SV_CUDA_LAUNCHED();
    for (int64_t j = 0; j < group; ++j)
      gemm_batched(ctx, false, false, Dh, L, L, 1.0f, vb, DType::F32, Dk, Dh, sp + j * L * L, DType::F32, L,
                   group * L * L, 0.0f, ob + j * Dh, Dq, group * Dh, kv_heads);
  }
  return out;
}

}  // namespace sv::cuda
