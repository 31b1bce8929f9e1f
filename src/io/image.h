// Still images for image-to-video: decoding (JPEG through libjpeg-turbo, as Pillow does; PNG and
// other formats through FFmpeg) and Pillow-exact Lanczos resizing, so the first frame matches what
// diffusers' VideoProcessor.preprocess feeds the VAE.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace sv::io {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // interleaved RGB, row-major
};

// Decodes a PNG/JPEG/WebP/BMP file to RGB (alpha dropped, palettes expanded). One-line errors for
// unreadable or corrupt files.
Image read_image(const std::string& path);

// PIL Image.resize((width, height), Image.LANCZOS) for 8-bit RGB: separable Lanczos-3 with Pillow's
// support scaling, coefficient normalisation and 22-bit fixed-point rounding, bit for bit.
Image resize_lanczos(const Image& in, int width, int height);

// PIL Image.resize((width, height), Image.BICUBIC), the same way (Pillow's a = -0.5 cubic, support 2).
Image resize_bicubic(const Image& in, int width, int height);

// NVIDIA's resize_crop_to_fill_image (diffusion/data/transforms.py), the official image-to-video
// preprocessing: scale with BICUBIC so the image covers width x height (the scaled side rounded as
// Python's round), then crop the centre (offset rounded the same way).
Image resize_fill_crop_official(const Image& in, int width, int height);

// "fill" mode: scale to cover (width, height) keeping the aspect ratio, then centre-crop.
Image resize_cover_crop(const Image& in, int width, int height);

// [1, 3, H, W] float in [-1, 1]: u8 / 255 * 2 - 1, as the pipeline's preprocessing.
Tensor image_to_tensor(const Image& img);

}  // namespace sv::io
