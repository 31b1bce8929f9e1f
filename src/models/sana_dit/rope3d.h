// Wan 3D rotary tables as diffusers' WanRotaryPosEmbed builds them (float64 angles, cast to fp32).
#pragma once
#include "core/tensor.h"

namespace sv::sana_dit {

// cos/sin [F*H*W, head_dim/2] for token n = (f*H + h)*W + w; column i rotates channel pair (2i, 2i+1).
// Channel split per head: t = head_dim - 2*h_dim, h = w = 2*(head_dim/6). `frame_offset` shifts the
// time positions (absolute positions for block-wise generation).
void rope3d_tables(int64_t head_dim, int64_t max_seq_len, int64_t frames, int64_t height, int64_t width, Tensor* cos,
                   Tensor* sin, int64_t frame_offset = 0);

}  // namespace sv::sana_dit
