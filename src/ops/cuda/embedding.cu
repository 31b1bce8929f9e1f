// Embeddings and layout kernels: timestep features, token lookup, rotate-half RoPE, patchify and
// its inverse.
#include <cmath>

#include "ops/cuda/cuda_common.cuh"

namespace sv::cuda {
namespace {
constexpr int kT = 256;

__global__ void temb_kernel(const float* t, const float* freq, float* y, int64_t M, int64_t half, bool flip) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= M * half) return;
  const int64_t m = i / half, j = i % half;
  const float a = t[m] * freq[j];
  float* row = y + m * 2 * half;
  row[flip ? half + j : j] = sinf(a);
  row[flip ? j : half + j] = cosf(a);
}

template <typename T>
__global__ void embed_kernel(const int64_t* ids, const T* table, float* y, int64_t rows, int64_t D, float scale) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= rows * D) return;
  const int64_t r = i / D, d = i % D;
  y[i] = load_f(table, ids[r] * D + d) * scale;
}

__global__ void rope_half_kernel(const float* x, const float* c, const float* s, float* y, int64_t L, int64_t D,
                                 int64_t Dh, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // over B*L*H*half
  if (i >= total) return;
  const int64_t half = Dh / 2, j = i % half, rest = i / half, heads = D / Dh, h = rest % heads, r = rest / heads;
  const int64_t l = r % L;
  const float* a = x + r * D + h * Dh;
  float* o = y + r * D + h * Dh;
  const float cc = c[l * half + j], ss = s[l * half + j];
  o[j] = a[j] * cc - a[j + half] * ss;
  o[j + half] = a[j + half] * cc + a[j] * ss;
}

// cols[r, k] with k over the weight's [C, pt, ph, pw] flattening.
__global__ void im2col_patch(const float* x, float* cols, int64_t Cin, int64_t F, int64_t H, int64_t W, int64_t pt,
                             int64_t ph, int64_t pw, int64_t Hp, int64_t Wp, int64_t N, int64_t K, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int64_t k = i % K, r = i / K, bi = r / N, n = r % N;
  const int64_t f = n / (Hp * Wp), hh = (n / Wp) % Hp, ww = n % Wp;
  const int64_t iw = k % pw, ih = (k / pw) % ph, it = (k / (pw * ph)) % pt, c = k / (pw * ph * pt);
  cols[i] = x[(((bi * Cin + c) * F + f * pt + it) * H + hh * ph + ih) * W + ww * pw + iw];
}

__global__ void unpatchify_kernel(const float* x, float* y, int64_t N, int64_t E, int64_t C, int64_t Hp, int64_t Wp,
                                  int64_t pt, int64_t ph, int64_t pw, int64_t total) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // over x's elements
  if (i >= total) return;
  const int64_t e = i % E, r = i / E, bi = r / N, n = r % N;
  const int64_t f = n / (Hp * Wp), hh = (n / Wp) % Hp, ww = n % Wp;
  const int64_t c = e % C, p = e / C, iw = p % pw, ih = (p / pw) % ph, it = p / (pw * ph);
  const int64_t F = (N / (Hp * Wp)) * pt, H = Hp * ph, W = Wp * pw;
  y[(((bi * C + c) * F + f * pt + it) * H + hh * ph + ih) * W + ww * pw + iw] = x[i];
}
}  // namespace

Tensor timestep_embedding(Context& ctx, const Tensor& t, int64_t dim, bool flip, float shift) {
  const int64_t M = t.size(0), half = dim / 2;
  // The frequencies exactly as the CPU computes them (host float math), then uploaded.
  std::vector<float> freq(static_cast<size_t>(half));
  const float neg_log = static_cast<float>(-std::log(10000.0));
  const float denom = static_cast<float>(half) - shift;
  for (int64_t i = 0; i < half; ++i) freq[i] = std::exp((neg_log * static_cast<float>(i)) / denom);
  const Tensor f = ctx.to_device(Tensor::from_vector(freq, {half}));
  Tensor y = ctx.empty({M, dim});
  if (M * half)
    temb_kernel<<<blocks_for(M * half, kT), kT, 0, stream(ctx)>>>(t.data<float>(), f.data<float>(), y.data<float>(), M,
                                                                  half, flip);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor embedding(Context& ctx, const Tensor& ids_host, const Tensor& table, float scale) {
  const int64_t B = ids_host.size(0), L = ids_host.size(1), D = table.size(1), n = B * L * D;
  const Tensor ids = ctx.to_device(ids_host);  // validated on the host by the op entry
  Tensor y = ctx.empty({B, L, D});
  if (n) {
    const unsigned g = blocks_for(n, kT);
    switch (table.dtype()) {
      case DType::F32:
        embed_kernel<<<g, kT, 0, stream(ctx)>>>(ids.data<int64_t>(), table.data<float>(), y.data<float>(), B * L, D, scale);
        break;
      case DType::BF16:
        embed_kernel<<<g, kT, 0, stream(ctx)>>>(ids.data<int64_t>(), table.data<__nv_bfloat16>(), y.data<float>(), B * L,
                                                D, scale);
        break;
      default:
        embed_kernel<<<g, kT, 0, stream(ctx)>>>(ids.data<int64_t>(), table.data<__half>(), y.data<float>(), B * L, D,
                                                scale);
    }
  }
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor rope_half(Context& ctx, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t heads) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2), Dh = D / heads, total = B * L * heads * (Dh / 2);
  Tensor y = ctx.empty(x.shape());
  if (total)
    rope_half_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), cos.data<float>(), sin.data<float>(),
                                                                    y.data<float>(), L, D, Dh, total);
  SV_CUDA_LAUNCHED();
  return y;
}

Tensor patch_embed(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t B = x.size(0), Cin = x.size(1), F = x.size(2), H = x.size(3), W = x.size(4);
  const int64_t D = w.size(0), pt = w.size(2), ph = w.size(3), pw = w.size(4);
  const int64_t Fp = F / pt, Hp = H / ph, Wp = W / pw, N = Fp * Hp * Wp, K = Cin * pt * ph * pw;
  Tensor cols = ctx.empty({B, N, K});
  const int64_t total = B * N * K;
  if (total)
    im2col_patch<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), cols.data<float>(), Cin, F, H, W, pt,
                                                                ph, pw, Hp, Wp, N, K, total);
  SV_CUDA_LAUNCHED();
  return cuda::linear(ctx, cols, w.reshape({D, K}), b, ops::Act::None);
}

Tensor unpatchify(Context& ctx, const Tensor& x, int64_t Fp, int64_t Hp, int64_t Wp, int64_t pt, int64_t ph, int64_t pw) {
  const int64_t B = x.size(0), N = x.size(1), E = x.size(2), C = E / (pt * ph * pw);
  Tensor y = ctx.empty({B, C, Fp * pt, Hp * ph, Wp * pw});
  const int64_t total = x.numel();
  if (total)
    unpatchify_kernel<<<blocks_for(total, kT), kT, 0, stream(ctx)>>>(x.data<float>(), y.data<float>(), N, E, C, Hp, Wp,
                                                                     pt, ph, pw, total);
  SV_CUDA_LAUNCHED();
  return y;
}

}  // namespace sv::cuda
