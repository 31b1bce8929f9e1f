// diffusers' resolution binning for SANA-Video: generate at the nearest aspect-ratio bucket of the
// model's table (sample_size 30 -> 480p buckets, 22 -> 720p), then resize back with
// VideoProcessor.resize_and_crop_tensor (bilinear, align_corners=False, to cover; centre crop).
#pragma once
#include <utility>

#include "core/tensor.h"

namespace sv::pipeline {

// (height, width) of the bucket for the requested size; throws for sample sizes without a table.
std::pair<int, int> classify_height_width_bin(int height, int width, int64_t sample_size);

// frames [3, n, H, W] -> [3, n, new_height, new_width], as resize_and_crop_tensor on a video.
Tensor resize_and_crop_frames(const Tensor& frames, int new_width, int new_height);

}  // namespace sv::pipeline
