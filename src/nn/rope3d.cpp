#include "nn/rope3d.h"

#include <cmath>
#include <vector>

namespace sv::nn {

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

void Rope3dCache::get(const Context& ctx, int64_t frames, int64_t height, int64_t width, int64_t frame_offset, Tensor* cos,
                      Tensor* sin) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& e : entries_)
    if (e.f == frames && e.h == height && e.w == width && e.offset == frame_offset && e.where == ctx.allocator().get()) {
      *cos = e.cos, *sin = e.sin;
      return;
    }
  Entry e{frames, height, width, frame_offset, ctx.allocator().get(), Tensor(), Tensor()};
  rope3d_tables(head_dim_, max_seq_len_, frames, height, width, &e.cos, &e.sin, frame_offset);
  e.cos = ctx.to_device(e.cos);
  e.sin = ctx.to_device(e.sin);
  *cos = e.cos, *sin = e.sin;
  if (entries_.size() >= 4) entries_.erase(entries_.begin());
  entries_.push_back(std::move(e));
}

}  // namespace sv::nn
