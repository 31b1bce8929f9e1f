// SanaVideoPipeline (diffusers pipelines/sana_video/pipeline_sana_video.py): prompt encoding, seeded
// noise, the flow sampler loop with classifier-free guidance, and streaming VAE decoding. Loads a
// diffusers pipeline folder (model_index.json naming tokenizer, text_encoder, transformer, vae,
// scheduler).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "core/context.h"
#include "io/image.h"
#include "models/gemma2/gemma2.h"
#include "models/sana_dit/sana_dit.h"
#include "models/video_vae.h"
#include "pipeline/prompt.h"
#include "sampling/schedulers.h"
#include "text/tokenizer.h"

namespace sv::pipeline {

struct GenerateParams {
  std::string prompt, negative_prompt;
  int height = 480, width = 832, frames = 81, steps = 50;
  double guidance_scale = 6.0;  // <= 1 disables the unconditional pass
  uint64_t seed = 0;
  std::string sampler;  // "" = the pipeline's scheduler; "dpm++2m", "euler" or "unipc"
  double shift = 0;     // > 0 overrides the scheduler's shift
  int motion_score = -1;  // >= 0 appends " motion score: N." to the prompt
  Chi chi = Chi::Diffusers;
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

class SanaVideoPipeline {
 public:
  // `place`: the context whose device runs the text encoder, the transformer and the VAE (null: the
  // host). generate's on_frames receives host tensors.
  static std::unique_ptr<SanaVideoPipeline> load(const std::string& dir, const Context* place = nullptr);

  // Checks sizes against the model (VAE x patch factors, 4k + 1 frames) and names the nearest valid ones.
  void validate(const GenerateParams& p) const;
  // Refuses, before anything is allocated, a job whose transformer forward (with the CFG batch, at the
  // binned size) or streamed VAE decode cannot fit in the memory ctx's device has available; the
  // message gives both. decode: frames will be decoded.
  void check_fits(const Context& ctx, const GenerateParams& p, bool decode) const;
  // The same for one forward over latent_frames at height x width (a long video's block).
  void check_fits_at(const Context& ctx, int height, int width, int64_t latent_frames, int batch, bool decode,
                     const VaeTiling& tiling = {}) const;
  GenerateResult generate(Context& ctx, const GenerateParams& p, const GenerateCallbacks& cb) const;
  std::unique_ptr<sampling::Scheduler> make_scheduler(const GenerateParams& p) const;

  const sana_dit::SanaVideoTransformer& transformer() const { return *transformer_; }
  const VideoVae& vae() const { return *vae_; }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  const gemma2::Gemma2Model& text_encoder() const { return *text_encoder_; }
  // A LongLive checkpoint's longsana/scheduler/scheduler_config.json; null when the folder has none.
  const io::JsonConfig* long_scheduler_config() const { return long_scheduler_config_.get(); }

 private:
  PromptEmbeds encode_prompts(Context& ctx, const GenerateParams& p) const;
  Tensor prepare_latents(Context& ctx, const GenerateParams& p) const;
  Tensor denoise(Context& ctx, const GenerateParams& p, const PromptEmbeds& embeds, Tensor latents,
                 const GenerateCallbacks& cb) const;
  bool decode(Context& ctx, const GenerateParams& p, const Tensor& latents, const GenerateCallbacks& cb) const;

  std::string dir_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
  std::unique_ptr<gemma2::Gemma2Model> text_encoder_;
  std::unique_ptr<sana_dit::SanaVideoTransformer> transformer_;
  std::unique_ptr<VideoVae> vae_;
  std::unique_ptr<io::JsonConfig> scheduler_config_;
  std::unique_ptr<io::JsonConfig> long_scheduler_config_;
};

}  // namespace sv::pipeline
