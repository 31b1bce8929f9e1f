// Fused softmax attention for bf16 contexts (FlashAttention's online softmax): SANA-Video 2.0's anchor
// layers attend over every token of the video (2 x 23,000 at 720p with CFG) with head dim 256, where the
// unfused path would write and read a [heads, rows, L] fp32 score buffer per row chunk. One block owns
// 64 query rows of one head: Q, then each 64-key tile of K and V, are converted to bf16 into shared
// memory; S = Q K^T and O += P V run on tensor cores (WMMA bf16, fp32 accumulation); the running row max
// and sum, S and O stay in fp32 in shared memory, so the scores never reach global memory.
#include <mma.h>

#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {

namespace wmma = nvcuda::wmma;

constexpr int kRows = 64, kKeys = 64, kThreads = 256, kWarps = kThreads / 32;
constexpr int kPadH = 8, kPadF = 4;  // row padding (bf16 / fp32 elements): WMMA's ldm rules, fewer bank conflicts

template <int C>
struct Smem {
  static constexpr int ldh = C + kPadH, ldo = C + kPadF, lds = kKeys + kPadF, ldp = kKeys + kPadH;
  static constexpr size_t q = size_t(kRows) * ldh * 2, k = size_t(kKeys) * ldh * 2, v = k;
  static constexpr size_t s = size_t(kRows) * lds * 4, p = size_t(kRows) * ldp * 2, o = size_t(kRows) * ldo * 4;
  static constexpr size_t stats = size_t(3) * kRows * 4;
  static constexpr size_t bytes = q + k + v + s + p + o + stats;
};

// rows x C floats (row stride ld) from global memory into bf16 shared memory; rows past `valid` are zero.
template <int C>
__device__ void load_tile(__nv_bfloat16* dst, const float* src, int64_t ld, int rows, int valid) {
  constexpr int vecs = C / 4;
  for (int i = threadIdx.x; i < rows * vecs; i += kThreads) {
    const int r = i / vecs, c = (i % vecs) * 4;
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
    if (r < valid) x = *reinterpret_cast<const float4*>(src + r * ld + c);
    __nv_bfloat162* d = reinterpret_cast<__nv_bfloat162*>(dst + r * Smem<C>::ldh + c);
    d[0] = __floats2bfloat162_rn(x.x, x.y);
    d[1] = __floats2bfloat162_rn(x.z, x.w);
  }
}

// q, k, v, o: [B, N or L, heads * C] fp32, contiguous. Grid (query tiles, heads, B).
template <int C>
__global__ void __launch_bounds__(kThreads) flash_attention_kernel(const float* __restrict__ q, const float* __restrict__ k,
                                                                   const float* __restrict__ v, float* __restrict__ o,
                                                                   int64_t N, int64_t L, int heads, float scale_log2) {
  using S = Smem<C>;
  extern __shared__ __align__(128) unsigned char smem[];
  auto* Qs = reinterpret_cast<__nv_bfloat16*>(smem);
  auto* Ks = reinterpret_cast<__nv_bfloat16*>(smem + S::q);
  auto* Vs = reinterpret_cast<__nv_bfloat16*>(smem + S::q + S::k);
  auto* Ss = reinterpret_cast<float*>(smem + S::q + S::k + S::v);
  auto* Ps = reinterpret_cast<__nv_bfloat16*>(smem + S::q + S::k + S::v + S::s);
  auto* Os = reinterpret_cast<float*>(smem + S::q + S::k + S::v + S::s + S::p);
  float* row_max = reinterpret_cast<float*>(smem + S::q + S::k + S::v + S::s + S::p + S::o);
  float* row_sum = row_max + kRows;
  float* row_alpha = row_sum + kRows;

  const int64_t D = int64_t(heads) * C, n0 = int64_t(blockIdx.x) * kRows;
  const int64_t base = int64_t(blockIdx.y) * C;  // the head's columns
  const float* qb = q + int64_t(blockIdx.z) * N * D + base;
  const float* kb = k + int64_t(blockIdx.z) * L * D + base;
  const float* vb = v + int64_t(blockIdx.z) * L * D + base;
  const int rows = static_cast<int>(N - n0 < kRows ? N - n0 : kRows);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  load_tile<C>(Qs, qb + n0 * D, D, kRows, rows);
  for (int i = threadIdx.x; i < kRows * S::ldo; i += kThreads) Os[i] = 0.f;
  for (int i = threadIdx.x; i < kRows; i += kThreads) row_max[i] = -INFINITY, row_sum[i] = 0.f;
  __syncthreads();

  for (int64_t j0 = 0; j0 < L; j0 += kKeys) {
    const int keys = static_cast<int>(L - j0 < kKeys ? L - j0 : kKeys);
    load_tile<C>(Ks, kb + j0 * D, D, kKeys, keys);
    load_tile<C>(Vs, vb + j0 * D, D, kKeys, keys);
    __syncthreads();

    // S = Q K^T: 16 tiles of 16 x 16, two per warp, over C / 16 steps.
    for (int t = warp; t < (kRows / 16) * (kKeys / 16); t += kWarps) {
      const int tr = t / (kKeys / 16), tc = t % (kKeys / 16);
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int kk = 0; kk < C; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b;  // K^T
        wmma::load_matrix_sync(a, Qs + tr * 16 * S::ldh + kk, S::ldh);
        wmma::load_matrix_sync(b, Ks + tc * 16 * S::ldh + kk, S::ldh);
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(Ss + tr * 16 * S::lds + tc * 16, acc, S::lds, wmma::mem_row_major);
    }
    __syncthreads();

    // Online softmax in base 2, a warp per row, two keys per lane; the sum is of the fp32 probabilities.
    for (int r = warp; r < kRows; r += kWarps) {
      const int c0 = lane, c1 = lane + 32;
      const float s0 = c0 < keys ? Ss[r * S::lds + c0] * scale_log2 : -INFINITY;
      const float s1 = c1 < keys ? Ss[r * S::lds + c1] * scale_log2 : -INFINITY;
      float mx = fmaxf(s0, s1);
      for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float m_old = row_max[r], m_new = fmaxf(m_old, mx);
      const float p0 = exp2f(s0 - m_new), p1 = exp2f(s1 - m_new);
      float sum = p0 + p1;
      for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
      Ps[r * S::ldp + c0] = __float2bfloat16_rn(p0);
      Ps[r * S::ldp + c1] = __float2bfloat16_rn(p1);
      if (lane == 0) {
        const float alpha = exp2f(m_old - m_new);  // 0 on the first tile (m_old = -inf)
        row_alpha[r] = alpha;
        row_sum[r] = row_sum[r] * alpha + sum;
        row_max[r] = m_new;
      }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < kRows * C; i += kThreads) Os[(i / C) * S::ldo + i % C] *= row_alpha[i / C];
    __syncthreads();

    // O += P V: 4 x (C / 16) output tiles over the tile's 64 keys (zero rows of V past `keys`).
    for (int t = warp; t < (kRows / 16) * (C / 16); t += kWarps) {
      const int tr = t / (C / 16), tc = t % (C / 16);
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, Os + tr * 16 * S::ldo + tc * 16, S::ldo, wmma::mem_row_major);
      for (int kk = 0; kk < kKeys; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> b;
        wmma::load_matrix_sync(a, Ps + tr * 16 * S::ldp + kk, S::ldp);
        wmma::load_matrix_sync(b, Vs + kk * S::ldh + tc * 16, S::ldh);
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(Os + tr * 16 * S::ldo + tc * 16, acc, S::ldo, wmma::mem_row_major);
    }
    __syncthreads();
  }

  float* ob = o + int64_t(blockIdx.z) * N * D + base + n0 * D;
  for (int i = threadIdx.x; i < rows * C; i += kThreads) {
    const int r = i / C, c = i % C;
    ob[r * D + c] = Os[r * S::ldo + c] / row_sum[r];
  }
}

template <int C>
void launch(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, int64_t heads) {
  const int64_t B = q.size(0), N = q.size(1), L = k.size(1);
  constexpr size_t smem = Smem<C>::bytes;
  SV_CUDA_CHECK(cudaFuncSetAttribute(flash_attention_kernel<C>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     static_cast<int>(smem)));
  const dim3 grid(static_cast<unsigned>((N + kRows - 1) / kRows), static_cast<unsigned>(heads), static_cast<unsigned>(B));
  const float scale_log2 = 1.4426950408889634f / std::sqrt(static_cast<float>(C));
  flash_attention_kernel<C><<<grid, kThreads, smem, stream(ctx)>>>(q.data<float>(), k.data<float>(), v.data<float>(),
                                                                   out.data<float>(), N, L, static_cast<int>(heads),
                                                                   scale_log2);
  SV_CUDA_LAUNCHED();
}

}  // namespace

bool flash_attention_bf16(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, int64_t heads) {
  const int64_t C = q.size(2) / heads;
  if (q.size(1) == 0 || k.size(1) == 0 || q.size(0) > 65535 || heads > 65535) return false;
  const Tensor* all[] = {&q, &k, &v, &out};
  for (const Tensor* t : all)  // float4 loads
    if (t->dtype() != DType::F32 || !t->is_contiguous() || reinterpret_cast<uintptr_t>(t->raw()) % 16 != 0) return false;
  int major = 0, smem = 0;
  SV_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, rt(ctx).index()));
  SV_CUDA_CHECK(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, rt(ctx).index()));
  if (major < 8) return false;  // bf16 tensor cores
  const size_t need = C == 32 ? Smem<32>::bytes : C == 64 ? Smem<64>::bytes : C == 128 ? Smem<128>::bytes : Smem<256>::bytes;
  if (need > static_cast<size_t>(smem)) return false;  // head 256 takes 191 KiB: Hopper yes, A100 no
  switch (C) {
    case 32: launch<32>(ctx, q, k, v, out, heads); return true;
    case 64: launch<64>(ctx, q, k, v, out, heads); return true;
    case 128: launch<128>(ctx, q, k, v, out, heads); return true;
    case 256: launch<256>(ctx, q, k, v, out, heads); return true;
    default: return false;
  }
}

}  // namespace sv::cuda
