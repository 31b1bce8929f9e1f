#include "models/ltx2_vae/blocks.h"

namespace sv::ltx2_vae {

Tensor FrameQueue::pop(Context& ctx, int64_t n) {
  std::vector<Tensor> parts;
  while (n > 0) {
    SV_CHECK(!chunks_.empty(), "ltx2 vae: frame queue ran dry (internal error)");
    const Tensor& c = chunks_.front();
    const int64_t take = std::min(n, c.size(2) - offset_);
    parts.push_back(take == c.size(2) ? c : c.narrow(2, offset_, take));
    offset_ += take;
    n -= take;
    if (offset_ == c.size(2)) chunks_.erase(chunks_.begin()), offset_ = 0;
  }
  if (parts.size() == 1 && parts[0].is_contiguous()) return parts[0];
  return ops::cat(ctx, parts, 2);
}

size_t FrameQueue::bytes() const {
  size_t b = 0;
  for (const Tensor& t : chunks_) b += t.nbytes();
  return b;
}

Tensor rms_silu(Context& ctx, const Tensor& x) {
  return x.defined() ? ops::channel_rms_norm_act(ctx, x, 1e-8f, ops::Act::SiLU) : Tensor();
}

void Conv3::bind(const io::Scope& s, int64_t in, int64_t out, bool reflect, bool is_causal) {
  w = s.take_raw("conv.weight", {out, in, 3, 3, 3});
  b = s.take("conv.bias", {out});
  padding = reflect ? ops::Padding::Reflect : ops::Padding::Zeros;
  causal = is_causal;
}

namespace {
// Frames [from, from + n) of a chunk as a contiguous tensor (the chunk itself when that is all of it).
Tensor frames(const Tensor& x, int64_t from, int64_t n) {
  return from == 0 && n == x.size(2) ? x : x.narrow(2, from, n).contiguous();
}
}  // namespace

Tensor Conv3::push(Context& ctx, State& st, const Tensor& x, bool last) const {
  if (!x.defined() && !last) return Tensor();
  // The window is read from the chunks themselves (ops::conv3d_frames): chunks are never modified
  // after they are made, so the state keeps references instead of copies.
  std::vector<Tensor> parts = st.tail;
  if (x.defined()) {
    if (!st.started) {
      const Tensor first = frames(x, 0, 1);
      for (int i = 0; i < (causal ? 2 : 1); ++i) parts.push_back(first);
      st.started = true;
    }
    parts.push_back(x);
  }
  if (parts.empty()) return Tensor();
  if (last && !causal) parts.push_back(frames(parts.back(), parts.back().size(2) - 1, 1));  // replicate the last frame
  int64_t n = 0;
  for (const Tensor& p : parts) n += p.size(2);
  Tensor y;
  if (n >= 3) y = ops::conv3d_frames(ctx, parts, w, b, 1, padding);
  st.tail.clear();
  if (!last) {
    int64_t need = std::min<int64_t>(n, 2);
    for (auto it = parts.rbegin(); it != parts.rend() && need > 0; ++it) {
      const int64_t k = std::min(need, it->size(2));
      st.tail.insert(st.tail.begin(), frames(*it, it->size(2) - k, k));
      need -= k;
    }
  }
  return y;
}

void Resnet::bind(const io::Scope& s, int64_t ch, bool reflect, bool causal) {
  conv1.bind(s.sub("conv1"), ch, ch, reflect, causal);
  conv2.bind(s.sub("conv2"), ch, ch, reflect, causal);
}

Tensor Resnet::push(Context& ctx, State& st, const Tensor& x, bool last) const {
  st.skip.push(x);
  Tensor h = conv1.push(ctx, st.c1, rms_silu(ctx, x), last);
  h = conv2.push(ctx, st.c2, rms_silu(ctx, h), last);
  if (!h.defined()) return h;
  return ops::add(ctx, h, st.skip.pop(ctx, h.size(2)));
}

void Downsampler::bind(const io::Scope& s, int64_t in, int64_t out, std::array<int64_t, 3> st, bool reflect,
                       bool causal) {
  stride = st;
  const int64_t S = st[0] * st[1] * st[2];
  group = in * S / out;
  conv.bind(s.sub("conv"), in, out / S, reflect, causal);
}

Tensor Downsampler::forward(Context& ctx, const Tensor& x_in) const {
  Tensor x = x_in;
  if (stride[0] > 1) {
    std::vector<Tensor> parts(static_cast<size_t>(stride[0] - 1), x.narrow(2, 0, 1));
    parts.push_back(x);
    x = ops::cat(ctx, parts, 2);
  }
  SV_CHECK(x.size(2) % stride[0] == 0 && x.size(3) % stride[1] == 0 && x.size(4) % stride[2] == 0,
           "ltx2 vae encoder: ", shape_str(x.shape()), " does not divide by the downsampler's stride (", stride[0], ", ",
           stride[1], ", ", stride[2], ")");
  const Tensor residual = ops::channel_group_mean(ctx, ops::space_to_depth3d(ctx, x, stride, false), group);
  Conv3::State st;
  const Tensor h = conv.push(ctx, st, x, true);
  return ops::add(ctx, ops::space_to_depth3d(ctx, h, stride, false), residual);
}

void Upsampler::bind(const io::Scope& s, int64_t in, std::array<int64_t, 3> st, int64_t factor, bool res, bool reflect,
                     bool causal) {
  stride = st;
  residual = res;
  const int64_t S = st[0] * st[1] * st[2];
  repeats = S / factor;
  conv.bind(s.sub("conv"), in, in * S / factor, reflect, causal);
}

Tensor Upsampler::push(Context& ctx, State& st, const Tensor& x, bool last) const {
  if (residual) st.pending.push(x);
  const Tensor h = conv.push(ctx, st.c, x, last);
  if (!h.defined()) return h;
  Tensor y = ops::depth_to_space3d(ctx, h, stride, false);
  if (residual) {
    const Tensor r = ops::depth_to_space3d(ctx, st.pending.pop(ctx, h.size(2)), stride, false);
    y = ops::add(ctx, y, repeats == 1 ? r : ops::cat(ctx, std::vector<Tensor>(static_cast<size_t>(repeats), r), 1));
  }
  if (!st.dropped && stride[0] > 1) y = y.narrow(2, stride[0] - 1, y.size(2) - (stride[0] - 1)).contiguous();
  st.dropped = true;
  return y;
}

}  // namespace sv::ltx2_vae
