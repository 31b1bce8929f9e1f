// The pipelines' latent (de)normalisation with the VAE's per-channel latents_mean / latents_std:
// the transformer works on (z - mean) / std, the decoder on z * std + mean (diffusers divides by
// 1 / std, which is what we compute, in fp32). Runs on the latents' device.
#pragma once
#include "core/context.h"
#include "core/tensor.h"
#include "models/video_vae.h"

namespace sv::pipeline {

// z [B, C, T, h, w] -> z / (1 / std) + mean, a new tensor.
Tensor denormalise_latents(Context& ctx, const VideoVae& vae, const Tensor& z);
// In place: (z - mean) * (1 / std).
void normalise_latents_(Context& ctx, const VideoVae& vae, Tensor& z);

}  // namespace sv::pipeline
