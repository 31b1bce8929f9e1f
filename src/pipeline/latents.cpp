#include "pipeline/latents.h"

#include "core/error.h"

namespace sv::pipeline {
namespace {
template <class F>
void per_channel(const wan_vae::Config& vc, Tensor& z, F&& f) {
  SV_CHECK(z.dim() == 5 && z.size(1) == vc.z_dim && z.is_contiguous(), "latents must be contiguous [B, ", vc.z_dim,
           ", T, h, w], got ", shape_str(z.shape()));
  const int64_t B = z.size(0), C = z.size(1), S = z.numel() / (B * C);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const float inv = 1.0f / static_cast<float>(vc.latents_std[c]), mean = static_cast<float>(vc.latents_mean[c]);
      float* p = z.f32() + (b * C + c) * S;
      for (int64_t k = 0; k < S; ++k) p[k] = f(p[k], inv, mean);
    }
}
}  // namespace

Tensor denormalise_latents(const wan_vae::Config& vc, const Tensor& z_in) {
  Tensor z = z_in.clone();
  per_channel(vc, z, [](float v, float inv, float mean) { return v / inv + mean; });
  return z;
}

void normalise_latents_(const wan_vae::Config& vc, Tensor& z) {
  per_channel(vc, z, [](float v, float inv, float mean) { return (v - mean) * inv; });
}

}  // namespace sv::pipeline
