// CPU convolution kernels for the DiT (patchify GEMM, channels-last depthwise + GLU, temporal GEMMs).
#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/cpu/act.h"
#include "ops/cpu/blas.h"
#include "ops/kernels.h"

namespace sv::cpu {

Tensor patch_embed(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t B = x.size(0), Cin = x.size(1), F = x.size(2), H = x.size(3), W = x.size(4);
  const int64_t D = w.size(0), pt = w.size(2), ph = w.size(3), pw = w.size(4);
  const int64_t Fp = F / pt, Hp = H / ph, Wp = W / pw, N = Fp * Hp * Wp, K = Cin * pt * ph * pw;
  // im2col: column index follows the weight's [C, pt, ph, pw] flattening.
  Tensor cols = ctx.empty({B * N, K});
  const float* xp = x.f32();
  float* cp = cols.f32();
  ctx.parallel_for(B * N, B * N * K, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const int64_t bi = r / N, n = r % N, f = n / (Hp * Wp), hh = (n / Wp) % Hp, ww = n % Wp;
      float* col = cp + r * K;
      for (int64_t c = 0; c < Cin; ++c)
        for (int64_t it = 0; it < pt; ++it)
          for (int64_t ih = 0; ih < ph; ++ih) {
            const float* src = xp + (((bi * Cin + c) * F + f * pt + it) * H + hh * ph + ih) * W + ww * pw;
            for (int64_t iw = 0; iw < pw; ++iw) *col++ = src[iw];
          }
    }
  });
  Tensor y = ctx.empty({B, N, D});
  float* yp = y.f32();
  const float* bp = b.f32();
  for (int64_t r = 0; r < B * N; ++r) std::copy(bp, bp + D, yp + r * D);
  sgemm(ctx, false, true, B * N, D, K, 1.0f, cp, K, w.f32(), K, 1.0f, yp, D);
  return y;
}

Tensor unpatchify(Context& ctx, const Tensor& x, int64_t Fp, int64_t Hp, int64_t Wp, int64_t pt, int64_t ph, int64_t pw) {
  const int64_t B = x.size(0), N = x.size(1), E = x.size(2), C = E / (pt * ph * pw);
  const int64_t F = Fp * pt, H = Hp * ph, W = Wp * pw;
  Tensor y = ctx.empty({B, C, F, H, W});
  const float* xp = x.f32();
  float* yp = y.f32();
  ctx.parallel_for(B * N, B * N * E, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const int64_t bi = r / N, n = r % N, f = n / (Hp * Wp), hh = (n / Wp) % Hp, ww = n % Wp;
      const float* row = xp + r * E;
      for (int64_t it = 0; it < pt; ++it)
        for (int64_t ih = 0; ih < ph; ++ih)
          for (int64_t iw = 0; iw < pw; ++iw) {
            const float* e = row + ((it * ph + ih) * pw + iw) * C;
            for (int64_t c = 0; c < C; ++c)
              yp[(((bi * C + c) * F + f * pt + it) * H + hh * ph + ih) * W + ww * pw + iw] = e[c];
          }
    }
  });
  return y;
}

Tensor depthwise_conv3x3_glu(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C2 = x.size(3), C = C2 / 2;
  // Tap-major weights so the inner loop runs over contiguous channels.
  std::vector<float> taps(static_cast<size_t>(9 * C2));
  const float* wp = w.f32();
  for (int64_t c = 0; c < C2; ++c)
    for (int64_t t = 0; t < 9; ++t) taps[t * C2 + c] = wp[c * 9 + t];
  Tensor y = ctx.empty({B, H, W, C});
  const float *xp = x.f32(), *bp = b.f32();
  float* yp = y.f32();
  ctx.parallel_for(B * H, B * H * W * C2 * 9, [&](int64_t r0, int64_t r1) {
    std::vector<float> acc(static_cast<size_t>(C2));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t bi = r / H, yy = r % H;
      for (int64_t xx = 0; xx < W; ++xx) {
        std::copy(bp, bp + C2, acc.begin());
        for (int64_t ky = 0; ky < 3; ++ky) {
          const int64_t sy = yy + ky - 1;
          if (sy < 0 || sy >= H) continue;
          for (int64_t kx = 0; kx < 3; ++kx) {
            const int64_t sx = xx + kx - 1;
            if (sx < 0 || sx >= W) continue;
            const float* src = xp + ((bi * H + sy) * W + sx) * C2;
            const float* tw = taps.data() + (ky * 3 + kx) * C2;
            for (int64_t c = 0; c < C2; ++c) acc[c] += tw[c] * src[c];
          }
        }
        float* dst = yp + ((bi * H + yy) * W + xx) * C;
        glu_silu_rows(dst, acc.data(), acc.data() + C, C);
      }
    }
  });
  return y;
}

Tensor temporal_conv3_residual(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& left,
                               const std::vector<int64_t>& cut) {
  const int64_t B = x.size(0), F = x.size(1), P = x.size(2), D = x.size(3);
  // Split the [D_out, D_in, 3, 1] kernel into three dense [D_out, D_in] matrices, one per frame offset.
  std::vector<float> wk(static_cast<size_t>(3 * D * D));
  const Tensor wf = widen(ctx, w);
  const float* wp = wf.f32();
  ctx.parallel_for(D, D * D * 3, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t o = pf_lo; o < pf_hi; ++o)
      for (int64_t i = 0; i < D; ++i)
        for (int64_t t = 0; t < 3; ++t) wk[(t * D + o) * D + i] = wp[(o * D + i) * 3 + t];
  });
  Tensor y = ctx.empty(x.shape());
  const float* xp = x.f32();
  float* yp = y.f32();
  std::memcpy(yp, xp, x.nbytes());
  // Frame ranges [f0, f1) of output frames whose right neighbour is visible: every frame but the
  // last one of the sequence and of each chunk.
  std::vector<int64_t> ends(cut.begin(), cut.end());
  ends.push_back(F);
  for (int64_t b = 0; b < B; ++b) {
    auto tap = [&](int64_t t, int64_t f0, int64_t f1) {  // output frames [f0, f1) read frame f + t - 1
      if (f1 > f0)
        sgemm(ctx, false, true, (f1 - f0) * P, D, D, 1.0f, xp + ((b * F + f0 + t - 1) * P) * D, D, wk.data() + t * D * D, D,
              1.0f, yp + ((b * F + f0) * P) * D, D);
    };
    tap(0, 1, F);
    tap(1, 0, F);
    int64_t start = 0;
    for (int64_t e : ends) {
      tap(2, start, e - 1);
      start = e;
    }
    if (left.defined())
      sgemm(ctx, false, true, P, D, D, 1.0f, left.f32() + b * P * D, D, wk.data(), D, 1.0f, yp + (b * F * P) * D, D);
  }
  return y;
}

}  // namespace sv::cpu
