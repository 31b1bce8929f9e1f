#include "models/wan_vae/wan_vae.h"

#include <filesystem>

#include "io/weight_binder.h"
#include "ops/ops.h"

namespace sv::wan_vae {

std::unique_ptr<AutoencoderKLWan> AutoencoderKLWan::load(const std::string& dir, const Context* place) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": VAE directory not found");
  const Config cfg = Config::from_json(io::JsonConfig::load((fs::path(dir) / "config.json").string()));
  const io::TensorSource src = io::TensorSource::open(dir);
  return std::make_unique<AutoencoderKLWan>(cfg, src, place);
}

AutoencoderKLWan::AutoencoderKLWan(const Config& c, const io::TensorSource& weights, const Context* place) : cfg_(c) {
  info_.class_name = "AutoencoderKLWan";
  info_.latent_channels = c.z_dim;
  info_.image_channels = c.in_channels;
  info_.temporal_factor = c.scale_factor_temporal;
  info_.spatial_factor = c.scale_factor_spatial;
  info_.clamps_output = true;
  io::WeightBinder binder(weights, place);
  const io::Scope root(binder);
  const int64_t nlev = static_cast<int64_t>(c.dim_mult.size());
  // Encoder: dims = base * [1] + dim_mult.
  {
    const io::Scope s = root.sub("encoder");
    std::vector<int64_t> dims{c.base_dim};
    for (int64_t m : c.dim_mult) dims.push_back(c.base_dim * m);
    enc_in_.bind(s.sub("conv_in"), c.in_channels, dims[0], {3, 3, 3}, {1, 1, 1});
    int64_t idx = 0;
    for (int64_t i = 0; i < nlev; ++i) {
      int64_t in = dims[i];
      const int64_t out = dims[i + 1];
      for (int64_t r = 0; r < c.num_res_blocks; ++r) {
        DownLayer l;
        l.res.bind(s.sub("down_blocks").sub(idx++), in, out);
        down_.push_back(std::move(l));
        in = out;
      }
      if (i != nlev - 1) {
        DownLayer l;
        l.is_res = false;
        l.down.bind(s.sub("down_blocks").sub(idx++), out, c.temperal_downsample[i] ? Resample::Down3d : Resample::Down2d);
        down_.push_back(std::move(l));
      }
    }
    const int64_t d = dims.back();
    enc_mid0_.bind(s.sub("mid_block.resnets.0"), d, d);
    enc_attn_.bind(s.sub("mid_block.attentions.0"), d);
    enc_mid1_.bind(s.sub("mid_block.resnets.1"), d, d);
    enc_norm_.bind(s.sub("norm_out"), d, false);
    enc_out_.bind(s.sub("conv_out"), d, 2 * c.z_dim, {3, 3, 3}, {1, 1, 1});
  }
  quant_conv_.bind(root.sub("quant_conv"), 2 * c.z_dim, 2 * c.z_dim, {1, 1, 1}, {0, 0, 0});
  post_quant_conv_.bind(root.sub("post_quant_conv"), c.z_dim, c.z_dim, {1, 1, 1}, {0, 0, 0});
  // Decoder: dims = dec_base * [dim_mult[-1]] + reversed(dim_mult); temporal upsampling = reversed downsampling.
  {
    const io::Scope s = root.sub("decoder");
    std::vector<int64_t> dims{c.decoder_base_dim * c.dim_mult.back()};
    for (auto it = c.dim_mult.rbegin(); it != c.dim_mult.rend(); ++it) dims.push_back(c.decoder_base_dim * *it);
    std::vector<bool> tup(c.temperal_downsample.rbegin(), c.temperal_downsample.rend());
    dec_in_.bind(s.sub("conv_in"), c.z_dim, dims[0], {3, 3, 3}, {1, 1, 1});
    dec_mid0_.bind(s.sub("mid_block.resnets.0"), dims[0], dims[0]);
    dec_attn_.bind(s.sub("mid_block.attentions.0"), dims[0]);
    dec_mid1_.bind(s.sub("mid_block.resnets.1"), dims[0], dims[0]);
    for (int64_t i = 0; i < nlev; ++i) {
      int64_t in = i > 0 ? dims[i] / 2 : dims[i];
      const int64_t out = dims[i + 1];
      UpBlock ub;
      for (int64_t r = 0; r < c.num_res_blocks + 1; ++r) {
        ResBlock rb;
        rb.bind(s.sub("up_blocks").sub(i).sub("resnets").sub(r), in, out);
        ub.resnets.push_back(std::move(rb));
        in = out;
      }
      if (i != nlev - 1) {
        ub.has_up = true;
        ub.up.bind(s.sub("up_blocks").sub(i).sub("upsamplers.0"), out, tup[i] ? Resample::Up3d : Resample::Up2d);
      }
      up_.push_back(std::move(ub));
    }
    dec_norm_.bind(s.sub("norm_out"), dims.back(), false);
    dec_out_.bind(s.sub("conv_out"), dims.back(), c.out_channels, {3, 3, 3}, {1, 1, 1});
  }
  binder.finish();
}

Tensor AutoencoderKLWan::decode_chunk(Context& ctx, const Tensor& z, FeatCache& fc) const {
  fc.begin_chunk();
  Tensor x = dec_in_.cached(ctx, z, fc);
  x = dec_mid0_.forward(ctx, x, fc);
  x = dec_attn_.forward(ctx, x);
  x = dec_mid1_.forward(ctx, x, fc);
  for (const UpBlock& ub : up_) {
    for (const ResBlock& r : ub.resnets) x = r.forward(ctx, x, fc);
    if (ub.has_up) x = ub.up.forward(ctx, x, fc);
  }
  x = ops::activation(ctx, dec_norm_(ctx, x), ops::Act::SiLU);
  x = dec_out_.cached(ctx, x, fc);
  return ops::clamp(ctx, x, -1.0f, 1.0f);
}

namespace {
void check_latents(const Config& c, const Tensor& z) {
  SV_CHECK(z.defined() && z.dim() == 5, "latents must be [B, z_dim, T, h, w], got ", z.defined() ? shape_str(z.shape()) : "nothing");
  SV_CHECK(z.size(1) == c.z_dim, "latents have ", z.size(1), " channels but the VAE's z_dim is ", c.z_dim);
  SV_CHECK(z.size(0) > 0 && z.size(2) > 0 && z.size(3) > 0 && z.size(4) > 0, "latents ", shape_str(z.shape()),
           " have an empty dimension");
}
}  // namespace

size_t AutoencoderKLWan::decode_bytes(int64_t h, int64_t w, const VaeTiling&) const {
  // One latent frame's chunk, level by level as decode_chunk runs: every causal conv keeps its input's
  // last two frames, and a resblock holds its input, the residual, a conv's padded input and output
  // over the chunk's frames at that level. kPerFloat was fitted to the peak resident memory
  // `sv-bench memory` measured on two decoder shapes (docs/memory.md), so that it is never below it.
  constexpr double kPerFloat = 4.0 * 3.45;
  std::vector<int64_t> dims{cfg_.decoder_base_dim * cfg_.dim_mult.back()};
  for (auto it = cfg_.dim_mult.rbegin(); it != cfg_.dim_mult.rend(); ++it) dims.push_back(cfg_.decoder_base_dim * *it);
  const std::vector<bool> tup(cfg_.temperal_downsample.rbegin(), cfg_.temperal_downsample.rend());
  double px = static_cast<double>(h) * w, frames = 1, peak = 0, caches = 0;
  const double convs_per_res = 2.0 * (cfg_.num_res_blocks + 1);
  caches += dims[0] * px * 2 * 5;                      // conv_in and the middle resblocks
  peak = std::max(peak, caches + 5.0 * dims[0] * px);  // the middle attention's q, k, v and output
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    const double c = static_cast<double>(dims[i + 1]);
    caches += c * px * 2 * convs_per_res;
    peak = std::max(peak, caches + 4.0 * c * px * frames);
    if (i + 2 < dims.size()) {  // the upsampler: its time conv at this level, its output at the next
      if (i < tup.size() && tup[i]) caches += c * px * 2, frames *= 2;
      px *= 4;
      peak = std::max(peak, caches + c * frames * px * 2);
    }
  }
  caches += dims.back() * px * 2;                                     // conv_out
  peak = std::max(peak, caches + (2.0 * dims.back() + 6) * px * frames);  // norm_out, conv_out, the RGB frames
  const double b = peak * kPerFloat + double(64 << 20);
  return b > 1e18 ? static_cast<size_t>(1e18) : static_cast<size_t>(b);
}

Tensor AutoencoderKLWan::DecodeSession::push(Context& ctx, const Tensor& z_in) {
  check_latents(vae_.cfg_, z_in);
  const Tensor z = vae_.post_quant_conv_.forward(ctx, ctx.to_device(z_in.device() == Device::CPU ? z_in.to_f32() : z_in));
  std::vector<Tensor> outs;
  for (int64_t t = 0; t < z.size(2); ++t) outs.push_back(vae_.decode_chunk(ctx, z.narrow(2, t, 1).contiguous(), cache_));
  return outs.size() == 1 ? outs[0] : ops::cat(ctx, outs, 2);
}

Tensor AutoencoderKLWan::decode(Context& ctx, const Tensor& z,
                                const std::function<void(const Tensor& frames)>& on_frames) const {
  check_latents(cfg_, z);
  DecodeSession s(*this);
  if (!on_frames) return s.push(ctx, z);
  for (int64_t t = 0; t < z.size(2); ++t) on_frames(s.push(ctx, z.narrow(2, t, 1).contiguous()));
  return Tensor();
}

Tensor AutoencoderKLWan::encode_chunk(Context& ctx, const Tensor& v, FeatCache& fc) const {
  fc.begin_chunk();
  Tensor x = enc_in_.cached(ctx, v, fc);
  for (const DownLayer& l : down_) x = l.is_res ? l.res.forward(ctx, x, fc) : l.down.forward(ctx, x, fc);
  x = enc_mid0_.forward(ctx, x, fc);
  x = enc_attn_.forward(ctx, x);
  x = enc_mid1_.forward(ctx, x, fc);
  x = ops::activation(ctx, enc_norm_(ctx, x), ops::Act::SiLU);
  return enc_out_.cached(ctx, x, fc);
}

Tensor AutoencoderKLWan::encode(Context& ctx, const Tensor& x_in) const {
  const Config& c = cfg_;
  SV_CHECK(x_in.defined() && x_in.dim() == 5, "video must be [B, C, F, H, W], got ",
           x_in.defined() ? shape_str(x_in.shape()) : "nothing");
  SV_CHECK(x_in.size(1) == c.in_channels, "video has ", x_in.size(1), " channels but the VAE takes ", c.in_channels);
  SV_CHECK(x_in.size(0) > 0 && x_in.size(2) > 0 && x_in.size(3) > 0 && x_in.size(4) > 0, "video ",
           shape_str(x_in.shape()), " has an empty dimension");
  const Tensor x = ctx.to_device(x_in.device() == Device::CPU ? x_in.to_f32() : x_in);
  FeatCache fc;
  std::vector<Tensor> outs;
  const int64_t chunks = 1 + (x.size(2) - 1) / 4;
  for (int64_t i = 0; i < chunks; ++i) {
    const Tensor part = i == 0 ? x.narrow(2, 0, 1) : x.narrow(2, 1 + 4 * (i - 1), 4);
    outs.push_back(encode_chunk(ctx, part.contiguous(), fc));
  }
  const Tensor out = outs.size() == 1 ? outs[0] : ops::cat(ctx, outs, 2);
  return quant_conv_.forward(ctx, out);
}

void AutoencoderKLWan::check_declared_factors() const {
  const Config& vc = cfg_;
  int64_t spatial = 1, temporal = 1;
  for (size_t i = 0; i + 1 < vc.dim_mult.size(); ++i) spatial *= 2;
  for (bool t : vc.temperal_downsample) temporal *= t ? 2 : 1;
  SV_CHECK(vc.scale_factor_spatial == spatial && vc.scale_factor_temporal == temporal,
           "vae/config.json: scale_factor_spatial ", vc.scale_factor_spatial, " and scale_factor_temporal ",
           vc.scale_factor_temporal, " do not match the architecture (", spatial, "x spatial, ", temporal,
           "x temporal from dim_mult and temperal_downsample)");
}

void AutoencoderKLWan::check_video(int64_t frames, int64_t height, int64_t width) const {
  SV_CHECK(frames > 0 && height > 0 && width > 0, "video ", frames, " x ", height, " x ", width, " has an empty dimension");
}

void AutoencoderKLWan::check_decode_size(int64_t h, int64_t w, const VaeTiling& tiling) const {
  SV_CHECK(h > 0 && w > 0, "latents of ", h, " x ", w, " have an empty dimension");
  SV_CHECK(!tiling.enabled, "VAE tiling is not implemented for the Wan VAE (its streamed decode already bounds memory)");
}

Tensor AutoencoderKLWan::encode_mean(Context& ctx, const Tensor& x, const VaeTiling& tiling) const {
  SV_CHECK(!tiling.enabled, "VAE tiling is not implemented for the Wan VAE (its streamed decode already bounds memory)");
  return encode(ctx, x).narrow(1, 0, cfg_.z_dim).contiguous();
}

namespace {
class WanDecodeStream : public VideoVae::DecodeStream {
 public:
  explicit WanDecodeStream(const AutoencoderKLWan& vae) : session_(vae) {}
  void push(Context& ctx, const Tensor& z, bool, const VideoVae::FrameSink& sink) override {
    if (z.defined()) sink(session_.push(ctx, z));
  }
  size_t cache_bytes() const override { return session_.cache_bytes(); }

 private:
  AutoencoderKLWan::DecodeSession session_;
};
}  // namespace

std::unique_ptr<VideoVae::DecodeStream> AutoencoderKLWan::decode_stream(const VaeTiling& tiling) const {
  SV_CHECK(!tiling.enabled, "VAE tiling is not implemented for the Wan VAE (its streamed decode already bounds memory)");
  return std::make_unique<WanDecodeStream>(*this);
}

}  // namespace sv::wan_vae
