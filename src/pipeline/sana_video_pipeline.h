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
#include "pipeline/video_pipeline.h"
#include "sampling/schedulers.h"
#include "text/tokenizer.h"

namespace sv::pipeline {

class SanaVideoPipeline : public VideoPipeline {
 public:
  // `place`: the context whose device runs the text encoder, the transformer and the VAE (null: the
  // host). generate's on_frames receives host tensors.
  static std::unique_ptr<SanaVideoPipeline> load(const std::string& dir, const Context* place = nullptr);

  // Checks sizes against the model (VAE x patch factors, 4k + 1 frames) and names the nearest valid ones.
  void validate(const GenerateParams& p) const override;
  // One transformer forward with the CFG batch at the binned size, and the streamed VAE decode when
  // frames will be decoded.
  MemoryEstimate estimate_memory(const GenerateParams& p, bool decode) const override;
  // The same for one forward over latent_frames at height x width (a long video's block).
  MemoryEstimate estimate_memory_at(int height, int width, int64_t latent_frames, int batch, bool decode,
                                    const VaeTiling& tiling = {}) const;
  GenerateResult generate(Context& ctx, const GenerateParams& p, const GenerateCallbacks& cb) const override;
  int64_t size_multiple() const override;
  int64_t binning_sample_size() const override { return transformer_->config().sample_size; }
  const SanaVideoPipeline* sana_video() const override { return this; }
  std::unique_ptr<sampling::Scheduler> make_scheduler(const GenerateParams& p) const;

  const sana_dit::SanaVideoTransformer& transformer() const { return *transformer_; }
  const VideoVae& vae() const override { return *vae_; }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  const gemma2::Gemma2Model& text_encoder() const { return *text_encoder_; }
  // A LongLive checkpoint's longsana/scheduler/scheduler_config.json; null when the folder has none.
  const io::JsonConfig* long_scheduler_config() const { return long_scheduler_config_.get(); }

 private:
  PromptEmbeds encode_prompts(Context& ctx, const GenerateParams& p) const;
  Tensor prepare_latents(Context& ctx, const GenerateParams& p) const;
  Tensor denoise(Context& ctx, const GenerateParams& p, const PromptEmbeds& embeds, Tensor latents,
                 const GenerateCallbacks& cb) const;

  std::string dir_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
  std::unique_ptr<gemma2::Gemma2Model> text_encoder_;
  std::unique_ptr<sana_dit::SanaVideoTransformer> transformer_;
  std::unique_ptr<VideoVae> vae_;
  std::unique_ptr<io::JsonConfig> scheduler_config_;
  std::unique_ptr<io::JsonConfig> long_scheduler_config_;
};

}  // namespace sv::pipeline
