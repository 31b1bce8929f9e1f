// CPU kernels for the video VAE. conv3d is im2col + SGEMM per output frame, tiled over output rows
// so the column buffer stays small at 480p (Cin*27 x tile pixels).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu/act.h"
#include "ops/cpu/blas.h"
#include "ops/kernels.h"

namespace sv::cpu {

namespace {

// The input's frames as consecutive time parts, each contiguous [B, Cin, n, H, W]: the conv reads the
// concatenation without it being materialised.
struct TimeParts {
  std::vector<const float*> ptr;
  std::vector<int64_t> start, len;
  int64_t T = 0, plane = 0;
  // x[bi, c, t] as a pointer to an H x W plane (t within [0, T)).
  const float* frame(int64_t bi, int64_t c, int64_t t, int64_t Cin) const {
    size_t i = 0;
    while (i + 1 < ptr.size() && t >= start[i + 1]) ++i;
    return ptr[i] + ((bi * Cin + c) * len[i] + (t - start[i])) * plane;
  }
};

Tensor conv3d_parts(Context& ctx, const TimeParts& xs, int64_t B, int64_t Cin, int64_t H, int64_t W, const Tensor& w_in,
                    const Tensor& b, const std::array<int64_t, 3>& stride, const std::array<int64_t, 3>& pad,
                    ops::Padding spatial) {
  const int64_t T = xs.T;
  const bool reflect = spatial == ops::Padding::Reflect;
  // Source index of a padded coordinate, or -1 for a zero.
  auto src = [reflect](int64_t i, int64_t n) -> int64_t {
    if (i >= 0 && i < n) return i;
    if (!reflect) return -1;
    return i < 0 ? -i : 2 * (n - 1) - i;
  };
  const int64_t Co = w_in.size(0), kt = w_in.size(2), kh = w_in.size(3), kw = w_in.size(4);
  const int64_t To = (T + 2 * pad[0] - kt) / stride[0] + 1, Ho = (H + 2 * pad[1] - kh) / stride[1] + 1,
                Wo = (W + 2 * pad[2] - kw) / stride[2] + 1;
  const int64_t K = Cin * kt * kh * kw, P = Ho * Wo;
  const Tensor w = widen(ctx, w_in);
  Tensor y = ctx.empty({B, Co, To, Ho, Wo});
  const float* wp = w.f32();
  const float* bp = b.defined() ? b.f32() : nullptr;
  float* yp = y.f32();
  const bool pointwise = kt == 1 && kh == 1 && kw == 1 && stride[1] == 1 && stride[2] == 1 && pad[1] == 0 && pad[2] == 0;
  // Rows per tile: keep the column buffer around 16 MiB.
  const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(Ho, (int64_t(4) << 20) / std::max<int64_t>(1, K * Wo)));
  std::vector<float> cols(pointwise ? 0 : static_cast<size_t>(K * rows * Wo));
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t to = 0; to < To; ++to) {
      float* ybase = yp + (bi * Co * To + to) * P;  // y[bi, :, to] has row stride To*P
      const int64_t ldy = To * P;
      if (bp)
        for (int64_t co = 0; co < Co; ++co) std::fill(ybase + co * ldy, ybase + co * ldy + P, bp[co]);
      const int64_t ti = to * stride[0] - pad[0];
      if (pointwise) {
        if (ti < 0 || ti >= T) continue;
        // x[bi, :, ti] is [Cin, P] with a row stride of its part's frames * H * W.
        const float* x0 = xs.frame(bi, 0, ti, Cin);
        const int64_t ldx = Cin > 1 ? xs.frame(bi, 1, ti, Cin) - x0 : P;
        sgemm(ctx, false, false, Co, P, Cin, 1.0f, wp, Cin, x0, ldx, bp ? 1.0f : 0.0f, ybase, ldy);
        continue;
      }
      if (!bp)
        for (int64_t co = 0; co < Co; ++co) std::fill(ybase + co * ldy, ybase + co * ldy + P, 0.0f);
      for (int64_t r0 = 0; r0 < Ho; r0 += rows) {
        const int64_t nr = std::min(rows, Ho - r0), np = nr * Wo;
        ctx.parallel_for(K, K * np, [&](int64_t pf_lo, int64_t pf_hi) {
          for (int64_t k = pf_lo; k < pf_hi; ++k) {
            const int64_t c = k / (kt * kh * kw), a = (k / (kh * kw)) % kt, dy = (k / kw) % kh, dx = k % kw;
            const int64_t t = ti + a;
            float* dst = cols.data() + k * np;
            if (t < 0 || t >= T) {
              std::fill(dst, dst + np, 0.0f);
              continue;
            }
            const float* plane = xs.frame(bi, c, t, Cin);
            for (int64_t r = 0; r < nr; ++r) {
              const int64_t yy = src((r0 + r) * stride[1] - pad[1] + dy, H);
              float* d = dst + r * Wo;
              if (yy < 0) {
                std::fill(d, d + Wo, 0.0f);
                continue;
              }
              const float* row = plane + yy * W;
              if (stride[2] == 1) {  // interior as one copy, the (at most pad) border columns by rule
                const int64_t lo = std::max<int64_t>(0, pad[2] - dx), hi = std::min<int64_t>(Wo, W + pad[2] - dx);
                for (int64_t xo = 0; xo < std::min(lo, Wo); ++xo) {
                  const int64_t xx = src(xo - pad[2] + dx, W);
                  d[xo] = xx >= 0 ? row[xx] : 0.0f;
                }
                if (hi > lo) std::memcpy(d + lo, row + lo - pad[2] + dx, static_cast<size_t>(hi - lo) * sizeof(float));
                for (int64_t xo = std::max(hi, lo); xo < Wo; ++xo) {
                  const int64_t xx = src(xo - pad[2] + dx, W);
                  d[xo] = xx >= 0 ? row[xx] : 0.0f;
                }
                continue;
              }
              for (int64_t xo = 0; xo < Wo; ++xo) {
                const int64_t xx = src(xo * stride[2] - pad[2] + dx, W);
                d[xo] = xx >= 0 ? row[xx] : 0.0f;
              }
            }
          }
        });
        sgemm(ctx, false, false, Co, np, K, 1.0f, wp, K, cols.data(), np, 1.0f, ybase + r0 * Wo, ldy);
      }
    }
  return y;
}

}  // namespace

Tensor conv3d(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, const std::array<int64_t, 3>& stride,
              const std::array<int64_t, 3>& pad, ops::Padding spatial) {
  TimeParts xs;
  xs.ptr = {x.f32()}, xs.start = {0}, xs.len = {x.size(2)};
  xs.T = x.size(2), xs.plane = x.size(3) * x.size(4);
  return conv3d_parts(ctx, xs, x.size(0), x.size(1), x.size(3), x.size(4), w, b, stride, pad, spatial);
}

Tensor conv3d_frames(Context& ctx, const std::vector<Tensor>& parts, const Tensor& w, const Tensor& b, int64_t pad_hw,
                     ops::Padding spatial) {
  const Tensor& x = parts[0];
  TimeParts xs;
  xs.plane = x.size(3) * x.size(4);
  for (const Tensor& p : parts) {
    xs.ptr.push_back(p.f32());
    xs.start.push_back(xs.T);
    xs.len.push_back(p.size(2));
    xs.T += p.size(2);
  }
  return conv3d_parts(ctx, xs, x.size(0), x.size(1), x.size(3), x.size(4), w, b, {1, 1, 1}, {0, pad_hw, pad_hw}, spatial);
}

Tensor upsample_nearest2x(Context& ctx, const Tensor& x) {
  const int64_t N = x.size(0) * x.size(1) * x.size(2), H = x.size(3), W = x.size(4);
  Tensor y = ctx.empty({x.size(0), x.size(1), x.size(2), 2 * H, 2 * W});
  const float* xp = x.f32();
  float* yp = y.f32();
  ctx.parallel_for(N * H, N * H * W * 4, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const float* src = xp + r * W;
      float* d0 = yp + (r / H) * 4 * H * W + (r % H) * 2 * (2 * W);
      for (int64_t i = 0; i < W; ++i) d0[2 * i] = d0[2 * i + 1] = src[i];
      std::memcpy(d0 + 2 * W, d0, static_cast<size_t>(2 * W) * sizeof(float));
    }
  });
  return y;
}

Tensor channel_rms_norm(Context& ctx, const Tensor& x, const Tensor& gamma) {
  const int64_t B = x.size(0), C = x.size(1), S = x.numel() / std::max<int64_t>(1, B * C);
  Tensor y = ctx.empty(x.shape());
  const float *xp = x.f32(), *gp = gamma.f32();
  float* yp = y.f32();
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(C)));
  constexpr int64_t kBlock = 256;  // positions per task; the channel loop strides by S
  ctx.parallel_for(B * ((S + kBlock - 1) / kBlock), B * C * S, [&](int64_t t0, int64_t t1) {
    std::vector<double> ss(kBlock);
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t bi = task / ((S + kBlock - 1) / kBlock), s0 = (task % ((S + kBlock - 1) / kBlock)) * kBlock;
      const int64_t n = std::min(kBlock, S - s0);
      std::fill(ss.begin(), ss.begin() + n, 0.0);
      for (int64_t c = 0; c < C; ++c) {
        const float* p = xp + (bi * C + c) * S + s0;
        for (int64_t i = 0; i < n; ++i) ss[i] += static_cast<double>(p[i]) * p[i];
      }
      for (int64_t i = 0; i < n; ++i) ss[i] = 1.0 / std::max(std::sqrt(ss[i]), 1e-12);
      for (int64_t c = 0; c < C; ++c) {
        const float* p = xp + (bi * C + c) * S + s0;
        float* q = yp + (bi * C + c) * S + s0;
        const float g = gp[c];
        for (int64_t i = 0; i < n; ++i) q[i] = static_cast<float>(p[i] * ss[i]) * scale * g;
      }
    }
  });
  return y;
}

Tensor channel_rms_norm_act(Context& ctx, const Tensor& x, float eps, ops::Act act) {
  const int64_t B = x.size(0), C = x.size(1), S = x.numel() / std::max<int64_t>(1, B * C);
  Tensor y = ctx.empty(x.shape());
  const float* xp = x.f32();
  float* yp = y.f32();
  constexpr int64_t kBlock = 256;  // positions per task; the channel loop strides by S
  const int64_t per_b = (S + kBlock - 1) / kBlock;
  ctx.parallel_for(B * per_b, B * C * S, [&](int64_t t0, int64_t t1) {
    std::vector<double> ss(kBlock);
    std::vector<float> rms(kBlock);
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t bi = task / per_b, s0 = (task % per_b) * kBlock, n = std::min(kBlock, S - s0);
      std::fill(ss.begin(), ss.begin() + n, 0.0);
      for (int64_t c = 0; c < C; ++c) {
        const float* p = xp + (bi * C + c) * S + s0;
        for (int64_t i = 0; i < n; ++i) ss[i] += static_cast<double>(p[i] * p[i]);
      }
      // torch: x / sqrt(mean(x**2) + eps), each step in float
      for (int64_t i = 0; i < n; ++i) rms[i] = std::sqrt(static_cast<float>(ss[i] / static_cast<double>(C)) + eps);
      for (int64_t c = 0; c < C; ++c) {
        const float* p = xp + (bi * C + c) * S + s0;
        float* q = yp + (bi * C + c) * S + s0;
        for (int64_t i = 0; i < n; ++i) q[i] = p[i] / rms[i];
      }
    }
  });
  if (act != ops::Act::None) apply_act_inplace(ctx, yp, y.numel(), act);
  return y;
}

Tensor clamp(Context& ctx, const Tensor& x, float lo, float hi) {
  Tensor y = ctx.empty(x.shape());
  const float* xp = x.f32();
  float* yp = y.f32();
  const int64_t n = x.numel();
  ctx.parallel_for(n, n, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t i = pf_lo; i < pf_hi; ++i) yp[i] = std::min(hi, std::max(lo, xp[i]));
  });
  return y;
}

}  // namespace sv::cpu
