// Building blocks of diffusers' AutoencoderKLLTX2Video (autoencoder_kl_ltx2.py) as frame streams.
//
// Every block takes its input a chunk of frames at a time and returns the output frames that are
// final, holding in a State only what later frames still need: a k=3 conv keeps its last two input
// frames (and, non-causal, emits frame t - 1 when frame t arrives), a resnet keeps the skip inputs its
// convs have not yet answered, an upsampler its conv's pending residuals. `last` marks the end of the
// stream: the block then flushes (replicating the last frame, as diffusers pads). Pushing a whole clip
// with last = true is diffusers' forward; pushing it frame by frame gives the same frames with memory
// independent of the clip length. Chunks are [B, C, n, H, W]; an undefined tensor is "no frames".
#pragma once
#include <array>
#include <vector>

#include "core/context.h"
#include "io/weight_binder.h"
#include "ops/ops.h"

namespace sv::ltx2_vae {

// Frames waiting to be paired with outputs that arrive later (FIFO over chunks).
class FrameQueue {
 public:
  void push(const Tensor& x) {
    if (x.defined()) chunks_.push_back(x);
  }
  Tensor pop(Context& ctx, int64_t n);  // the first n frames, [B, C, n, H, W]
  int64_t frames() const {
    int64_t n = -offset_;
    for (const Tensor& t : chunks_) n += t.size(2);
    return n;
  }
  size_t bytes() const;

 private:
  std::vector<Tensor> chunks_;
  int64_t offset_ = 0;  // frames of chunks_[0] already popped
};

// LTX2VideoCausalConv3d: 3x3x3 conv, spatial padding 1 (zeros or reflect), time padded with copies of the
// first frame (causal: 2 in front) or of the first and the last (non-causal: 1 in front, 1 behind).
struct Conv3 {
  Tensor w, b;
  ops::Padding padding = ops::Padding::Zeros;
  bool causal = true;
  void bind(const io::Scope& s, int64_t in, int64_t out, bool reflect, bool causal);
  struct State {
    std::vector<Tensor> tail;  // the last (up to two) frames of the time-padded input, as earlier chunks
    bool started = false;
    size_t bytes() const {
      size_t b = 0;
      for (const Tensor& t : tail) b += t.nbytes();
      return b;
    }
  };
  Tensor push(Context& ctx, State& st, const Tensor& x, bool last) const;
};

// LTX2VideoResnetBlock3d with equal widths (no norm3 / shortcut, no timestep or noise):
// x + conv2(SiLU(RMS(conv1(SiLU(RMS(x)))))).
struct Resnet {
  Conv3 conv1, conv2;
  void bind(const io::Scope& s, int64_t ch, bool reflect, bool causal);
  struct State {
    Conv3::State c1, c2;
    FrameQueue skip;
    size_t bytes() const { return c1.bytes() + c2.bytes() + skip.bytes(); }
  };
  Tensor push(Context& ctx, State& st, const Tensor& x, bool last) const;
};

// LTX2VideoDownsampler3d (encoder; the whole clip at once): space-to-depth of conv(x) plus the mean of
// consecutive channel groups of space-to-depth(x), after prepending stride_t - 1 copies of frame 0.
struct Downsampler {
  Conv3 conv;
  std::array<int64_t, 3> stride{1, 1, 1};
  int64_t group = 1;
  void bind(const io::Scope& s, int64_t in, int64_t out, std::array<int64_t, 3> stride, bool reflect, bool causal);
  Tensor forward(Context& ctx, const Tensor& x) const;
};

// LTX2VideoUpsampler3d: depth-to-space of conv(x) (+ depth-to-space of x tiled over channels), dropping
// the first stride_t - 1 frames of the stream.
struct Upsampler {
  Conv3 conv;
  std::array<int64_t, 3> stride{1, 1, 1};
  int64_t repeats = 1;
  bool residual = false;
  void bind(const io::Scope& s, int64_t in, std::array<int64_t, 3> stride, int64_t factor, bool residual, bool reflect,
            bool causal);
  struct State {
    Conv3::State c;
    FrameQueue pending;
    bool dropped = false;
    size_t bytes() const { return c.bytes() + pending.bytes(); }
  };
  Tensor push(Context& ctx, State& st, const Tensor& x, bool last) const;
};

// PerChannelRMSNorm (eps 1e-8) then SiLU; undefined in, undefined out.
Tensor rms_silu(Context& ctx, const Tensor& x);

}  // namespace sv::ltx2_vae
