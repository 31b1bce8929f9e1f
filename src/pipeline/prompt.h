// Prompt encoding exactly as diffusers' SanaVideoPipeline.encode_prompt: lower-case + strip, the
// complex human instruction (CHI) prefix, max_length = n_chi + max_sequence_length - 2, keep position 0
// and the last max_sequence_length - 1 positions; the negative prompt without CHI at max_sequence_length.
#pragma once
#include <string>
#include <vector>

#include "core/context.h"
#include "models/gemma2/gemma2.h"
#include "text/tokenizer.h"

namespace sv::pipeline {

// Default: the model's own (diffusers' for SANA-Video folders, the release's for SANA-Video 2.0).
enum class Chi { None, Diffusers, Official, Default };

// diffusers SanaVideoPipeline's default CHI lines, and the official NVlabs text used in training.
const std::vector<std::string>& diffusers_chi();
const std::vector<std::string>& official_chi();

// "<prompt> motion score: N." as the official inference appends it.
std::string with_motion_score(const std::string& prompt, int score);

struct PromptEmbeds {
  Tensor embeds;  // [B, max_sequence_length, hidden] F32
  Tensor mask;    // [B, max_sequence_length] I64
};

class PromptEncoder {
 public:
  // The tokenizer may know more ids than the encoder has embeddings; encoding a prompt that produces
  // one of them throws, naming the token and its id.
  // `diffusers_clean`: lower-case and strip prompts as diffusers' encode_prompt does (NVIDIA's own
  // inference passes them as they are).
  PromptEncoder(const text::Tokenizer& tok, const gemma2::Gemma2Model& enc, bool diffusers_clean = true);

  // Positive prompts with a CHI prefix (or none) and token selection.
  PromptEmbeds encode(Context& ctx, const std::vector<std::string>& prompts, const std::vector<std::string>& chi,
                      int64_t max_sequence_length = 300) const;
  // Negative prompts: no CHI, no selection.
  PromptEmbeds encode_negative(Context& ctx, const std::vector<std::string>& prompts, int64_t max_sequence_length = 300) const;
  // The token ids the encoder sees for `encode` (for inspection and tests).
  text::TokenBatch tokenize(const std::vector<std::string>& prompts, const std::vector<std::string>& chi,
                            int64_t max_sequence_length) const;

 private:
  void check_ids(const text::TokenBatch& tb) const;
  const text::Tokenizer& tok_;
  const gemma2::Gemma2Model& enc_;
  bool clean_ = true;
};

}  // namespace sv::pipeline
