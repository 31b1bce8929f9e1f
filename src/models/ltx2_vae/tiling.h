// diffusers' spatial tiling for the LTX-2 VAE (AutoencoderKLLTX2Video.tiled_decode / tiled_encode):
// tiles decoded (encoded) whole, each blended in place with its already-blended upper and left
// neighbours over tile - stride pixels (latents), cropped to the stride and stitched.
#pragma once
#include <memory>

#include "models/ltx2_vae/ltx2_vae.h"

namespace sv::ltx2_vae {

std::unique_ptr<VideoVae::DecodeStream> make_tiled_decode_stream(const AutoencoderKLLTX2Video& vae, const VaeTiling& t);
Tensor tiled_encode_mean(Context& ctx, const AutoencoderKLLTX2Video& vae, const Tensor& x, const VaeTiling& t);
// Throws one line for tile settings the VAE cannot use (not multiples of its factor, stride > tile).
void check_tiling(const AutoencoderKLLTX2Video& vae, const VaeTiling& t);

}  // namespace sv::ltx2_vae
