// Wan 3D rotary tables as diffusers' WanRotaryPosEmbed builds them (float64 angles, cast to fp32).
// Shared by SANA-Video 1.0's transformer and 2.0's (its linear and softmax layers' two tables).
#pragma once
#include <mutex>
#include <vector>

#include "core/context.h"
#include "core/tensor.h"

namespace sv::nn {

// cos/sin [F*H*W, head_dim/2] for token n = (f*H + h)*W + w; column i rotates channel pair (2i, 2i+1).
// Channel split per head: t = head_dim - 2*h_dim, h = w = 2*(head_dim/6). `frame_offset` shifts the
// time positions (absolute positions for block-wise generation).
void rope3d_tables(int64_t head_dim, int64_t max_seq_len, int64_t frames, int64_t height, int64_t width, Tensor* cos,
                   Tensor* sin, int64_t frame_offset = 0);

// The tables of the last few grids asked for, on the device of the context that asked: a denoising loop
// asks for one grid every step, and the tables are megabytes at 480p (LongSANA: one offset per block).
class Rope3dCache {
 public:
  Rope3dCache(int64_t head_dim, int64_t max_seq_len) : head_dim_(head_dim), max_seq_len_(max_seq_len) {}
  void get(const Context& ctx, int64_t frames, int64_t height, int64_t width, int64_t frame_offset, Tensor* cos,
           Tensor* sin) const;

 private:
  struct Entry {
    int64_t f = 0, h = 0, w = 0, offset = 0;
    const void* where = nullptr;  // the asking context's allocator
    Tensor cos, sin;
  };
  int64_t head_dim_, max_seq_len_;
  mutable std::mutex mu_;
  mutable std::vector<Entry> entries_;
};

}  // namespace sv::nn
