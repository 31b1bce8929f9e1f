// SANA ReLU linear attention on the GPU (same semantics as ops/cpu/linear_attention_cpu.cpp): ReLU +
// rotary features by one kernel, the state sum_n v k_r^T and its application as batched GEMMs per
// batch entry (heads as the batch), sum_n ReLU(k) accumulated in double, and the normaliser kernel.
#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {
constexpr int kT = 256;

struct Dims {
  int64_t B, N, D, H, C, P;
  Dims(const Tensor& q, int64_t heads)
      : B(q.size(0)), N(q.size(1)), D(q.size(2)), H(heads), C(q.size(2) / heads), P(q.size(2) / heads / 2) {}
};

// One thread per rotary pair (b, n, h, i).
__global__ void relu_rotate_kernel(const float* q, const float* k, const float* cs, const float* sn, float* qr,
                                   float* kr, int64_t N, int64_t D, int64_t C, int64_t P, int64_t total) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= total) return;
  const int64_t pairs = D / 2, r = t / pairs, pi = t % pairs;  // r = b * N + n
  const int64_t h = pi / P, i = pi % P, n = r % N;
  const int64_t o = r * D + h * C + 2 * i;
  const float c = cs[n * P + i], s = sn[n * P + i];
  const float q0 = fmaxf(q[o], 0.0f), q1 = fmaxf(q[o + 1], 0.0f);
  const float k0 = fmaxf(k[o], 0.0f), k1 = fmaxf(k[o + 1], 0.0f);
  qr[o] = q0 * c - q1 * s;
  qr[o + 1] = q0 * s + q1 * c;
  kr[o] = k0 * c - k1 * s;
  kr[o + 1] = k0 * s + k1 * c;
}

// ks[b, d] += sum over tokens [n0, n1) of ReLU(k[b, n, d]); grid (channel blocks, token segments, B).
__global__ void relu_sum_kernel(const float* k, double* ks, int64_t N, int64_t D, int64_t n0, int64_t n1, int64_t seg) {
  const int64_t d = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int64_t b = blockIdx.z;
  if (d >= D) return;
  const int64_t s0 = n0 + blockIdx.y * seg, s1 = min(n1, s0 + seg);
  double acc = 0.0;
  for (int64_t n = s0; n < s1; ++n) acc += fmaxf(k[(b * N + n) * D + d], 0.0f);
  atomicAdd(ks + b * D + d, acc);
}

__global__ void add_f32_to_f64(double* ks, const float* prev, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) ks[i] += prev[i];
}

__global__ void f64_to_f32(const double* a, float* b, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) b[i] = static_cast<float>(a[i]);
}

// One warp per (b, n, h) of rows [n0, n1): out *= 1 / (ReLU(q) . ks + eps).
__global__ void normalise_kernel(const float* q, const double* ks, float* out, int64_t N, int64_t D, int64_t H,
                                 int64_t C, int64_t n0, int64_t n1, float eps) {
  const int64_t rows = n1 - n0;
  const int64_t w = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
  const int64_t B = gridDim.y;
  (void)B;
  const int64_t b = blockIdx.y;
  if (w >= rows * H) return;
  const int lane = threadIdx.x & 31;
  const int64_t n = n0 + w / H, h = w % H;
  const float* qrow = q + (b * N + n) * D + h * C;
  const double* kk = ks + b * D + h * C;
  double den = 0.0;
  for (int64_t c = lane; c < C; c += 32) den += fmaxf(qrow[c], 0.0f) * kk[c];
  for (int o = 16; o > 0; o >>= 1) den += __shfl_xor_sync(0xffffffffu, den, o);
  const float z = 1.0f / (static_cast<float>(den) + eps);
  float* orow = out + (b * N + n) * D + h * C;
  for (int64_t c = lane; c < C; c += 32) orow[c] *= z;
}

struct Work {
  Tensor qr, kr, out;
};

Work start(Context& ctx, const Dims& d, const Tensor& q, const Tensor& k, const Tensor& cos, const Tensor& sin) {
  Work w{ctx.empty(q.shape()), ctx.empty(q.shape()), ctx.empty(q.shape())};
  const int64_t total = d.B * d.N * (d.D / 2);
  if (total)
    relu_rotate_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(q.data<float>(), k.data<float>(), cos.data<float>(),
                                                                      sin.data<float>(), w.qr.data<float>(),
                                                                      w.kr.data<float>(), d.N, d.D, d.C, d.P, total);
  SV_CUDA_LAUNCHED();
  return w;
}

// ks (double [B, D], zeroed here) = sum over tokens [n0, n1) of ReLU(k).
void relu_sum(Context& ctx, const Dims& d, const Tensor& k, int64_t n0, int64_t n1, double* ks) {
  SV_CUDA_CHECK(cudaMemsetAsync(ks, 0, sizeof(double) * d.B * d.D, stream(ctx)));
  if (n1 <= n0 || d.D == 0) return;
  const int64_t seg = 256, segs = (n1 - n0 + seg - 1) / seg;
  SV_CHECK(segs < 65535 && d.B < 65535, "linear attention: sequence too long for one launch");
  const dim3 grid(blocks_for(d.D, 128), static_cast<unsigned>(segs), static_cast<unsigned>(d.B));
  relu_sum_kernel<<<grid, 128, 0, stream(ctx)>>>(k.data<float>(), ks, d.N, d.D, n0, n1, seg);
  SV_CUDA_LAUNCHED();
}

// vk[b] ([H, C, C] row-major, vk[c1][c2] = sum_n v[n, c1] k_r[n, c2]) over tokens [n0, n1).
void token_vk(Context& ctx, const Dims& d, const Tensor& v, const Tensor& kr, int64_t b, int64_t n0, int64_t n1, float* vk) {
  const int64_t base = (b * d.N + n0) * d.D;
  gemm_batched(ctx, false, true, d.C, d.C, n1 - n0, 1.0f, kr.data<float>() + base, DType::F32, d.D, d.C,
               v.data<float>() + base, DType::F32, d.D, d.C, 0.0f, vk, d.C, d.C * d.C, d.H);
}

// out rows [n0, n1) of batch b = q_r @ vk^T per head.
void apply_vk(Context& ctx, const Dims& d, const Tensor& qr, const float* vk, int64_t b, int64_t n0, int64_t n1, float* out) {
  const int64_t base = (b * d.N + n0) * d.D;
  gemm_batched(ctx, true, false, d.C, n1 - n0, d.C, 1.0f, vk, DType::F32, d.C, d.C * d.C, qr.data<float>() + base,
               DType::F32, d.D, d.C, 0.0f, out + base, d.D, d.C, d.H);
}

void normalise(Context& ctx, const Dims& d, const Tensor& q, const double* ks, int64_t n0, int64_t n1, float eps,
               float* out) {
  const int64_t warps = (n1 - n0) * d.H;
  if (warps == 0) return;
  SV_CHECK(d.B < 65535, "linear attention: batch too large");
  normalise_kernel<<<dim3(blocks_for(warps, 8), static_cast<unsigned>(d.B)), 256, 0, stream(ctx)>>>(
      q.data<float>(), ks, out, d.N, d.D, d.H, d.C, n0, n1, eps);
  SV_CUDA_LAUNCHED();
}

}  // namespace

Tensor linear_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                        const Tensor& sin, int64_t heads, float eps) {
  return linear_attention_cached(ctx, q, k, v, cos, sin, heads, Tensor(), Tensor(), nullptr, nullptr, eps);
}

Tensor linear_attention_cached(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                               const Tensor& sin, int64_t heads, const Tensor& vk_prev, const Tensor& ksum_prev,
                               Tensor* vk_cur, Tensor* ksum_cur, float eps) {
  const Dims d(q, heads);
  Work w = start(ctx, d, q, k, cos, sin);
  Tensor ks = ctx.empty({d.B, d.D}, DType::F64);
  double* ksp = ks.data<double>();
  relu_sum(ctx, d, k, 0, d.N, ksp);
  const int64_t nd = d.B * d.D;
  if (ksum_cur) {
    *ksum_cur = ctx.empty({d.B, d.H, d.C});
    if (nd) f64_to_f32<<<blocks_for(nd, kT), kT, 0, stream(ctx)>>>(ksp, ksum_cur->data<float>(), nd);
    SV_CUDA_LAUNCHED();
  }
  if (ksum_prev.defined() && nd) {
    add_f32_to_f64<<<blocks_for(nd, kT), kT, 0, stream(ctx)>>>(ksp, ksum_prev.data<float>(), nd);
    SV_CUDA_LAUNCHED();
  }
  // This block's state for every batch entry, then (with a previous state) the sum used for the output.
  Tensor vk = ctx.empty({d.B, d.H, d.C, d.C});
  for (int64_t b = 0; b < d.B; ++b) token_vk(ctx, d, v, w.kr, b, 0, d.N, vk.data<float>() + b * d.H * d.C * d.C);
  if (vk_cur) *vk_cur = vk;
  const Tensor vk_all = vk_prev.defined() ? cuda::add(ctx, vk, vk_prev) : vk;
  for (int64_t b = 0; b < d.B; ++b)
    apply_vk(ctx, d, w.qr, vk_all.data<float>() + b * d.H * d.C * d.C, b, 0, d.N, w.out.data<float>());
  normalise(ctx, d, q, ksp, 0, d.N, eps, w.out.data<float>());
  return w.out;
}

Tensor linear_attention_chunked(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                                const Tensor& sin, int64_t heads, const std::vector<int64_t>& chunk_starts, float eps) {
  const Dims d(q, heads);
  Work w = start(ctx, d, q, k, cos, sin);
  Tensor ks = ctx.empty({d.B, d.D}, DType::F64);
  Tensor vk = ctx.empty({d.H, d.C, d.C});
  for (size_t c = 0; c < chunk_starts.size(); ++c) {
    const int64_t n0 = chunk_starts[c], n1 = c + 1 < chunk_starts.size() ? chunk_starts[c + 1] : d.N;
    // Keys of every token up to the chunk's end, summed directly (no carried state).
    for (int64_t b = 0; b < d.B; ++b) {
      token_vk(ctx, d, v, w.kr, b, 0, n1, vk.data<float>());
      apply_vk(ctx, d, w.qr, vk.data<float>(), b, n0, n1, w.out.data<float>());
    }
    relu_sum(ctx, d, k, 0, n1, ks.data<double>());
    normalise(ctx, d, q, ks.data<double>(), n0, n1, eps, w.out.data<float>());
  }
  return w.out;
}

}  // namespace sv::cuda
