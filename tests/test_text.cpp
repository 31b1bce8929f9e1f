// Tokenizers, Gemma2Model and encode_prompt against transformers/diffusers goldens (tests/golden/text,
// written by tools/reference/make_text_goldens.py).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "models/gemma2/gemma2.h"
#include "pipeline/prompt.h"
#include "test_util.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace sv {
namespace {
namespace fs = std::filesystem;

nlohmann::json cases() {
  std::ifstream in(test::golden("text/tokenizer_cases.json"));
  return nlohmann::json::parse(in);
}

class TokenizerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerGolden, IdsMatchTransformers) {
  auto tok = text::Tokenizer::load(test::golden("text/" + GetParam()));
  EXPECT_EQ(tok->kind(), GetParam() == "tok_model" ? "sentencepiece" : "tokenizer.json");
  EXPECT_EQ(tok->bos_id, 2);
  EXPECT_EQ(tok->pad_id, 0);
  EXPECT_EQ(tok->eos_id, 1);
  EXPECT_EQ(tok->vocab_size(), 600);
  const auto j = cases();
  int n = 0;
  for (const auto& c : j["cases"]) {
    const auto want = c["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(tok->encode(c["text"].get<std::string>()), want) << "text: " << c["text"].dump();
    ++n;
  }
  EXPECT_GE(n, 10);
  const auto& p = j["padded"];
  const text::TokenBatch b = tok->encode_batch(p["texts"].get<std::vector<std::string>>(), p["max_length"].get<int64_t>());
  std::vector<int64_t> ids, mask;
  for (const auto& row : p["input_ids"]) for (const auto& v : row) ids.push_back(v.get<int64_t>());
  for (const auto& row : p["attention_mask"]) for (const auto& v : row) mask.push_back(v.get<int64_t>());
  EXPECT_EQ(b.ids, ids);
  EXPECT_EQ(b.mask, mask);
}

INSTANTIATE_TEST_SUITE_P(Folders, TokenizerGolden, ::testing::Values("tok_json", "tok_model", "tok_both"));

TEST(Tokenizer, InvalidUtf8IsReplacedNotFatal) {
  auto json = text::Tokenizer::load(test::golden("text/tok_json"));
  auto sp = text::Tokenizer::load(test::golden("text/tok_model"));
  const std::string bad = std::string("ok \xff\xfe bytes \xe6\x97 cut \xc3");
  const auto a = json->encode(bad), b = sp->encode(bad);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, json->encode(text::utf8_sanitize(bad)));
  EXPECT_EQ(text::utf8_sanitize("\xff"), "\xef\xbf\xbd");
  EXPECT_EQ(json->encode(""), std::vector<int64_t>{2});
}

TEST(Tokenizer, MissingOrBrokenFiles) {
  const fs::path d = fs::temp_directory_path() / ("sv_tok_" + std::to_string(::getpid()));
  fs::create_directories(d);
  EXPECT_THROW(text::Tokenizer::load(d.string()), Error);
  std::ofstream(d / "tokenizer.json") << "{\"model\": {\"type\": \"Unigram\"}}";
  try {
    text::Tokenizer::load(d.string());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Unigram"), std::string::npos);
  }
  std::ofstream(d / "tokenizer.json") << "{nope";
  EXPECT_THROW(text::Tokenizer::load(d.string()), Error);
  fs::remove(d / "tokenizer.json");
  std::ofstream(d / "tokenizer.model") << "garbage";
  EXPECT_THROW(text::Tokenizer::load(d.string()), Error);
}

TEST(Unicode, PythonLowerAndStrip) {
  EXPECT_EQ(text::py_lower("A Red CIRCLE Éé ÀÖ Ω ДЖ Ａ"), "a red circle éé àö ω дж ａ");
  EXPECT_EQ(text::py_strip(" \t\n x y \xc2\xa0\xe3\x80\x80"), "x y");
  EXPECT_EQ(text::py_strip(""), "");
}

class Gemma2Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Gemma2Golden, MatchesTransformers) {
  const std::string dir = test::golden("text/" + GetParam());
  auto m = gemma2::Gemma2Model::load(dir);
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  Context ctx(Device::CPU, 2);
  const Tensor h = m->forward(ctx, in.get("input_ids"), in.get("attention_mask"));
  const Tensor ref = io::TensorSource::open(dir + "/expected.safetensors").get("last_hidden_state");
  ASSERT_EQ(h.shape(), ref.shape());
  SV_EXPECT_CLOSE(h, ref, 1e-4, "last_hidden_state");
}

INSTANTIATE_TEST_SUITE_P(Configs, Gemma2Golden, ::testing::Values("gemma_a", "gemma_b", "gemma_c"));

TEST(Gemma2, RejectsIdsOutsideVocabulary) {
  auto m = gemma2::Gemma2Model::load(test::golden("text/gemma_a"));
  Context ctx(Device::CPU, 1);
  Tensor ids = Tensor::from_vector({2, 5, 600}, {1, 3}).to(DType::I64);
  try {
    m->forward(ctx, ids, Tensor());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token id 600"), std::string::npos);
  }
}

TEST(EncodePrompt, MatchesSanaVideoPipeline) {
  const std::string dir = test::golden("text/pipeline");
  auto tok = text::Tokenizer::load(dir + "/tokenizer");
  auto enc = gemma2::Gemma2Model::load(dir + "/text_encoder");
  pipeline::PromptEncoder pe(*tok, *enc);
  std::ifstream pin(dir + "/prompts.json");
  const auto pj = nlohmann::json::parse(pin);
  const auto prompts = pj["prompts"].get<std::vector<std::string>>();
  const std::vector<std::string> neg(prompts.size(), pj["negative_prompt"].get<std::string>());
  const io::TensorSource ref = io::TensorSource::open(dir + "/expected.safetensors");
  Context ctx(Device::CPU, 2);
  for (const std::string tag : {"chi", "nochi"}) {
    const auto& chi = tag == std::string("chi") ? pipeline::diffusers_chi() : std::vector<std::string>{};
    const pipeline::PromptEmbeds p = pe.encode(ctx, prompts, chi, 300);
    ASSERT_EQ(p.embeds.shape(), ref.get(tag + ".prompt_embeds").shape());
    SV_EXPECT_CLOSE(p.embeds, ref.get(tag + ".prompt_embeds"), 1e-4, tag + ".prompt_embeds");
    EXPECT_EQ(p.mask.to_vector(), ref.get(tag + ".prompt_attention_mask").to_vector()) << tag;
    const pipeline::PromptEmbeds n = pe.encode_negative(ctx, neg, 300);
    SV_EXPECT_CLOSE(n.embeds, ref.get(tag + ".negative_prompt_embeds"), 1e-4, tag + ".negative_prompt_embeds");
    EXPECT_EQ(n.mask.to_vector(), ref.get(tag + ".negative_prompt_attention_mask").to_vector()) << tag;
  }
}

TEST(EncodePrompt, MotionScoreAndLongPrompts) {
  EXPECT_EQ(pipeline::with_motion_score("  a cat  ", 30), "a cat motion score: 30.");
  const std::string dir = test::golden("text/pipeline");
  auto tok = text::Tokenizer::load(dir + "/tokenizer");
  auto enc = gemma2::Gemma2Model::load(dir + "/text_encoder");
  pipeline::PromptEncoder pe(*tok, *enc);
  std::string longp;
  for (int i = 0; i < 400; ++i) longp += "red circle ";
  // Truncated like the reference: the batch is exactly n_chi + 298 long and fully unmasked.
  const text::TokenBatch tb = pe.tokenize({longp}, pipeline::diffusers_chi(), 300);
  const int64_t n_chi = static_cast<int64_t>(tok->encode([] {
                                                 std::string s;
                                                 for (size_t i = 0; i < pipeline::diffusers_chi().size(); ++i)
                                                   s += (i ? "\n" : "") + pipeline::diffusers_chi()[i];
                                                 return s;
                                               }())
                                                 .size());
  EXPECT_EQ(tb.length, n_chi + 298);
  for (int64_t v : tb.mask) EXPECT_EQ(v, 1);
}

}  // namespace
}  // namespace sv

namespace sv {
namespace {

// A tokenizer that knows more ids than the text encoder has embeddings (transformers appends special
// tokens such as <mask> at id vocab_size) loads and encodes prompts that stay inside the table; a prompt
// that produces a missing id is refused naming the token.
TEST(EncodePrompt, TokenizerLargerThanEmbeddingTableFailsOnlyOnMissingIds) {
  // A text encoder with 500 embeddings behind a 600-piece tokenizer.
  const std::string src = test::golden("text/pipeline/text_encoder");
  const fs::path d = fs::temp_directory_path() / ("sv_te_" + std::to_string(::getpid()));
  fs::create_directories(d);
  const io::TensorSource w = io::TensorSource::open(src);
  std::vector<std::pair<std::string, Tensor>> t;
  for (const std::string& n : w.names())
    t.emplace_back(n, n == "embed_tokens.weight" ? w.get(n).narrow(0, 0, 500) : w.get(n));
  io::write_safetensors((d / "model.safetensors").string(), t);
  auto cfg = io::JsonConfig::load(src + "/config.json").json();
  cfg["vocab_size"] = 500;
  std::ofstream(d / "config.json") << cfg.dump();
  auto enc = gemma2::Gemma2Model::load(d.string());
  auto tok = text::Tokenizer::load(test::golden("text/pipeline/tokenizer"));
  pipeline::PromptEncoder pe(*tok, *enc);
  Context ctx(Device::CPU, 1);
  // Find a piece with an id >= 500 and one prompt that stays below it.
  int64_t high = -1;
  for (int64_t id = tok->vocab_size() - 1; id >= 500 && high < 0; --id)
    if (!tok->piece(id).empty() && tok->piece(id).find("<") == std::string::npos) high = id;
  ASSERT_GE(high, 500);
  std::string word = tok->piece(high);
  for (std::string from : {"\xe2\x96\x81"})  // SentencePiece's word-start marker is a space in text
    for (size_t i; (i = word.find(from)) != std::string::npos;) word.replace(i, from.size(), " ");
  EXPECT_NO_THROW(pe.encode_negative(ctx, {""}, 8));
  const auto ids = tok->encode(word, true);
  if (std::find(ids.begin(), ids.end(), high) == ids.end()) GTEST_SKIP() << "piece " << high << " does not re-encode alone";
  try {
    pe.encode_negative(ctx, {word}, 8);
    ADD_FAILURE() << "a prompt with id " << high << " was encoded by a 500-row table";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("id " + std::to_string(high)), std::string::npos) << m;
    EXPECT_NE(m.find("only 500 embeddings"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace sv
