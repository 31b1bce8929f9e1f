// Video files through FFmpeg's libraries: MP4/MKV/MOV (H.264, yuv420p), animated WebP, GIF, or a
// folder of PNG frames (a path ending in '/' or an existing directory). Frames are appended as they
// come (streaming); the file is written under a temporary name and renamed by finish(), so an
// interrupted or failed run never leaves a partial output behind.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace sv::io {

class VideoWriter {
 public:
  struct Options {
    int width = 0, height = 0;
    int fps = 16;
    int crf = 18;  // H.264 quality
    // MP4/MOV: fragmented (moov first) with every write closed as its own fragment and flushed, H.264
    // without lookahead or B-frames, so the growing temporary file plays every frame written so far.
    bool fragmented = false;
  };
  // Chooses the format from the path's extension; unknown extensions, odd sizes for yuv420p or a
  // missing encoder are one-line errors.
  static std::unique_ptr<VideoWriter> open(const std::string& path, const Options& opt);
  virtual ~VideoWriter() = default;  // without finish(): the temporary output is removed

  // frames [3, n, H, W] in [-1, 1] (one clip; what the VAE decoder hands out).
  virtual void write_frames(const Tensor& frames) = 0;
  // count frames of interleaved 8-bit RGB [count, H, W, 3], already quantised (frames made elsewhere).
  virtual void write_rgb24(const uint8_t* rgb, int64_t count) = 0;
  virtual void finish() = 0;
  virtual int64_t frames_written() const = 0;
  // Where frames go until finish() renames it to the requested path.
  virtual const std::string& temp_path() const = 0;
};

// diffusers' postprocess for "pil"/"np": round(clamp(x * 0.5 + 0.5, 0, 1) * 255) as interleaved RGB.
std::vector<uint8_t> frame_to_rgb24(const Tensor& frames, int64_t index);

// diffusers' postprocess for "np": clamp(x * 0.5 + 0.5, 0, 1) as interleaved float RGB [n, H, W, 3]
// written to `out` (frame_to_rgb24 of the same frames is round(out * 255)).
void frames_to_rgb_f32(const Tensor& frames, float* out);

}  // namespace sv::io
