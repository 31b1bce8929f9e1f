#include "pipeline/latents.h"

#include "core/error.h"
#include "ops/ops.h"

namespace sv::pipeline {
namespace {
void affine(Context& ctx, const VideoVae& vae, Tensor& z, bool denormalise) {
  const int64_t C = vae.info().latent_channels;
  SV_CHECK(z.dim() == 5 && z.size(1) == C && z.is_contiguous(), "latents must be contiguous [B, ", C,
           ", T, h, w], got ", shape_str(z.shape()));
  std::vector<float> mean, inv;
  for (int64_t c = 0; c < C; ++c) {
    inv.push_back(1.0f / static_cast<float>(vae.latents_std()[c]));
    mean.push_back(static_cast<float>(vae.latents_mean()[c]));
  }
  ops::latents_affine_(ctx, z, mean, inv, denormalise);
}
}  // namespace

Tensor denormalise_latents(Context& ctx, const VideoVae& vae, const Tensor& z_in) {
  Tensor z = z_in.clone();
  affine(ctx, vae, z, true);
  return z;
}

void normalise_latents_(Context& ctx, const VideoVae& vae, Tensor& z) { affine(ctx, vae, z, false); }

}  // namespace sv::pipeline
