#include "pipeline/binning.h"

#include <cmath>
#include <vector>

#include "core/error.h"

namespace sv::pipeline {
namespace {
struct Bin {
  const char* ratio;
  int h, w;
};
const std::vector<Bin> kBins480 = {{"0.5", 448, 896},  {"0.57", 480, 832}, {"0.68", 528, 768}, {"0.78", 560, 720},
                                   {"1.0", 624, 624},  {"1.13", 672, 592}, {"1.29", 720, 560}, {"1.46", 768, 528},
                                   {"1.67", 816, 496}, {"1.75", 832, 480}, {"2.0", 896, 448}};
const std::vector<Bin> kBins720 = {{"0.5", 672, 1344}, {"0.57", 704, 1280}, {"0.68", 800, 1152}, {"0.78", 832, 1088},
                                   {"1.0", 960, 960},  {"1.13", 1024, 896}, {"1.29", 1088, 832}, {"1.46", 1152, 800},
                                   {"1.67", 1248, 736}, {"1.75", 1280, 704}, {"2.0", 1344, 672}};
}  // namespace

std::pair<int, int> classify_height_width_bin(int height, int width, int64_t sample_size) {
  SV_CHECK(sample_size == 30 || sample_size == 22, "resolution binning needs a 480p (sample_size 30) or 720p (22) model, ",
           "this one has sample_size ", sample_size);
  const auto& bins = sample_size == 30 ? kBins480 : kBins720;
  const double ar = static_cast<double>(height) / width;
  const Bin* best = &bins[0];
  for (const Bin& b : bins)  // first minimum wins, as Python's min()
    if (std::fabs(std::stod(b.ratio) - ar) < std::fabs(std::stod(best->ratio) - ar)) best = &b;
  return {best->h, best->w};
}

Tensor resize_and_crop_frames(const Tensor& frames_in, int new_width, int new_height) {
  const Tensor frames = frames_in.to_f32();
  SV_CHECK(frames.dim() == 4, "resize_and_crop_frames: frames must be [C, n, H, W]");
  const int64_t C = frames.size(0), N = frames.size(1), H = frames.size(2), W = frames.size(3);
  if (H == new_height && W == new_width) return frames;
  const double ratio = std::max(static_cast<double>(new_height) / H, static_cast<double>(new_width) / W);
  const int64_t rw = static_cast<int64_t>(W * ratio), rh = static_cast<int64_t>(H * ratio);
  // torch upsample_bilinear2d, align_corners=False: src = (dst + 0.5) * in/out - 0.5, clamped at 0.
  const float sh = static_cast<float>(H) / static_cast<float>(rh), sw = static_cast<float>(W) / static_cast<float>(rw);
  auto src = [](int64_t d, float scale, int64_t in, int64_t* i0, int64_t* i1, float* l1) {
    float s = scale * (static_cast<float>(d) + 0.5f) - 0.5f;
    if (s < 0) s = 0;
    *i0 = std::min<int64_t>(static_cast<int64_t>(s), in - 1);
    *i1 = *i0 + (*i0 < in - 1 ? 1 : 0);
    *l1 = s - static_cast<float>(*i0);
  };
  const int64_t x0 = (rw - new_width) / 2, y0 = (rh - new_height) / 2;
  Tensor out = Tensor::empty({C, N, new_height, new_width});
  const float* in = frames.f32();
  float* o = out.f32();
  for (int64_t p = 0; p < C * N; ++p) {
    const float* plane = in + p * H * W;
    for (int64_t y = 0; y < new_height; ++y) {
      int64_t h0, h1;
      float hl1;
      src(y + y0, sh, H, &h0, &h1, &hl1);
      const float hl0 = 1.0f - hl1;
      for (int64_t x = 0; x < new_width; ++x) {
        int64_t w0, w1;
        float wl1;
        src(x + x0, sw, W, &w0, &w1, &wl1);
        const float wl0 = 1.0f - wl1;
        o[(p * new_height + y) * new_width + x] = hl0 * (wl0 * plane[h0 * W + w0] + wl1 * plane[h0 * W + w1]) +
                                                   hl1 * (wl0 * plane[h1 * W + w0] + wl1 * plane[h1 * W + w1]);
      }
    }
  }
  return out;
}

}  // namespace sv::pipeline
