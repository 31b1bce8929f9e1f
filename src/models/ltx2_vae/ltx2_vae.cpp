#include "models/ltx2_vae/ltx2_vae.h"

#include <filesystem>

#include "io/weight_binder.h"
#include "models/ltx2_vae/tiling.h"
#include "ops/ops.h"

namespace sv::ltx2_vae {

std::unique_ptr<AutoencoderKLLTX2Video> AutoencoderKLLTX2Video::load(const std::string& dir, const Context* place) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": VAE directory not found");
  const Config cfg = Config::from_json(io::JsonConfig::load((fs::path(dir) / "config.json").string()));
  const io::TensorSource src = io::TensorSource::open(dir);
  return std::make_unique<AutoencoderKLLTX2Video>(cfg, src, place);
}

AutoencoderKLLTX2Video::AutoencoderKLLTX2Video(const Config& c, const io::TensorSource& weights, const Context* place)
    : cfg_(c) {
  info_.class_name = "AutoencoderKLLTX2Video";
  info_.latent_channels = c.latent_channels;
  info_.image_channels = c.in_channels;
  info_.temporal_factor = c.temporal_factor;
  info_.spatial_factor = c.spatial_factor;
  info_.clamps_output = false;
  info_.supports_tiling = true;
  io::WeightBinder binder(weights, place);
  const io::Scope root(binder);
  const int64_t p2 = c.patch_size * c.patch_size * c.patch_size_t;
  {  // encoder (config.py validated the widths)
    const io::Scope s = root.sub("encoder");
    const bool rf = c.encoder_reflect, ca = c.encoder_causal;
    enc_in_.bind(s.sub("conv_in"), c.in_channels * p2, c.latent_channels, rf, ca);
    int64_t width = c.latent_channels;
    for (size_t i = 0; i < c.block_out_channels.size(); ++i) {
      const io::Scope b = s.sub("down_blocks").sub(static_cast<int64_t>(i));
      DownBlock db;
      for (int64_t r = 0; r < c.layers_per_block[i]; ++r) {
        db.resnets.emplace_back();
        db.resnets.back().bind(b.sub("resnets").sub(r), width, rf, ca);
      }
      if (c.spatio_temporal_scaling[i]) {
        db.has_down = true;
        db.down.bind(b.sub("downsamplers.0"), width, c.block_out_channels[i], sampler_stride(c.downsample_type[i]), rf, ca);
        width = c.block_out_channels[i];
      }
      down_.push_back(std::move(db));
    }
    for (int64_t r = 0; r < c.layers_per_block.back(); ++r) {
      enc_mid_.emplace_back();
      enc_mid_.back().bind(s.sub("mid_block.resnets").sub(r), width, rf, ca);
    }
    enc_out_.bind(s.sub("conv_out"), width, c.latent_channels + 1, rf, ca);
  }
  {  // decoder: the config's lists reversed
    const io::Scope s = root.sub("decoder");
    const bool rf = c.decoder_reflect, ca = c.decoder_causal;
    const size_t n = c.decoder_block_out_channels.size();
    int64_t width = c.decoder_block_out_channels.back();
    dec_in_.bind(s.sub("conv_in"), c.latent_channels, width, rf, ca);
    for (int64_t r = 0; r < c.decoder_layers_per_block.back(); ++r) {
      dec_mid_.emplace_back();
      dec_mid_.back().bind(s.sub("mid_block.resnets").sub(r), width, rf, ca);
    }
    level_channels_.push_back(width);
    for (size_t i = 0; i < n; ++i) {
      const size_t r = n - 1 - i;
      const int64_t u = c.upsample_factor[r], out = c.decoder_block_out_channels[r] / u;
      const io::Scope b = s.sub("up_blocks").sub(static_cast<int64_t>(i));
      UpBlock ub;
      if (c.decoder_spatio_temporal_scaling[r]) {
        ub.has_up = true;
        ub.up.bind(b.sub("upsamplers.0"), out * u, sampler_stride(c.upsample_type[i]), u, c.upsample_residual[r], rf, ca);
      }
      for (int64_t k = 0; k < c.decoder_layers_per_block[r]; ++k) {
        ub.resnets.emplace_back();
        ub.resnets.back().bind(b.sub("resnets").sub(k), out, rf, ca);
      }
      up_.push_back(std::move(ub));
      width = out;
      level_channels_.push_back(width);
    }
    dec_out_.bind(s.sub("conv_out"), width, c.out_channels * p2, rf, ca);
  }
  stages_.push_back({Stage::ConvIn});
  for (size_t i = 0; i < dec_mid_.size(); ++i) stages_.push_back({Stage::Mid, 0, i});
  for (size_t b = 0; b < up_.size(); ++b) {
    if (up_[b].has_up) stages_.push_back({Stage::Up, b, 0});
    for (size_t i = 0; i < up_[b].resnets.size(); ++i) stages_.push_back({Stage::UpRes, b, i});
  }
  stages_.push_back({Stage::ConvOut});
  // The pipelines' statistics are buffers in the state dict, not config keys.
  auto stats = [&](const char* name) {
    const Tensor t = root.take_host(name, {c.latent_channels});
    return std::vector<double>(t.f32(), t.f32() + t.numel());
  };
  mean_ = stats("latents_mean");
  std_ = stats("latents_std");
  binder.finish();
}

void AutoencoderKLLTX2Video::check_video(int64_t frames, int64_t height, int64_t width) const {
  const int64_t ft = cfg_.temporal_factor, fs = cfg_.spatial_factor;
  auto near = [](int64_t v, int64_t m) { return std::max<int64_t>(m, (v + m / 2) / m * m); };
  SV_CHECK(frames > 0 && (frames - 1) % ft == 0, "the LTX-2 VAE encodes ", ft, "k + 1 frames, got ", frames,
           "; nearest valid: ", std::max<int64_t>(1, (frames - 1 + ft / 2) / ft * ft + 1));
  SV_CHECK(height > 0 && height % fs == 0, "the LTX-2 VAE needs a height that is a multiple of ", fs, ", got ", height,
           "; nearest valid: ", near(height, fs));
  SV_CHECK(width > 0 && width % fs == 0, "the LTX-2 VAE needs a width that is a multiple of ", fs, ", got ", width,
           "; nearest valid: ", near(width, fs));
}

void AutoencoderKLLTX2Video::check_latent_size(int64_t h, int64_t w) const {
  const int64_t lo = cfg_.decoder_reflect ? 2 : 1;
  SV_CHECK(h >= lo && w >= lo, "the LTX-2 decoder's reflect padding needs latents of at least ", lo, " x ", lo, " (",
           lo * cfg_.spatial_factor, " pixels a side), got ", h, " x ", w);
}

void AutoencoderKLLTX2Video::check_decode_size(int64_t h, int64_t w, const VaeTiling& tiling) const {
  if (tiling.enabled) {
    check_tile_grid(*this, h, w, tiling);
  } else {
    check_latent_size(h, w);
  }
}

void AutoencoderKLLTX2Video::check_latents(const Tensor& z) const {
  SV_CHECK(z.defined() && z.dim() == 5, "latents must be [B, C, T, h, w], got ", z.defined() ? shape_str(z.shape()) : "nothing");
  SV_CHECK(z.size(1) == cfg_.latent_channels, "latents have ", z.size(1), " channels but the VAE's latent_channels is ",
           cfg_.latent_channels);
  SV_CHECK(z.size(0) > 0 && z.size(2) > 0, "latents ", shape_str(z.shape()), " have an empty dimension");
  check_latent_size(z.size(3), z.size(4));
}

Tensor AutoencoderKLLTX2Video::encode_moments(Context& ctx, const Tensor& x_in) const {
  SV_CHECK(x_in.defined() && x_in.dim() == 5, "video must be [B, C, F, H, W], got ",
           x_in.defined() ? shape_str(x_in.shape()) : "nothing");
  SV_CHECK(x_in.size(1) == cfg_.in_channels, "video has ", x_in.size(1), " channels but the VAE takes ", cfg_.in_channels);
  SV_CHECK(x_in.size(0) > 0, "video has an empty batch");
  check_video(x_in.size(2), x_in.size(3), x_in.size(4));
  const Tensor x = ctx.to_device(x_in.device() == Device::CPU ? x_in.to_f32() : x_in);
  Tensor h = ops::space_to_depth3d(ctx, x, {cfg_.patch_size_t, cfg_.patch_size, cfg_.patch_size}, true);
  Conv3::State s;
  h = enc_in_.push(ctx, s, h, true);
  auto resnets = [&](const std::vector<Resnet>& rs, Tensor t) {
    for (const Resnet& r : rs) {
      Resnet::State st;
      t = r.push(ctx, st, t, true);
    }
    return t;
  };
  for (const DownBlock& b : down_) {
    h = resnets(b.resnets, h);
    if (b.has_down) h = b.down.forward(ctx, h);
  }
  h = resnets(enc_mid_, h);
  Conv3::State so;
  return enc_out_.push(ctx, so, rms_silu(ctx, h), true);
}

Tensor AutoencoderKLLTX2Video::encode_mean(Context& ctx, const Tensor& x, const VaeTiling& tiling) const {
  if (tiling.enabled && x.defined() && x.dim() == 5 &&
      (x.size(4) > tiling.tile_width || x.size(3) > tiling.tile_height))
    return tiled_encode_mean(ctx, *this, x, tiling);
  return encode_moments(ctx, x).narrow(1, 0, cfg_.latent_channels).contiguous();
}

size_t AutoencoderKLLTX2Video::DecoderState::bytes() const {
  size_t b = conv_in.bytes() + conv_out.bytes();
  for (const auto& s : mid) b += s.bytes();
  for (const auto& s : up) b += s.bytes();
  for (const auto& v : up_res)
    for (const auto& s : v) b += s.bytes();
  return b;
}

AutoencoderKLLTX2Video::DecoderState AutoencoderKLLTX2Video::new_decoder_state() const {
  DecoderState st;
  st.mid.resize(dec_mid_.size());
  st.up.resize(up_.size());
  for (const UpBlock& b : up_) st.up_res.emplace_back(b.resnets.size());
  return st;
}

Tensor AutoencoderKLLTX2Video::stage_push(Context& ctx, DecoderState& st, const Stage& s, const Tensor& x,
                                          bool last) const {
  switch (s.kind) {
    case Stage::ConvIn: return dec_in_.push(ctx, st.conv_in, x, last);
    case Stage::Mid: return dec_mid_[s.index].push(ctx, st.mid[s.index], x, last);
    case Stage::Up: return up_[s.block].up.push(ctx, st.up[s.block], x, last);
    case Stage::UpRes: return up_[s.block].resnets[s.index].push(ctx, st.up_res[s.block][s.index], x, last);
    case Stage::ConvOut: {
      const Tensor y = dec_out_.push(ctx, st.conv_out, rms_silu(ctx, x), last);
      return y.defined() ? ops::depth_to_space3d(ctx, y, {cfg_.patch_size_t, cfg_.patch_size, cfg_.patch_size}, true) : y;
    }
  }
  return Tensor();
}

void AutoencoderKLLTX2Video::run_from(Context& ctx, DecoderState& st, size_t k, const Tensor& x, bool last,
                                      const FrameSink& sink) const {
  if (k == stages_.size()) {
    if (x.defined()) sink(x);
    return;
  }
  const int64_t n = x.defined() ? x.size(2) : 0;
  if (n <= 1) {
    const Tensor y = stage_push(ctx, st, stages_[k], x, last);
    if (y.defined() || last) run_from(ctx, st, k + 1, y, last, sink);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {  // one frame at a time; only the final one carries `last`
    const bool l = last && i + 1 == n;
    const Tensor y = stage_push(ctx, st, stages_[k], x.narrow(2, i, 1).contiguous(), l);
    if (y.defined() || l) run_from(ctx, st, k + 1, y, l, sink);
  }
}

void AutoencoderKLLTX2Video::decoder_push(Context& ctx, DecoderState& st, const Tensor& z, bool last,
                                          const FrameSink& sink) const {
  run_from(ctx, st, 0, z, last, sink);
}

Tensor own_latents(Context& ctx, const Tensor& z) {
  // The stream keeps references to the chunks it was given (conv windows), so it must own them: a
  // caller may refill its buffer for the next push.
  const Tensor t = ctx.to_device(z.device() == Device::CPU ? z.to_f32() : z.contiguous());
  return t.device() == z.device() && t.raw() == z.raw() ? t.clone() : t;
}

namespace {
class LtxDecodeStream : public VideoVae::DecodeStream {
 public:
  explicit LtxDecodeStream(const AutoencoderKLLTX2Video& vae) : vae_(vae), st_(vae.new_decoder_state()) {}
  void push(Context& ctx, const Tensor& z_in, bool last, const VideoVae::FrameSink& sink) override {
    SV_CHECK(!finished_, "the decode stream has already ended");
    Tensor z;
    if (z_in.defined()) {
      vae_.check_latents(z_in);
      z = own_latents(ctx, z_in);
    }
    finished_ = last;
    vae_.decoder_push(ctx, st_, z, last, sink);
  }
  size_t cache_bytes() const override { return st_.bytes(); }

 private:
  const AutoencoderKLLTX2Video& vae_;
  AutoencoderKLLTX2Video::DecoderState st_;
  bool finished_ = false;
};
}  // namespace

std::unique_ptr<VideoVae::DecodeStream> AutoencoderKLLTX2Video::decode_stream(const VaeTiling& tiling) const {
  if (tiling.enabled) return make_tiled_decode_stream(*this, tiling);
  return std::make_unique<LtxDecodeStream>(*this);
}

size_t AutoencoderKLLTX2Video::decode_bytes(int64_t h, int64_t w, const VaeTiling& tiling) const {
  // Per resolution level: every conv keeps two input frames and every resnet up to two skip frames
  // (over the whole frame, whichever tiling); at the finest level a conv's three-frame input window is
  // assembled while it runs (at the tile's size when tiling).
  const int64_t fs = cfg_.spatial_factor / cfg_.patch_size;  // latent -> finest level, spatially
  int64_t th = h, tw = w;
  if (tiling.enabled) {
    th = std::min(h, tiling.tile_height / cfg_.spatial_factor);
    tw = std::min(w, tiling.tile_width / cfg_.spatial_factor);
  }
  size_t caches = 0;
  int64_t sh = 1;
  for (size_t l = 0; l < level_channels_.size(); ++l) {
    if (l > 0 && up_[l - 1].has_up) sh *= sampler_stride(cfg_.upsample_type[l - 1])[1];
    const size_t frame = static_cast<size_t>(level_channels_[l] * h * sh * w * sh);
    // Two frames per conv window and per resnet skip queue (the upsampler's conv counts at its level).
    const size_t convs = l == 0 ? 1 + 2 * dec_mid_.size() : 2 * up_[l - 1].resnets.size() + 1;
    caches += frame * (2 * convs + 2 * (convs / 2));
  }
  const size_t window = static_cast<size_t>(level_channels_.back() * 3 * th * fs * tw * fs);
  // The chunk's finished RGB frames; the factors were fitted to the peak resident memory measured on two
  // decoder shapes (docs/memory.md: temporaries the counts above leave out), so as to stay above it.
  const double frames = 3.0 * cfg_.temporal_factor * h * cfg_.spatial_factor * w * cfg_.spatial_factor;
  const double b = 4.0 * (4.0 * static_cast<double>(caches + window) + 1.1 * frames) + double(64 << 20);
  return b > 1e18 ? static_cast<size_t>(1e18) : static_cast<size_t>(b);
}

}  // namespace sv::ltx2_vae
