// What every text-to-video pipeline offers the C API (and so the CLI, the server and Python): the
// parameters, callbacks and result of one generation, and the interface the model families implement.
// VideoPipeline::load picks the family from the folder's model_index.json.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "core/context.h"
#include "io/image.h"
#include "models/video_vae.h"
#include "pipeline/prompt.h"

namespace sv::pipeline {

struct GenerateParams {
  std::string prompt, negative_prompt;
  int height = 480, width = 832, frames = 81, steps = 50;
  double guidance_scale = 6.0;  // <= 1 disables the unconditional pass
  uint64_t seed = 0;
  std::string sampler;  // "" = the pipeline's scheduler; "dpm++2m", "euler" or "unipc"
  double shift = 0;     // > 0 overrides the scheduler's shift
  int motion_score = -1;  // >= 0 appends " motion score: N." to the prompt
  Chi chi = Chi::Default;
  int max_sequence_length = 300;
  Tensor initial_latents;  // optional: replaces the seeded noise
  // Image-to-video (SanaImageToVideoPipeline): the first frame, resized to width x height with
  // Pillow's LANCZOS like diffusers' VideoProcessor. Empty = text-to-video.
  std::string image_path;
  io::Image image;  // the same first frame already decoded (bindings); used when image_path is empty
  // diffusers' use_resolution_binning: generate at the nearest aspect-ratio bucket, resize frames back.
  bool resolution_binning = false;
  // diffusers' vae.enable_tiling(...): spatially tiled decode (and image encode) where the VAE has it.
  VaeTiling vae_tiling;
  // Optional precomputed text conditioning (what `run text-encoder` writes): [1, L, D] + [1, L] mask;
  // the negative pair is encoded from negative_prompt when absent and guidance is on.
  Tensor prompt_embeds, prompt_mask, negative_embeds, negative_mask;

  bool has_image() const { return !image_path.empty() || !image.rgb.empty(); }
};

struct GenerateCallbacks {
  // stage: "encode", "denoise", "decode"; step/total count within the stage.
  std::function<void(const char* stage, int step, int total)> progress;
  std::function<bool()> cancelled;  // polled between steps and frames
  std::function<void(const Tensor& frames)> on_frames;  // [B, 3, n, H, W] in [-1, 1], streamed while decoding
  std::function<void(int step, int total, double timestep)> on_step;  // after each denoising step
  // Long video only: asked before each block after the first (block index, its start time in seconds);
  // a non-empty prompt replaces the current one from that block on, as a schedule entry there would.
  std::function<std::string(int block, double start_seconds)> next_prompt;
};

struct GenerateResult {
  Tensor latents;  // final latents [B, C, T, h, w] (before de-normalisation), on the host
  bool cancelled = false;
  double seconds_encode = 0, seconds_denoise = 0, seconds_decode = 0;
};

class SanaVideoPipeline;

// What one job takes on the context's device beyond the loaded weights, stage by stage (the allocator's
// cache is released between them). Calibrated against measured peaks (`sv-bench memory`,
// tests/test_memory_estimate.cpp): at or above what the job really takes, by a bounded margin.
struct MemoryEstimate {
  size_t denoise = 0;  // the latents, the text conditioning and one transformer forward (CFG batch included)
  size_t decode = 0;   // the streamed VAE decode (0 when no frames are decoded)
  // The job as the transformer sees it (after resolution binning; a long video's block), for the message.
  int width = 0, height = 0;
  int64_t latent_frames = 0;
  int batch = 1;
};

// Throws one line naming the stage, the job's size, the MiB it needs and the MiB ctx's device has free.
void check_memory_fits(const Context& ctx, const MemoryEstimate& m);

class VideoPipeline {
 public:
  virtual ~VideoPipeline() = default;
  // SanaVideoPipeline for diffusers folders, SanaVideo2Pipeline for a converted SANA-Video 2.0 release.
  static std::unique_ptr<VideoPipeline> load(const std::string& dir, const Context* place = nullptr);

  // Every argument check, naming the nearest valid sizes; no work.
  virtual void validate(const GenerateParams& p) const = 0;
  virtual MemoryEstimate estimate_memory(const GenerateParams& p, bool decode) const = 0;
  // Refuses, before anything is allocated, a job that cannot fit in ctx's device memory.
  void check_fits(const Context& ctx, const GenerateParams& p, bool decode) const {
    check_memory_fits(ctx, estimate_memory(p, decode));
  }
  virtual GenerateResult generate(Context& ctx, const GenerateParams& p, const GenerateCallbacks& cb) const = 0;
  virtual const VideoVae& vae() const = 0;
  // Width and height are multiples of this.
  virtual int64_t size_multiple() const = 0;
  // The transformer's sample_size that diffusers' resolution binning keys on; 0 when the model has no table.
  virtual int64_t binning_sample_size() const { return 0; }
  // The negative prompt used when the caller gives none.
  virtual std::string default_negative_prompt() const { return ""; }
  // The SANA-Video pipeline that LongSANA long video runs on; null for families without it.
  virtual const SanaVideoPipeline* sana_video() const { return nullptr; }
};

// The stage sequence both families share, timed into the result: `encode` (prompts and starting latents)
// returns the latents, `denoise` the final ones (undefined when cancelled), then decode_frames when
// cb.on_frames is set.
GenerateResult run_stages(Context& ctx, const GenerateCallbacks& cb, const std::function<Tensor()>& encode,
                          const std::function<Tensor(const Tensor&)>& denoise, const VideoVae& vae,
                          const VaeTiling& tiling);

// The decode stage both families share: latents / (1 / std) + mean, then the VAE's streamed decode one
// latent frame at a time; finished frames go to cb.on_frames on the host. False when cancelled.
bool decode_frames(Context& ctx, const VideoVae& vae, const Tensor& latents, const VaeTiling& tiling,
                   const GenerateCallbacks& cb);

}  // namespace sv::pipeline
