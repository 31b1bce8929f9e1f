#include "pipeline/prompt.h"

#include "text/unicode.h"

namespace sv::pipeline {

const std::vector<std::string>& diffusers_chi() {
  static const std::vector<std::string> v = {
      "Given a user prompt, generate an 'Enhanced prompt' that provides detailed visual descriptions suitable for "
      "video generation. Evaluate the level of detail in the user prompt:",
      "- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, motion, and temporal "
      "relationships to create vivid and dynamic scenes.",
      "- If the prompt is already detailed, refine and enhance the existing details slightly without overcomplicating.",
      "Here are examples of how to transform or refine prompts:",
      "- User Prompt: A cat sleeping -> Enhanced: A small, fluffy white cat slowly settling into a curled position, "
      "peacefully falling asleep on a warm sunny windowsill, with gentle sunlight filtering through surrounding pots of "
      "blooming red flowers.",
      "- User Prompt: A busy city street -> Enhanced: A bustling city street scene at dusk, featuring glowing street "
      "lamps gradually lighting up, a diverse crowd of people in colorful clothing walking past, and a double-decker bus "
      "smoothly passing by towering glass skyscrapers.",
      "Please generate only the enhanced description for the prompt below and avoid including any additional "
      "commentary or evaluations:",
      "User Prompt: ",
  };
  return v;
}

const std::vector<std::string>& official_chi() {
  static const std::vector<std::string> v = {
      "Given a user prompt, generate an \"Enhanced prompt\" that provides detailed visual descriptions suitable for "
      "image generation. Evaluate the level of detail in the user prompt:",
      "- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, and spatial "
      "relationships to create vivid and concrete scenes.",
      "- If the prompt is already detailed, refine and enhance the existing details slightly without overcomplicating.",
      "Here are examples of how to transform or refine prompts:",
      "- User Prompt: A cat sleeping -> Enhanced: A small, fluffy white cat curled up in a round shape, sleeping "
      "peacefully on a warm sunny windowsill, surrounded by pots of blooming red flowers.",
      "- User Prompt: A busy city street -> Enhanced: A bustling city street scene at dusk, featuring glowing street "
      "lamps, a diverse crowd of people in colorful clothing, and a double-decker bus passing by towering glass "
      "skyscrapers.",
      "Please generate only the enhanced description for the prompt below and avoid including any additional "
      "commentary or evaluations:",
      "User Prompt: ",
  };
  return v;
}

std::string with_motion_score(const std::string& prompt, int score) {
  return text::py_strip(prompt) + " motion score: " + std::to_string(score) + ".";
}

// A tokenizer may know more tokens than the text encoder has embeddings (transformers appends special
// tokens such as <mask> at id vocab_size; diffusers runs such folders): only an id a prompt actually
// produces must exist.
PromptEncoder::PromptEncoder(const text::Tokenizer& tok, const gemma2::Gemma2Model& enc, bool diffusers_clean)
    : tok_(tok), enc_(enc), clean_(diffusers_clean) {}

void PromptEncoder::check_ids(const text::TokenBatch& tb) const {
  const int64_t n = enc_.config().vocab_size;
  for (int64_t id : tb.ids)
    SV_CHECK(id >= 0 && id < n, "the prompt produces token '", tok_.piece(id), "' (id ", id,
             "), but the text encoder has only ", n, " embeddings (ids 0..", n - 1, ")");
}

namespace {
std::string join_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (size_t i = 0; i < lines.size(); ++i) s += (i ? "\n" : "") + lines[i];
  return s;
}

Tensor to_i64(const std::vector<int64_t>& v, int64_t rows, int64_t cols) {
  Tensor t = Tensor::empty({rows, cols}, DType::I64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}
}  // namespace

text::TokenBatch PromptEncoder::tokenize(const std::vector<std::string>& prompts, const std::vector<std::string>& chi,
                                         int64_t max_sequence_length) const {
  SV_CHECK(!prompts.empty(), "encode_prompt: no prompts");
  SV_CHECK(max_sequence_length >= 2, "encode_prompt: max_sequence_length must be at least 2");
  std::vector<std::string> texts;
  for (const std::string& p : prompts) texts.push_back(clean_ ? text::py_strip(text::py_lower(p)) : p);
  int64_t max_length_all = max_sequence_length;
  if (!chi.empty()) {
    const std::string prefix = join_lines(chi);
    for (std::string& t : texts) t = prefix + t;
    const int64_t n_chi = static_cast<int64_t>(tok_.encode(prefix, true).size());  // BOS included
    max_length_all = n_chi + max_sequence_length - 2;
  }
  return tok_.encode_batch(texts, max_length_all);
}

PromptEmbeds PromptEncoder::encode(Context& ctx, const std::vector<std::string>& prompts,
                                   const std::vector<std::string>& chi, int64_t max_sequence_length) const {
  const text::TokenBatch tb = tokenize(prompts, chi, max_sequence_length);
  check_ids(tb);
  const Tensor mask = to_i64(tb.mask, tb.rows, tb.length);
  const Tensor h = enc_.forward(ctx, to_i64(tb.ids, tb.rows, tb.length), mask).to_host();  // [B, Lall, D]
  // select_index = [0] + range(-(max_sequence_length - 1), 0)
  const int64_t B = tb.rows, Lall = tb.length, D = h.size(2), S = max_sequence_length;
  SV_CHECK(Lall >= S, "encode_prompt: sequence of ", Lall, " tokens is shorter than max_sequence_length ", S);
  PromptEmbeds out{Tensor::empty({B, S, D}), Tensor::empty({B, S}, DType::I64)};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      const int64_t src = s == 0 ? 0 : Lall - (S - 1) + (s - 1);
      std::copy(h.f32() + (b * Lall + src) * D, h.f32() + (b * Lall + src + 1) * D, out.embeds.f32() + (b * S + s) * D);
      out.mask.data<int64_t>()[b * S + s] = tb.mask[b * Lall + src];
    }
  return out;
}

PromptEmbeds PromptEncoder::encode_negative(Context& ctx, const std::vector<std::string>& prompts,
                                            int64_t max_sequence_length) const {
  const text::TokenBatch tb = tokenize(prompts, {}, max_sequence_length);
  check_ids(tb);
  PromptEmbeds out;
  out.mask = to_i64(tb.mask, tb.rows, tb.length);
  out.embeds = enc_.forward(ctx, to_i64(tb.ids, tb.rows, tb.length), out.mask).to_host();
  return out;
}

}  // namespace sv::pipeline
