// tokenizer.model through Debian's libsentencepiece: the original algorithm, not a re-implementation.
#include <sentencepiece_processor.h>

#include "core/error.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace sv::text {
namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& path) {
    const auto st = sp_.Load(path);
    SV_CHECK(st.ok(), path, ": cannot load SentencePiece model: ", st.ToString());
    auto id = [&](int v, const char* what) {
      SV_CHECK(v >= 0, path, ": the SentencePiece model defines no ", what, " piece");
      return static_cast<int64_t>(v);
    };
    bos_id = id(sp_.bos_id(), "<bos>");
    unk_id = id(sp_.unk_id(), "<unk>");
    eos_id = sp_.eos_id();
    pad_id = sp_.pad_id() >= 0 ? sp_.pad_id() : 0;
  }
  std::vector<int64_t> encode(const std::string& text, bool add_special) const override {
    std::vector<int> ids;
    const auto st = sp_.Encode(utf8_sanitize(text), &ids);
    SV_CHECK(st.ok(), "sentencepiece: ", st.ToString());
    std::vector<int64_t> out;
    out.reserve(ids.size() + 1);
    if (add_special && add_bos) out.push_back(bos_id);
    for (int i : ids) out.push_back(i);
    return out;
  }
  int64_t vocab_size() const override { return sp_.GetPieceSize(); }
  std::string piece(int64_t id) const override {
    return id >= 0 && id < sp_.GetPieceSize() ? sp_.IdToPiece(static_cast<int>(id)) : std::string();
  }
  std::string kind() const override { return "sentencepiece"; }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path) {
  return std::make_unique<SentencePieceTokenizer>(path);
}

}  // namespace sv::text
