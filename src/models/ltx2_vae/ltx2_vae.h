// AutoencoderKLLTX2Video (diffusers autoencoder_kl_ltx2.py): the LTX-2 video VAE of SANA-Video 720p
// (128 latent channels, 32x32 spatial and 8x temporal compression in the released config).
//
// Decoding streams even though the released decoder is not causal: its only cross-frame operators are
// the k=3 convs, so each conv holds two input frames and answers one frame late (blocks.h). Pushing
// latent frames one at a time returns the same frames as diffusers' whole-clip decode, with memory
// independent of the clip length; the output lags by the decoder's receptive field (about 22 latent
// frames at the released depth), so a short clip comes out at its last push. Spatial tiling follows
// diffusers' enable_tiling() exactly (tiles decoded whole, blended in raster order), here per chunk of
// frames so it streams too. diffusers' temporal tiling misaligns frames by one and is not offered.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "io/safetensors.h"
#include "models/ltx2_vae/blocks.h"
#include "models/ltx2_vae/config.h"
#include "models/video_vae.h"

namespace sv::ltx2_vae {

class AutoencoderKLLTX2Video : public VideoVae {
 public:
  static std::unique_ptr<AutoencoderKLLTX2Video> load(const std::string& dir, const Context* place = nullptr);
  AutoencoderKLLTX2Video(const Config& cfg, const io::TensorSource& weights, const Context* place = nullptr);
  const Config& config() const { return cfg_; }

  const Info& info() const override { return info_; }
  const std::vector<double>& latents_mean() const override { return mean_; }
  const std::vector<double>& latents_std() const override { return std_; }
  void check_video(int64_t frames, int64_t height, int64_t width) const override;
  void check_decode_size(int64_t h, int64_t w, const VaeTiling& tiling = {}) const override;
  Tensor encode_mean(Context& ctx, const Tensor& x, const VaeTiling& tiling = {}) const override;
  std::unique_ptr<VideoVae::DecodeStream> decode_stream(const VaeTiling& tiling = {}) const override;
  size_t decode_bytes(int64_t h, int64_t w, const VaeTiling& tiling = {}) const override;

  // The encoder's conv_out output [B, latent_channels + 1, T, h, w]: the posterior mean, then the one
  // log-variance channel diffusers repeats latent_channels times. x [B, C, F, H, W] with F = 1 + k
  // temporal_factor and H, W multiples of spatial_factor.
  Tensor encode_moments(Context& ctx, const Tensor& x) const;

  // The untiled decoder as a stream over latent chunks (see blocks.h for `last`). Frames travel the
  // chain of blocks one at a time, so no block ever holds more than its own window, even in the final
  // flush of a clip shorter than the receptive field, where every frame is still in flight.
  struct DecoderState {
    Conv3::State conv_in, conv_out;
    std::vector<Resnet::State> mid;
    std::vector<Upsampler::State> up;
    std::vector<std::vector<Resnet::State>> up_res;
    size_t bytes() const;
  };
  DecoderState new_decoder_state() const;
  void decoder_push(Context& ctx, DecoderState& st, const Tensor& z, bool last, const FrameSink& sink) const;
  // Throws one line when latents of h x w cannot be decoded (reflect padding needs every side >= 2).
  void check_latent_size(int64_t h, int64_t w) const;
  // Shape checks of a decoder input [B, latent_channels, T, h, w].
  void check_latents(const Tensor& z) const;

 private:
  struct DownBlock {
    std::vector<Resnet> resnets;
    bool has_down = false;
    Downsampler down;
  };
  struct UpBlock {
    bool has_up = false;
    Upsampler up;
    std::vector<Resnet> resnets;
  };
  Config cfg_;
  Info info_;
  std::vector<double> mean_, std_;
  Conv3 enc_in_, enc_out_, dec_in_, dec_out_;
  std::vector<DownBlock> down_;
  std::vector<Resnet> enc_mid_, dec_mid_;
  std::vector<UpBlock> up_;
  std::vector<int64_t> level_channels_;  // the decoder's width at each resolution level (latent first)
  // The decoder's blocks in order: conv_in, mid resnets, per up block [upsampler] + resnets, conv_out.
  struct Stage {
    enum Kind { ConvIn, Mid, Up, UpRes, ConvOut } kind;
    size_t block = 0, index = 0;
  };
  std::vector<Stage> stages_;
  Tensor stage_push(Context& ctx, DecoderState& st, const Stage& s, const Tensor& x, bool last) const;
  void run_from(Context& ctx, DecoderState& st, size_t k, const Tensor& x, bool last, const FrameSink& sink) const;
};

}  // namespace sv::ltx2_vae
