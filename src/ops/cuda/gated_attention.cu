// SANA-Video 2.0's attention pieces on the GPU (same semantics as ops/cpu/gated_attention_cpu.cpp):
// interleaved RoPE, gated linear attention (state and output as batched GEMMs over heads, as the v1
// linear attention does), and the attention-residual routing (per-row logits, softmax-weighted sum).
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {
constexpr int kT = 256;

// One thread per rotary pair (b, n, h, i).
__global__ void rope_pairs_kernel(const float* x, const float* cs, const float* sn, float* y, int64_t N, int64_t D,
                                  int64_t C, int64_t P, int64_t total) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= total) return;
  const int64_t pairs = D / 2, r = t / pairs, pi = t % pairs;
  const int64_t h = pi / P, i = pi % P, n = r % N;
  const int64_t o = r * D + h * C + 2 * i;
  const float c = cs[n * P + i], s = sn[n * P + i], x0 = x[o], x1 = x[o + 1];
  y[o] = x0 * c - x1 * s;
  y[o + 1] = x0 * s + x1 * c;
}

// kg[r, h*C + c] = k[r, h*C + c] * sigmoid(beta[r, h]).
__global__ void gate_keys_kernel(const float* k, const float* beta, float* kg, int64_t D, int64_t C, int64_t H,
                                 int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int64_t r = i / D, h = (i % D) / C;
  kg[i] = k[i] * (1.0f / (1.0f + expf(-beta[r * H + h])));
}

// ks[b, d] = sum_n ReLU(k_plain[b, n, d]) in double; one thread per (b, d).
__global__ void relu_sum_kernel(const float* k, double* ks, int64_t N, int64_t D, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int64_t b = i / D, d = i % D;
  double acc = 0.0;
  for (int64_t n = 0; n < N; ++n) acc += fmaxf(k[(b * N + n) * D + d], 0.0f);
  ks[i] = acc;
}

// out[b, n, h, :] /= ReLU(q_plain[b, n, h, :]) . ks[b, h, :] + eps; one thread per (b, n, h).
__global__ void normalise_kernel(const float* q, const double* ks, float* out, int64_t N, int64_t D, int64_t C,
                                 int64_t H, float eps, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int64_t r = i / H, h = i % H, b = r / N;
  const float* qr = q + r * D + h * C;
  const double* k = ks + b * D + h * C;
  double den = 0.0;
  for (int64_t c = 0; c < C; ++c) den += fmaxf(qr[c], 0.0f) * k[c];
  const float z = 1.0f / (static_cast<float>(den) + eps);
  float* o = out + r * D + h * C;
  for (int64_t c = 0; c < C; ++c) o[c] *= z;
}

// One block per row: out[r, j] = (w[j] . x[r]) / sqrt(mean x[r]^2 + eps), sums in double.
__global__ void rms_dot_kernel(const float* x, const float* w, float* y, int64_t D, int64_t J, float eps) {
  __shared__ double red[kT];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * D;
  double ss = 0.0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) ss += static_cast<double>(xr[d]) * xr[d];
  red[threadIdx.x] = ss;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  const double inv = 1.0 / sqrt(red[0] / static_cast<double>(D) + eps);
  __syncthreads();
  for (int64_t j = 0; j < J; ++j) {
    double dot = 0.0;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) dot += static_cast<double>(w[j * D + d]) * xr[d];
    red[threadIdx.x] = dot;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
      __syncthreads();
    }
    if (threadIdx.x == 0) y[r * J + j] = static_cast<float>(red[0] * inv);
    __syncthreads();
  }
}

struct Sources {
  const float* v[16];
  const float* logit[16];
  int64_t lj[16];
  int n;
};

// One thread per output element; the few softmax weights are recomputed per element (S <= 16).
__global__ void softmax_mix_kernel(Sources src, float* y, int64_t D, int64_t col, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int64_t r = i / D;
  float a[16];
  float mx = -INFINITY;
  for (int s = 0; s < src.n; ++s) mx = fmaxf(mx, a[s] = src.logit[s][r * src.lj[s] + col]);
  float sum = 0.0f;
  for (int s = 0; s < src.n; ++s) sum += (a[s] = expf(a[s] - mx));
  float acc = (a[0] / sum) * src.v[0][i];
  for (int s = 1; s < src.n; ++s) acc += (a[s] / sum) * src.v[s][i];
  y[i] = acc;
}

}  // namespace

Tensor rope_pairs(Context& ctx, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t heads) {
  const int64_t N = x.size(1), D = x.size(2), C = D / heads, total = x.numel() / 2;
  Tensor y = ctx.empty(x.shape());
  if (total)
    rope_pairs_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), cos.data<float>(),
                                                                     sin.data<float>(), y.data<float>(), N, D, C,
                                                                     C / 2, total);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor gated_linear_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& beta,
                              int64_t heads, const Tensor& q_plain, const Tensor& k_plain, float eps) {
  const int64_t B = q.size(0), N = q.size(1), D = q.size(2), H = heads, C = D / H, n = q.numel();
  Tensor out = ctx.empty(q.shape());
  if (n == 0) return out;
  Tensor kg = ctx.empty(k.shape());
  gate_keys_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(k.data<float>(), beta.data<float>(), kg.data<float>(),
                                                              D, C, H, n);
  SV_CUDA_LAUNCHED();
  Tensor state = ctx.empty({H, C, C});
  float* S = state.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t base = b * N * D;
    // S[h] row-major: S[c1][c2] = sum_n v[n, c1] kg[n, c2]; then out rows = q S^T per head.
    gemm_batched(ctx, false, true, C, C, N, 1.0f, kg.data<float>() + base, DType::F32, D, C, v.data<float>() + base,
                 DType::F32, D, C, 0.0f, S, C, C * C, H);
    gemm_batched(ctx, true, false, C, N, C, 1.0f, S, DType::F32, C, C * C, q.data<float>() + base, DType::F32, D, C,
                 0.0f, out.data<float>() + base, D, C, H);
  }
  if (!q_plain.defined()) return out;
  Tensor ks = ctx.empty({B, D}, DType::F64);
  relu_sum_kernel<<<blocks_for(B * D, kT), kT, 0, stream(ctx)>>>(k_plain.data<float>(), ks.data<double>(), N, D, B * D);
  SV_CUDA_LAUNCHED();
  normalise_kernel<<<blocks_for(B * N * H, kT), kT, 0, stream(ctx)>>>(q_plain.data<float>(), ks.data<double>(),
                                                                      out.data<float>(), N, D, C, H, eps, B * N * H);
  SV_CUDA_LAUNCHED();
  return out;
}

Tensor rms_dot(Context& ctx, const Tensor& x, const Tensor& w, float eps) {
  const int64_t R = x.size(0) * x.size(1), D = x.size(2), J = w.size(0);
  Tensor y = ctx.empty({x.size(0), x.size(1), J});
  SV_CHECK(R < 2147483647, "rms_dot: too many rows for one launch");
  if (R) rms_dot_kernel<<<static_cast<unsigned>(R), kT, 0, stream(ctx)>>>(x.data<float>(), w.data<float>(), y.data<float>(), D, J, eps);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor softmax_mix(Context& ctx, const std::vector<Tensor>& values, const std::vector<Tensor>& logits, int64_t col) {
  Sources src{};
  src.n = static_cast<int>(values.size());
  for (size_t s = 0; s < values.size(); ++s) {
    src.v[s] = values[s].data<float>();
    src.logit[s] = logits[s].data<float>();
    src.lj[s] = logits[s].size(2);
  }
  Tensor y = ctx.empty(values[0].shape());
  const int64_t n = y.numel();
  if (n)
    softmax_mix_kernel<<<blocks_for(n, kT), kT, 0, stream(ctx)>>>(src, y.data<float>(), values[0].size(2), col, n);
  SV_CUDA_LAUNCHED();
  return y;
}

}  // namespace sv::cuda
