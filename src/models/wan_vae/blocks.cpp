#include "models/wan_vae/blocks.h"

#include "ops/ops.h"

namespace sv::wan_vae {
namespace {

Tensor last_frames(const Tensor& x, int64_t n) {  // copied so the cache never pins a whole chunk
  n = std::min(n, x.size(2));
  return x.narrow(2, x.size(2) - n, n).clone();
}

Tensor zero_frames(const Context& ctx, const Tensor& like, int64_t n) {
  Shape s = like.shape();
  s[2] = n;
  return ctx.zeros(s);
}

}  // namespace

size_t FeatCache::bytes() const {
  size_t b = 0;
  for (const CacheEntry& e : entries_)
    if (e.kind == CacheEntry::Frames) b += e.t.nbytes();
  return b;
}

void CausalConv3d::bind(const io::Scope& s, int64_t in, int64_t out, std::array<int64_t, 3> kernel,
                        std::array<int64_t, 3> p, std::array<int64_t, 3> st) {
  k = kernel;
  pad = p;
  stride = st;
  w = s.take_raw("weight", {out, in, k[0], k[1], k[2]});
  b = s.take("bias", {out});
}

Tensor CausalConv3d::forward(Context& ctx, const Tensor& x, const Tensor* cache) const {
  int64_t front = 2 * pad[0];
  std::vector<Tensor> parts;
  if (cache && front > 0) front -= cache->size(2);
  if (front > 0) parts.push_back(zero_frames(ctx, x, front));
  if (cache && pad[0] > 0) parts.push_back(*cache);
  Tensor in = x;
  if (!parts.empty()) {
    parts.push_back(x);
    in = ops::cat(ctx, parts, 2);
  }
  return ops::conv3d(ctx, in, w, b, stride, {0, pad[1], pad[2]});
}

Tensor CausalConv3d::cached(Context& ctx, const Tensor& x, FeatCache& fc) const {
  CacheEntry& e = fc.next();
  Tensor cache_x = last_frames(x, 2);
  if (cache_x.size(2) < 2 && e.kind == CacheEntry::Frames)
    cache_x = ops::cat(ctx, {last_frames(e.t, 1), cache_x}, 2);
  Tensor y = forward(ctx, x, e.kind == CacheEntry::Frames ? &e.t : nullptr);
  e.kind = CacheEntry::Frames;
  e.t = cache_x;
  return y;
}

void RMSNorm::bind(const io::Scope& s, int64_t dim, bool images) {
  gamma = s.take("gamma", images ? Shape{dim, 1, 1} : Shape{dim, 1, 1, 1}).reshape({dim});
}

Tensor RMSNorm::operator()(Context& ctx, const Tensor& x) const { return ops::channel_rms_norm(ctx, x, gamma); }

void ResBlock::bind(const io::Scope& s, int64_t in, int64_t out) {
  norm1.bind(s.sub("norm1"), in, false);
  conv1.bind(s.sub("conv1"), in, out, {3, 3, 3}, {1, 1, 1});
  norm2.bind(s.sub("norm2"), out, false);
  conv2.bind(s.sub("conv2"), out, out, {3, 3, 3}, {1, 1, 1});
  has_shortcut = in != out;
  if (has_shortcut) shortcut.bind(s.sub("conv_shortcut"), in, out, {1, 1, 1}, {0, 0, 0});
}

Tensor ResBlock::forward(Context& ctx, const Tensor& x, FeatCache& fc) const {
  const Tensor h = has_shortcut ? shortcut.forward(ctx, x) : x;
  Tensor y = conv1.cached(ctx, ops::activation(ctx, norm1(ctx, x), ops::Act::SiLU), fc);
  y = conv2.cached(ctx, ops::activation(ctx, norm2(ctx, y), ops::Act::SiLU), fc);
  return ops::add(ctx, y, h);
}

void AttnBlock::bind(const io::Scope& s, int64_t d) {
  dim = d;
  norm.bind(s.sub("norm"), d, true);
  qkv_w = s.take_raw("to_qkv.weight", {3 * d, d, 1, 1}).reshape({3 * d, d, 1, 1, 1});
  qkv_b = s.take("to_qkv.bias", {3 * d});
  proj_w = s.take_raw("proj.weight", {d, d, 1, 1}).reshape({d, d, 1, 1, 1});
  proj_b = s.take("proj.bias", {d});
}

Tensor AttnBlock::forward(Context& ctx, const Tensor& x) const {
  const int64_t B = x.size(0), C = dim, T = x.size(2), H = x.size(3), W = x.size(4);
  const Tensor qkv = ops::conv3d(ctx, norm(ctx, x), qkv_w, qkv_b, {1, 1, 1}, {0, 0, 0});  // [B, 3C, T, H, W]
  // Per frame, single head: tokens are pixels. [B, 3C, T, HW] -> [B*T, HW, 3C]
  const Tensor tok = qkv.reshape({B, 3 * C, T, H * W}).permute({0, 2, 3, 1}).contiguous().reshape({B * T, H * W, 3 * C});
  const Tensor o = ops::sdpa(ctx, tok.narrow(2, 0, C), tok.narrow(2, C, C), tok.narrow(2, 2 * C, C), Tensor(), 1);
  const Tensor back = o.reshape({B, T, H * W, C}).permute({0, 3, 1, 2}).contiguous().reshape({B, C, T, H, W});
  return ops::add(ctx, ops::conv3d(ctx, back, proj_w, proj_b, {1, 1, 1}, {0, 0, 0}), x);
}

void Resample::bind(const io::Scope& s, int64_t dim, Mode m) {
  mode = m;
  const bool up = m == Up2d || m == Up3d;
  const int64_t out = up ? dim / 2 : dim;
  // resample.1 is an nn.Conv2d: weight [out, dim, 3, 3], used here as a kt = 1 conv on every frame.
  conv.w = s.take_raw("resample.1.weight", {out, dim, 3, 3}).reshape({out, dim, 1, 3, 3});
  conv.b = s.take("resample.1.bias", {out});
  conv.k = {1, 3, 3};
  conv.pad = up ? std::array<int64_t, 3>{0, 1, 1} : std::array<int64_t, 3>{0, 0, 0};
  conv.stride = up ? std::array<int64_t, 3>{1, 1, 1} : std::array<int64_t, 3>{1, 2, 2};
  if (m == Up3d) time_conv.bind(s.sub("time_conv"), dim, 2 * dim, {3, 1, 1}, {1, 0, 0});
  if (m == Down3d) time_conv.bind(s.sub("time_conv"), dim, dim, {3, 1, 1}, {0, 0, 0}, {2, 1, 1});
}

Tensor Resample::forward(Context& ctx, const Tensor& x_in, FeatCache& fc) const {
  Tensor x = x_in;
  if (mode == Up3d) {
    CacheEntry& e = fc.next();
    if (e.kind == CacheEntry::Empty) {
      e.kind = CacheEntry::Rep;  // the first chunk never enters the time conv
    } else {
      Tensor cache_x = last_frames(x, 2);
      if (cache_x.size(2) < 2 && e.kind == CacheEntry::Frames) cache_x = ops::cat(ctx, {last_frames(e.t, 1), cache_x}, 2);
      if (cache_x.size(2) < 2 && e.kind == CacheEntry::Rep) cache_x = ops::cat(ctx, {zero_frames(ctx, cache_x, 1), cache_x}, 2);
      const Tensor y = e.kind == CacheEntry::Rep ? time_conv.forward(ctx, x) : time_conv.forward(ctx, x, &e.t);
      e.kind = CacheEntry::Frames;
      e.t = cache_x;
      // [B, 2C, T, H, W]: output frame 2t is channels [0, C) at t, 2t + 1 is channels [C, 2C).
      const int64_t B = x.size(0), C = x.size(1), T = x.size(2), H = x.size(3), W = x.size(4);
      x = y.reshape({B, 2, C, T, H * W}).permute({0, 2, 3, 1, 4}).contiguous().reshape({B, C, 2 * T, H, W});
    }
  }
  if (mode == Up2d || mode == Up3d) {
    x = conv.forward(ctx, ops::upsample_nearest2x(ctx, x));
  } else {
    // ZeroPad2d((0, 1, 0, 1)): one zero column on the right, one zero row at the bottom.
    Shape sw = x.shape(), sh = x.shape();
    sw[4] = 1;
    x = ops::cat(ctx, {x, ctx.zeros(sw)}, 4);
    sh = x.shape();
    sh[3] = 1;
    x = conv.forward(ctx, ops::cat(ctx, {x, ctx.zeros(sh)}, 3));
  }
  if (mode == Down3d) {
    CacheEntry& e = fc.next();
    if (e.kind == CacheEntry::Empty) {
      e.kind = CacheEntry::Frames;
      e.t = x.clone();
    } else {
      const Tensor cache_x = last_frames(x, 1);
      x = time_conv.forward(ctx, ops::cat(ctx, {last_frames(e.t, 1), x}, 2));
      e.t = cache_x;
    }
  }
  return x;
}

}  // namespace sv::wan_vae
