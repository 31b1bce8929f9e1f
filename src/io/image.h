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

// "fill" mode: scale to cover (width, height) keeping the aspect ratio, then centre-crop.
Image resize_cover_crop(const Image& in, int width, int height);

// [1, 3, H, W] float in [-1, 1]: u8 / 255 * 2 - 1, as the pipeline's preprocessing.
Tensor image_to_tensor(const Image& img);

}  // namespace sv::io
