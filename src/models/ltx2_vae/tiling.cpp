#include "models/ltx2_vae/tiling.h"

#include "ops/ops.h"

namespace sv::ltx2_vae {

void check_tiling(const AutoencoderKLLTX2Video& vae, const VaeTiling& t) {
  const int64_t f = vae.config().spatial_factor;
  for (int64_t v : {t.tile_height, t.tile_width, t.stride_height, t.stride_width})
    SV_CHECK(v > 0 && v % f == 0, "VAE tile sizes and strides must be positive multiples of ", f, " pixels, got ", v);
  SV_CHECK(t.stride_height <= t.tile_height && t.stride_width <= t.tile_width, "a VAE tile stride (", t.stride_height,
           " x ", t.stride_width, ") must not exceed the tile (", t.tile_height, " x ", t.tile_width, ")");
}

namespace {

// Tile starts along one axis (latent or pixel units), as range(0, n, stride).
std::vector<int64_t> starts(int64_t n, int64_t stride) {
  std::vector<int64_t> s;
  for (int64_t i = 0; i < n; i += stride) s.push_back(i);
  return s;
}

// diffusers tiles a decode only when the latents exceed one tile.
bool tiles_needed(const AutoencoderKLLTX2Video& vae, int64_t h, int64_t w, const VaeTiling& t) {
  const int64_t f = vae.config().spatial_factor;
  return w > t.tile_width / f || h > t.tile_height / f;
}

}  // namespace

void check_tile_grid(const AutoencoderKLLTX2Video& vae, int64_t h, int64_t w, const VaeTiling& t) {
  check_tiling(vae, t);
  if (!tiles_needed(vae, h, w, t)) return vae.check_latent_size(h, w);
  const int64_t f = vae.config().spatial_factor;
  for (int64_t r : starts(h, t.stride_height / f))
    for (int64_t c : starts(w, t.stride_width / f)) {
      const int64_t th = std::min(t.tile_height / f, h - r), tw = std::min(t.tile_width / f, w - c);
      try {
        vae.check_latent_size(th, tw);
      } catch (const Error&) {
        SV_THROW("with ", t.tile_height, " px tiles every ", t.stride_height, " px, the tile at latent (", r, ", ", c,
                 ") of ", h, " x ", w, " latents is ", th, " x ", tw, ", too small for the decoder's reflect padding; ",
                 "choose another tile size, stride or frame size");
      }
    }
}

namespace {

// Blends a grid of tiles in raster order (each with its blended upper and left neighbours), then
// stitches the stride-cropped tiles into [B, C, T, H, W].
Tensor blend_and_stitch(Context& ctx, std::vector<std::vector<Tensor>>& tiles, int64_t blend_h, int64_t blend_w,
                        int64_t stride_h, int64_t stride_w, int64_t H, int64_t W) {
  for (size_t r = 0; r < tiles.size(); ++r)
    for (size_t c = 0; c < tiles[r].size(); ++c) {
      Tensor& t = tiles[r][c];
      if (r > 0) {
        const Tensor& above = tiles[r - 1][c];
        ops::blend_edge_(ctx, t, above, std::min({above.size(3), t.size(3), blend_h}), 3);
      }
      if (c > 0) {
        const Tensor& left = tiles[r][c - 1];
        ops::blend_edge_(ctx, t, left, std::min({left.size(4), t.size(4), blend_w}), 4);
      }
    }
  const Tensor& t0 = tiles[0][0];
  Tensor out = ctx.empty({t0.size(0), t0.size(1), t0.size(2), H, W});
  for (size_t r = 0; r < tiles.size(); ++r)
    for (size_t c = 0; c < tiles[r].size(); ++c) {
      const Tensor& t = tiles[r][c];
      const int64_t y0 = static_cast<int64_t>(r) * stride_h, x0 = static_cast<int64_t>(c) * stride_w;
      const int64_t hh = std::min({stride_h, t.size(3), H - y0}), ww = std::min({stride_w, t.size(4), W - x0});
      if (hh <= 0 || ww <= 0) continue;
      ops::copy_(ctx, t.narrow(3, 0, hh).narrow(4, 0, ww), out.narrow(3, y0, hh).narrow(4, x0, ww));
    }
  return out;
}

class TiledDecodeStream : public VideoVae::DecodeStream {
 public:
  TiledDecodeStream(const AutoencoderKLLTX2Video& vae, const VaeTiling& t) : vae_(vae), t_(t) { check_tiling(vae, t); }

  void push(Context& ctx, const Tensor& z_in, bool last, const VideoVae::FrameSink& sink) override {
    SV_CHECK(!finished_, "the decode stream has already ended");
    const int64_t f = vae_.config().spatial_factor;
    const int64_t lmin_h = t_.tile_height / f, lmin_w = t_.tile_width / f;
    if (z_in.defined()) {
      vae_.check_latents(z_in);
      if (h_ < 0) start(z_in.size(3), z_in.size(4));
      SV_CHECK(z_in.size(3) == h_ && z_in.size(4) == w_, "latent chunks of one decode must keep their size");
    }
    finished_ = last;
    if (h_ < 0) return;
    const Tensor z = z_in.defined() ? own_latents(ctx, z_in) : Tensor();
    if (untiled_) return vae_.decoder_push(ctx, states_[0][0], z, last, sink);
    // Every tile has the same temporal structure, so after a push each holds the same number of new frames.
    int64_t ready = -1;
    for (size_t r = 0; r < rows_.size(); ++r)
      for (size_t c = 0; c < cols_.size(); ++c) {
        Tensor part;
        if (z.defined()) {
          const int64_t hh = std::min(lmin_h, h_ - rows_[r]), ww = std::min(lmin_w, w_ - cols_[c]);
          part = z.narrow(3, rows_[r], hh).narrow(4, cols_[c], ww).contiguous();
        }
        vae_.decoder_push(ctx, states_[r][c], part, last, [&](const Tensor& t) { out_[r][c].push(t); });
        ready = ready < 0 ? out_[r][c].frames() : std::min(ready, out_[r][c].frames());
      }
    for (int64_t i = 0; i < ready; ++i) {  // blended and stitched a frame at a time
      std::vector<std::vector<Tensor>> tiles(rows_.size());
      for (size_t r = 0; r < rows_.size(); ++r)
        for (size_t c = 0; c < cols_.size(); ++c) {
          tiles[r].push_back(out_[r][c].pop(ctx, 1));  // a tensor of its own: blended in place
        }
      sink(blend_and_stitch(ctx, tiles, t_.tile_height - t_.stride_height, t_.tile_width - t_.stride_width,
                            t_.stride_height, t_.stride_width, h_ * f, w_ * f));
    }
  }

  size_t cache_bytes() const override {
    size_t b = 0;
    for (const auto& row : states_)
      for (const auto& s : row) b += s.bytes();
    for (const auto& row : out_)
      for (const auto& q : row) b += q.bytes();
    return b;
  }

 private:
  // Members are set only once every check has passed, so a failed start leaves the stream unstarted.
  void start(int64_t h, int64_t w) {
    const int64_t f = vae_.config().spatial_factor;
    check_tile_grid(vae_, h, w, t_);
    const bool untiled = !tiles_needed(vae_, h, w, t_);
    std::vector<int64_t> rows{0}, cols{0};
    if (!untiled) rows = starts(h, t_.stride_height / f), cols = starts(w, t_.stride_width / f);
    states_.assign(rows.size(), {});
    for (auto& row : states_)
      for (size_t c = 0; c < cols.size(); ++c) row.push_back(vae_.new_decoder_state());
    out_.assign(rows.size(), std::vector<FrameQueue>(cols.size()));
    rows_ = std::move(rows), cols_ = std::move(cols), untiled_ = untiled;
    h_ = h, w_ = w;
  }

  const AutoencoderKLLTX2Video& vae_;
  VaeTiling t_;
  int64_t h_ = -1, w_ = -1;
  bool untiled_ = false, finished_ = false;
  std::vector<int64_t> rows_, cols_;
  std::vector<std::vector<AutoencoderKLLTX2Video::DecoderState>> states_;
  std::vector<std::vector<FrameQueue>> out_;  // decoded tile frames not yet blended
};

}  // namespace

std::unique_ptr<VideoVae::DecodeStream> make_tiled_decode_stream(const AutoencoderKLLTX2Video& vae, const VaeTiling& t) {
  return std::make_unique<TiledDecodeStream>(vae, t);
}

Tensor tiled_encode_mean(Context& ctx, const AutoencoderKLLTX2Video& vae, const Tensor& x_in, const VaeTiling& t) {
  check_tiling(vae, t);
  const int64_t f = vae.config().spatial_factor, C = vae.config().latent_channels;
  vae.check_video(x_in.size(2), x_in.size(3), x_in.size(4));
  const Tensor x = ctx.to_device(x_in.device() == Device::CPU ? x_in.to_f32() : x_in);
  const int64_t H = x.size(3), W = x.size(4);
  std::vector<std::vector<Tensor>> tiles;
  for (int64_t i : starts(H, t.stride_height)) {
    tiles.emplace_back();
    for (int64_t j : starts(W, t.stride_width)) {
      const Tensor part = x.narrow(3, i, std::min(t.tile_height, H - i)).narrow(4, j, std::min(t.tile_width, W - j));
      // Blending is per channel, so blending the means alone equals diffusers' blend of all moments.
      tiles.back().push_back(vae.encode_moments(ctx, part.contiguous()).narrow(1, 0, C).contiguous());
    }
  }
  const int64_t lh = t.tile_height / f, lw = t.tile_width / f, sh = t.stride_height / f, sw = t.stride_width / f;
  return blend_and_stitch(ctx, tiles, lh - sh, lw - sw, sh, sw, H / f, W / f);
}

}  // namespace sv::ltx2_vae
