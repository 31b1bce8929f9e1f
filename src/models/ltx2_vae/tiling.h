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
// The settings and every tile of h x w latents (diffusers' grid: a last tile one latent wide cannot take
// the decoder's reflect padding).
void check_tile_grid(const AutoencoderKLLTX2Video& vae, int64_t h, int64_t w, const VaeTiling& t);
// z on ctx's device as a tensor of the stream's own (copied when it would share the caller's buffer).
Tensor own_latents(Context& ctx, const Tensor& z);

}  // namespace sv::ltx2_vae
