#include "text/tokenizer.h"

#include <filesystem>

#include "core/error.h"

namespace sv::text {

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& dir) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": tokenizer directory not found");
  const fs::path json = fs::path(dir) / "tokenizer.json", model = fs::path(dir) / "tokenizer.model";
  if (fs::exists(json)) return load_json_bpe(json.string());
  if (fs::exists(model)) return load_sentencepiece(model.string());
  SV_THROW(dir, ": no tokenizer.json or tokenizer.model");
}

TokenBatch Tokenizer::encode_batch(const std::vector<std::string>& texts, int64_t max_length) const {
  SV_CHECK(max_length > 0, "tokenizer: max_length must be positive");
  TokenBatch b;
  b.rows = static_cast<int64_t>(texts.size());
  b.length = max_length;
  b.ids.assign(static_cast<size_t>(b.rows * max_length), pad_id);
  b.mask.assign(b.ids.size(), 0);
  for (int64_t r = 0; r < b.rows; ++r) {
    const std::vector<int64_t> ids = encode(texts[r], true);
    const int64_t n = std::min<int64_t>(max_length, static_cast<int64_t>(ids.size()));
    for (int64_t i = 0; i < n; ++i) {
      b.ids[r * max_length + i] = ids[i];
      b.mask[r * max_length + i] = 1;
    }
  }
  return b;
}

}  // namespace sv::text
