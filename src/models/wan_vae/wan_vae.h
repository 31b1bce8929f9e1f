// AutoencoderKLWan (diffusers autoencoder_kl_wan.py), Wan2.1 layout: encoder and decoder with the
// chunked feature cache. Decoding is streaming: a DecodeSession takes one latent frame at a time and
// returns the finished video frames for it, holding only the per-conv caches between calls, so
// memory does not grow with the number of frames.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "io/safetensors.h"
#include "models/video_vae.h"
#include "models/wan_vae/blocks.h"
#include "models/wan_vae/config.h"

namespace sv::wan_vae {

class AutoencoderKLWan : public VideoVae {
 public:
  // `place`: the context whose device holds the weights (null: the host); inputs may live anywhere.
  static std::unique_ptr<AutoencoderKLWan> load(const std::string& dir, const Context* place = nullptr);
  AutoencoderKLWan(const Config& cfg, const io::TensorSource& weights, const Context* place = nullptr);
  const Config& config() const { return cfg_; }

  // vae.decode(z).sample: z [B, z_dim, T, h, w] (already de-normalised) -> [B, 3, 1 + 4(T-1), 8h, 8w],
  // clamped to [-1, 1]. Calls `on_frames` with each chunk's frames [B, 3, n, H, W] when given (then the
  // returned tensor is undefined and nothing accumulates).
  Tensor decode(Context& ctx, const Tensor& z,
                const std::function<void(const Tensor& frames)>& on_frames = nullptr) const;
  // encode(x).latent_dist: x [B, 3, F, H, W] in [-1, 1] -> moments [B, 2*z_dim, T', h, w]
  // (mean = channels [0, z_dim)). Trailing frames beyond 1 + 4k are dropped, as diffusers does.
  Tensor encode(Context& ctx, const Tensor& x) const;

  // VideoVae. Tiling is not implemented for this VAE (a tiling request is refused); frames beyond 1 + 4k
  // are dropped by encode as diffusers does, so any size is accepted.
  const Info& info() const override { return info_; }
  const std::vector<double>& latents_mean() const override { return cfg_.latents_mean; }
  const std::vector<double>& latents_std() const override { return cfg_.latents_std; }
  void check_declared_factors() const override;
  void check_video(int64_t frames, int64_t height, int64_t width) const override;
  void check_decode_size(int64_t h, int64_t w, const VaeTiling& tiling) const override;
  Tensor encode_mean(Context& ctx, const Tensor& x, const VaeTiling& tiling) const override;
  std::unique_ptr<VideoVae::DecodeStream> decode_stream(const VaeTiling& tiling) const override;
  size_t decode_bytes(int64_t h, int64_t w, const VaeTiling& tiling = {}) const override;

  class DecodeSession {
   public:
    explicit DecodeSession(const AutoencoderKLWan& vae) : vae_(vae) {}
    // One or more latent frames [B, z_dim, t, h, w] -> their clamped video frames.
    Tensor push(Context& ctx, const Tensor& z);
    size_t cache_bytes() const { return cache_.bytes(); }

   private:
    const AutoencoderKLWan& vae_;
    FeatCache cache_;
  };

 private:
  struct UpBlock {
    std::vector<ResBlock> resnets;
    bool has_up = false;
    Resample up;
  };
  struct DownLayer {
    bool is_res = true;
    ResBlock res;
    Resample down;
  };
  Config cfg_;
  Info info_;
  // encoder
  CausalConv3d enc_in_, enc_out_, quant_conv_;
  std::vector<DownLayer> down_;
  ResBlock enc_mid0_, enc_mid1_;
  AttnBlock enc_attn_;
  RMSNorm enc_norm_;
  // decoder
  CausalConv3d post_quant_conv_, dec_in_, dec_out_;
  ResBlock dec_mid0_, dec_mid1_;
  AttnBlock dec_attn_;
  std::vector<UpBlock> up_;
  RMSNorm dec_norm_;

  Tensor decode_chunk(Context& ctx, const Tensor& x, FeatCache& fc) const;
  Tensor encode_chunk(Context& ctx, const Tensor& x, FeatCache& fc) const;
};

}  // namespace sv::wan_vae
