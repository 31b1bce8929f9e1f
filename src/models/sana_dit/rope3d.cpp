#include "models/sana_dit/rope3d.h"

#include <cmath>
#include <vector>

namespace sv::sana_dit {

void rope3d_tables(int64_t head_dim, int64_t max_seq_len, int64_t frames, int64_t height, int64_t width, Tensor* cos_out,
                   Tensor* sin_out, int64_t frame_offset) {
  const int64_t hd = 2 * (head_dim / 6), wd = hd, td = head_dim - hd - wd;
  SV_CHECK(frame_offset >= 0 && frame_offset + frames <= max_seq_len && height <= max_seq_len && width <= max_seq_len,
           "latent grid ", frames, "x", height, "x", width, " (frame offset ", frame_offset,
           ") exceeds the rotary table length rope_max_seq_len = ", max_seq_len, " per axis");
  // Per-axis half tables: angle(pos, j) = pos / 10000^(2j/dim), computed in double like torch's float64 path.
  auto axis = [](int64_t dim, int64_t n, int64_t off, std::vector<float>& c, std::vector<float>& s) {
    const int64_t half = dim / 2;
    c.assign(static_cast<size_t>(n * half), 0.0f);
    s.assign(c.size(), 0.0f);
    for (int64_t j = 0; j < half; ++j) {
      const double freq = 1.0 / std::pow(10000.0, static_cast<double>(2 * j) / static_cast<double>(dim));
      for (int64_t p = 0; p < n; ++p) {
        const double a = static_cast<double>(p + off) * freq;
        c[p * half + j] = static_cast<float>(std::cos(a));
        s[p * half + j] = static_cast<float>(std::sin(a));
      }
    }
  };
  std::vector<float> tc, ts, hc, hs, wc, ws;
  axis(td, frames, frame_offset, tc, ts);
  axis(hd, height, 0, hc, hs);
  axis(wd, width, 0, wc, ws);
  const int64_t P = head_dim / 2, N = frames * height * width, th = td / 2, hh = hd / 2, wh = wd / 2;
  *cos_out = Tensor::empty({N, P});
  *sin_out = Tensor::empty({N, P});
  float *cp = cos_out->f32(), *sp = sin_out->f32();
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        const int64_t n = (f * height + y) * width + x;
        float *c = cp + n * P, *s = sp + n * P;
        for (int64_t j = 0; j < th; ++j) c[j] = tc[f * th + j], s[j] = ts[f * th + j];
        for (int64_t j = 0; j < hh; ++j) c[th + j] = hc[y * hh + j], s[th + j] = hs[y * hh + j];
        for (int64_t j = 0; j < wh; ++j) c[th + hh + j] = wc[x * wh + j], s[th + hh + j] = ws[x * wh + j];
      }
}

}  // namespace sv::sana_dit
