// Gemma tokenizers. A checkpoint's tokenizer/ folder may hold tokenizer.json (HF tokenizers BPE with
// byte fallback, as current transformers writes it), tokenizer.model (SentencePiece, run through
// libsentencepiece), or both; tokenizer.json is preferred because it is what transformers loads.
// Special-token ids always come from the files.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace sv::text {

struct TokenBatch {
  int64_t rows = 0, length = 0;
  std::vector<int64_t> ids;   // [rows, length], right-padded with pad_id
  std::vector<int64_t> mask;  // 1 on real tokens
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  static std::unique_ptr<Tokenizer> load(const std::string& dir);

  // Token ids of `text` (invalid UTF-8 is replaced by U+FFFD first); BOS first when add_special.
  virtual std::vector<int64_t> encode(const std::string& text, bool add_special = true) const = 0;
  // One past the largest id the tokenizer can emit.
  virtual int64_t vocab_size() const = 0;
  // The token text of an id ("" when the id is unknown), for error messages.
  virtual std::string piece(int64_t id) const = 0;
  virtual std::string kind() const = 0;

  // transformers' tokenizer(texts, padding="max_length", max_length=L, truncation=True): truncation
  // keeps the first L ids (BOS included), then right padding with pad_id to exactly L.
  TokenBatch encode_batch(const std::vector<std::string>& texts, int64_t max_length) const;

  int64_t bos_id = 2, eos_id = 1, pad_id = 0, unk_id = 3;
  bool add_bos = true;
};

std::unique_ptr<Tokenizer> load_json_bpe(const std::string& path);
std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path);

}  // namespace sv::text
