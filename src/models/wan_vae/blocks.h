// Building blocks of diffusers' AutoencoderKLWan (autoencoder_kl_wan.py): causal 3-D convs with the
// chunk feature cache, channel RMS norm, residual, attention and resample blocks. The cache mirrors
// diffusers' feat_cache list entry for entry, so chunked decoding is bit-for-bit the same algorithm.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "core/context.h"
#include "io/weight_binder.h"

namespace sv::wan_vae {

// One entry of the per-session feature cache (diffusers' feat_cache[i]: None, "Rep" or a tensor).
struct CacheEntry {
  enum Kind { Empty, Rep, Frames } kind = Empty;
  Tensor t;
};

class FeatCache {
 public:
  void reset() { entries_.clear(), idx_ = 0; }
  void begin_chunk() { idx_ = 0; }
  CacheEntry& next() {
    if (idx_ == entries_.size()) entries_.emplace_back();
    return entries_[idx_++];
  }
  size_t bytes() const;

 private:
  std::vector<CacheEntry> entries_;
  size_t idx_ = 0;
};

struct CausalConv3d {
  Tensor w, b;
  std::array<int64_t, 3> k{1, 1, 1}, stride{1, 1, 1}, pad{0, 0, 0};
  void bind(const io::Scope& s, int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> pad,
            std::array<int64_t, 3> stride = {1, 1, 1});
  // `cache` (previous input frames) replaces that many of the 2*pad_t leading zero frames.
  Tensor forward(Context& ctx, const Tensor& x, const Tensor* cache = nullptr) const;
  // The diffusers pattern around every padded causal conv: use and refresh the cache entry.
  Tensor cached(Context& ctx, const Tensor& x, FeatCache& fc) const;
};

struct RMSNorm {
  Tensor gamma;
  void bind(const io::Scope& s, int64_t dim, bool images);
  Tensor operator()(Context& ctx, const Tensor& x) const;
};

struct ResBlock {
  RMSNorm norm1, norm2;
  CausalConv3d conv1, conv2, shortcut;
  bool has_shortcut = false;
  void bind(const io::Scope& s, int64_t in, int64_t out);
  Tensor forward(Context& ctx, const Tensor& x, FeatCache& fc) const;
};

struct AttnBlock {
  RMSNorm norm;
  Tensor qkv_w, qkv_b, proj_w, proj_b;
  int64_t dim = 0;
  void bind(const io::Scope& s, int64_t dim);
  Tensor forward(Context& ctx, const Tensor& x) const;
};

struct Resample {
  enum Mode { Up2d, Up3d, Down2d, Down3d } mode = Up2d;
  CausalConv3d conv;       // resample.1 (a Conv2d applied per frame), stored as kt = 1
  CausalConv3d time_conv;  // up3d / down3d only
  void bind(const io::Scope& s, int64_t dim, Mode m);
  Tensor forward(Context& ctx, const Tensor& x, FeatCache& fc) const;
};

}  // namespace sv::wan_vae
