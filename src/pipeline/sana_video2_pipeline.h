// SANA-Video 2.0 text/image-to-video as NVIDIA's release runs it, on a folder `sana-video convert` wrote
// (transformer/, generation_defaults.json) with the LTX-2.3 VAE (vae/) and Gemma-2 (text_encoder/,
// tokenizer/) beside it: the prompt with the release's CHI and motion-score suffix (not lower-cased),
// the negative prompt without CHI, torch.randn noise, then the official flow DPM-Solver++ (text-to-video),
// LTXFlowEuler with a clean first frame (image-to-video) or the 4-step DMD sampler, and the streamed
// VAE decode.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "models/gemma2/gemma2.h"
#include "models/sana_video2/transformer.h"
#include "pipeline/video_pipeline.h"
#include "text/tokenizer.h"

namespace sv::pipeline {

class SanaVideo2Pipeline : public VideoPipeline {
 public:
  static std::unique_ptr<SanaVideo2Pipeline> load(const std::string& dir, const Context* place = nullptr);

  void validate(const GenerateParams& p) const override;
  MemoryEstimate estimate_memory(const GenerateParams& p, bool decode) const override;
  GenerateResult generate(Context& ctx, const GenerateParams& p, const GenerateCallbacks& cb) const override;
  const VideoVae& vae() const override { return *vae_; }
  int64_t size_multiple() const override;
  std::string default_negative_prompt() const override { return negative_prompt_; }

  const sana_video2::Transformer& transformer() const { return *transformer_; }

 private:
  PromptEmbeds encode_prompts(Context& ctx, const GenerateParams& p) const;
  Tensor prepare_latents(Context& ctx, const GenerateParams& p, TorchGenerator& gen) const;
  Tensor denoise(Context& ctx, const GenerateParams& p, const PromptEmbeds& embeds, Tensor latents, TorchGenerator& gen,
                 const GenerateCallbacks& cb) const;
  Tensor model(Context& ctx, const Tensor& x, const Tensor& timestep, const PromptEmbeds& embeds) const;

  std::unique_ptr<text::Tokenizer> tokenizer_;
  std::unique_ptr<gemma2::Gemma2Model> text_encoder_;
  std::unique_ptr<sana_video2::Transformer> transformer_;
  std::unique_ptr<VideoVae> vae_;
  // The release's settings from generation_defaults.json.
  std::vector<std::string> chi_;
  int64_t max_sequence_length_ = 300;
  int motion_score_ = 20;
  double shift_ = 12.0;
  std::string negative_prompt_, sampler_;  // the release's defaults ("" and the 50-step solver without them)

  const std::string& sampler_of(const GenerateParams& p) const { return p.sampler.empty() ? sampler_ : p.sampler; }
};

}  // namespace sv::pipeline
