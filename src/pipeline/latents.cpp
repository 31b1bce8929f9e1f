#include "pipeline/latents.h"

#include "core/error.h"
#include "ops/ops.h"

namespace sv::pipeline {
namespace {
void affine(Context& ctx, const wan_vae::Config& vc, Tensor& z, bool denormalise) {
  SV_CHECK(z.dim() == 5 && z.size(1) == vc.z_dim && z.is_contiguous(), "latents must be contiguous [B, ", vc.z_dim,
           ", T, h, w], got ", shape_str(z.shape()));
  std::vector<float> mean, inv;
  for (int64_t c = 0; c < vc.z_dim; ++c) {
    inv.push_back(1.0f / static_cast<float>(vc.latents_std[c]));
    mean.push_back(static_cast<float>(vc.latents_mean[c]));
  }
  ops::latents_affine_(ctx, z, mean, inv, denormalise);
}
}  // namespace

Tensor denormalise_latents(Context& ctx, const wan_vae::Config& vc, const Tensor& z_in) {
  Tensor z = z_in.clone();
  affine(ctx, vc, z, true);
  return z;
}

void normalise_latents_(Context& ctx, const wan_vae::Config& vc, Tensor& z) { affine(ctx, vc, z, false); }

}  // namespace sv::pipeline
