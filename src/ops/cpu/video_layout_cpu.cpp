// CPU kernels for the video VAEs' data movement: (un)shuffles between space/time and channels, channel
// group means and the tiled decoder's edge blending.
#include <algorithm>

#include "ops/kernels.h"

namespace sv::cpu {
namespace {

// One kernel for both directions: `big` is [B, C, T*f0, H*f1, W*f2], `small` [B, C*S, T, H, W]; to_small
// copies big -> small (space-to-depth), else small -> big.
void shuffle(Context& ctx, const float* in, float* out, int64_t B, int64_t C, int64_t T, int64_t H, int64_t W,
             const std::array<int64_t, 3>& f, bool width_major, bool to_small) {
  const int64_t S = f[0] * f[1] * f[2];
  const int64_t BT = T * f[0], BH = H * f[1], BW = W * f[2];
  const int64_t rows = B * C * BT * BH;  // rows of the big tensor
  ctx.parallel_for(rows, rows * BW, [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t r = pf_lo; r < pf_hi; ++r) {
      const int64_t by = r % BH, bt = (r / BH) % BT, c = (r / (BH * BT)) % C, b = r / (BH * BT * C);
      const int64_t t = bt / f[0], dt = bt % f[0], h = by / f[1], dh = by % f[1];
      const int64_t small_plane = T * H * W;
      const int64_t small_row = ((b * C + c) * S) * small_plane + (t * H + h) * W;  // channel c*S + 0
      const int64_t big_row = r * BW;
      for (int64_t bx = 0; bx < BW; ++bx) {
        const int64_t w = bx / f[2], dw = bx % f[2];
        const int64_t i = width_major ? (dt * f[2] + dw) * f[1] + dh : (dt * f[1] + dh) * f[2] + dw;
        const int64_t si = small_row + i * small_plane + w;
        if (to_small)
          out[si] = in[big_row + bx];
        else
          out[big_row + bx] = in[si];
      }
    }
  });
}

}  // namespace

Tensor space_to_depth3d(Context& ctx, const Tensor& x, const std::array<int64_t, 3>& f, bool width_major) {
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2) / f[0], H = x.size(3) / f[1], W = x.size(4) / f[2];
  Tensor y = ctx.empty({B, C * f[0] * f[1] * f[2], T, H, W});
  shuffle(ctx, x.f32(), y.f32(), B, C, T, H, W, f, width_major, true);
  return y;
}

Tensor depth_to_space3d(Context& ctx, const Tensor& x, const std::array<int64_t, 3>& f, bool width_major) {
  const int64_t S = f[0] * f[1] * f[2];
  const int64_t B = x.size(0), C = x.size(1) / S, T = x.size(2), H = x.size(3), W = x.size(4);
  Tensor y = ctx.empty({B, C, T * f[0], H * f[1], W * f[2]});
  shuffle(ctx, x.f32(), y.f32(), B, C, T, H, W, f, width_major, false);
  return y;
}

Tensor channel_group_mean(Context& ctx, const Tensor& x, int64_t g) {
  Shape shape = x.shape();
  const int64_t B = shape[0], C = shape[1] / g, S = x.numel() / std::max<int64_t>(1, shape[0] * shape[1]);
  shape[1] = C;
  Tensor y = ctx.empty(shape);
  const float* xp = x.f32();
  float* yp = y.f32();
  const float inv = 1.0f / static_cast<float>(g);
  ctx.parallel_for(B * C, x.numel(), [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t bc = pf_lo; bc < pf_hi; ++bc) {
      const float* src = xp + bc * g * S;
      float* dst = yp + bc * S;
      for (int64_t s = 0; s < S; ++s) {
        float acc = 0.0f;
        for (int64_t q = 0; q < g; ++q) acc += src[q * S + s];
        dst[s] = acc * inv;
      }
    }
  });
  return y;
}

void blend_edge_(Context& ctx, Tensor& dst, const Tensor& src, int64_t e, int64_t dim) {
  const int64_t B = dst.size(0) * dst.size(1) * dst.size(2);  // planes
  const int64_t H = dst.size(3), W = dst.size(4), sH = src.size(3), sW = src.size(4);
  float* dp = dst.f32();
  const float* sp = src.f32();
  // torch: a * (1 - y / e) + b * (y / e) with the Python-double weights rounded to float.
  std::vector<float> wa(static_cast<size_t>(e)), wb(static_cast<size_t>(e));
  for (int64_t y = 0; y < e; ++y) {
    wa[y] = static_cast<float>(1.0 - static_cast<double>(y) / static_cast<double>(e));
    wb[y] = static_cast<float>(static_cast<double>(y) / static_cast<double>(e));
  }
  ctx.parallel_for(B, B * e * (dim == 3 ? W : H), [&](int64_t pf_lo, int64_t pf_hi) {
    for (int64_t p = pf_lo; p < pf_hi; ++p) {
      float* d = dp + p * H * W;
      const float* s = sp + p * sH * sW;
      if (dim == 3) {
        for (int64_t y = 0; y < e; ++y)
          for (int64_t x = 0; x < W; ++x) d[y * W + x] = s[(sH - e + y) * sW + x] * wa[y] + d[y * W + x] * wb[y];
      } else {
        for (int64_t y = 0; y < H; ++y)
          for (int64_t x = 0; x < e; ++x) d[y * W + x] = s[y * sW + sW - e + x] * wa[x] + d[y * W + x] * wb[x];
      }
    }
  });
}

}  // namespace sv::cpu
