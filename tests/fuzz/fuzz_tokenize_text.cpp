// Arbitrary bytes as prompts through the committed test tokenizers (tokenizer.json BPE and the
// SentencePiece model), with truncation and padding as the prompt encoder does.
#include "fuzz_util.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sv;
  static const auto json_tok = text::Tokenizer::load(std::string(SV_TEST_DATA) + "/text/tok_json");
  static const auto sp_tok = text::Tokenizer::load(std::string(SV_TEST_DATA) + "/text/tok_model");
  const std::string s(reinterpret_cast<const char*>(data), size);
  for (const auto* tok : {json_tok.get(), sp_tok.get()}) {
    try {
      for (int64_t id : tok->encode(s)) (void)tok->piece(id);
      (void)tok->encode_batch({s, "a"}, 1 + static_cast<int64_t>(size % 300));
    } catch (const std::exception&) {
    }
  }
  return 0;
}
