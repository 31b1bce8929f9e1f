// What a pipeline needs from a video VAE, whichever it is (Wan2.1 for 480p, LTX-2 for 720p): its
// factors and latent statistics, the posterior mean of an encode, and a streaming decode. A new VAE
// is a new folder under models/ implementing this, chosen by its config's _class_name in load().
#pragma once
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/context.h"

namespace sv {

// diffusers' enable_tiling(): spatial tiles of tile_* pixels every stride_* pixels, blended linearly.
struct VaeTiling {
  bool enabled = false;
  int64_t tile_height = 512, tile_width = 512, stride_height = 448, stride_width = 448;
  // Square tiles as the CLI and the C API take them: 0 = diffusers' 512 px tile, stride min(448, tile).
  static VaeTiling square(bool enabled, int64_t tile, int64_t stride) {
    VaeTiling t;
    t.enabled = enabled;
    if (tile > 0) t.tile_height = t.tile_width = tile;
    t.stride_height = t.stride_width = stride > 0 ? stride : std::min<int64_t>(448, t.tile_width);
    return t;
  }
};

class VideoVae {
 public:
  struct Info {
    std::string class_name;
    int64_t latent_channels = 0, image_channels = 3;
    int64_t temporal_factor = 1, spatial_factor = 1;  // frames = 1 + temporal (T - 1), pixels = spatial x latents
    bool clamps_output = false;                       // decode() clamps to [-1, 1] itself (Wan)
    bool supports_tiling = false;
  };

  // Receives finished video frames [B, C, n, H, W] on the decoding device, in order.
  using FrameSink = std::function<void(const Tensor& frames)>;
  // A decode in progress: latent frames in (a chunk at a time, in order), finished video frames out.
  class DecodeStream {
   public:
    virtual ~DecodeStream() = default;
    // z [B, C, t, h, w] (de-normalised; undefined = no frames). The frames this makes final go to `sink`
    // as they are produced (any number of calls, possibly none); `last` ends the clip and flushes
    // everything still pending; a push after that is an error. z is copied if the stream keeps it.
    virtual void push(Context& ctx, const Tensor& z, bool last, const FrameSink& sink) = 0;
    virtual size_t cache_bytes() const = 0;
  };

  virtual ~VideoVae() = default;
  // The VAE folder (config.json + weights), its class taken from config.json. `place`: the context whose
  // device holds the weights (null: the host).
  static std::unique_ptr<VideoVae> load(const std::string& dir, const Context* place = nullptr);

  virtual const Info& info() const = 0;
  // Throws when the config's declared compression factors (what pipelines size latents with, as
  // diffusers does) disagree with the architecture.
  virtual void check_declared_factors() const {}
  // The pipelines' per-channel latent statistics: decode z / (1 / std) + mean, encode (x - mean) / std.
  virtual const std::vector<double>& latents_mean() const = 0;
  virtual const std::vector<double>& latents_std() const = 0;

  // Throws one line naming the nearest valid values when frames x height x width cannot be encoded.
  virtual void check_video(int64_t frames, int64_t height, int64_t width) const = 0;
  // Throws one line when latents of h x w cannot be decoded (with this tiling), so that a pipeline can
  // refuse the job before any work.
  virtual void check_decode_size(int64_t h, int64_t w, const VaeTiling& tiling = {}) const = 0;
  // encode(x).latent_dist.mode(): x [B, C, F, H, W] in [-1, 1] -> [B, latent_channels, T, h, w].
  virtual Tensor encode_mean(Context& ctx, const Tensor& x, const VaeTiling& tiling = {}) const = 0;
  virtual std::unique_ptr<DecodeStream> decode_stream(const VaeTiling& tiling = {}) const = 0;
  // vae.decode(z).sample in one call (the whole clip).
  Tensor decode(Context& ctx, const Tensor& z, const VaeTiling& tiling = {}) const;
  // The same frames as decode(), streamed as generation produces them: one latent frame pushed at a
  // time, finished frames to `sink` as they come.
  void decode_streamed(Context& ctx, const Tensor& z, const FrameSink& sink, const VaeTiling& tiling = {}) const;

  // The device memory a streamed decode of h x w latents takes (one latent frame's activations, the
  // causal caches and the finished frames), calibrated against measured peaks like MemoryEstimate.
  virtual size_t decode_bytes(int64_t h, int64_t w, const VaeTiling& tiling = {}) const = 0;
};

}  // namespace sv
