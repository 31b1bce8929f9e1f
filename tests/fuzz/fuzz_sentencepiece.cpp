// SentencePiece model files (tokenizer.model) from arbitrary bytes, then an encode.
#include "fuzz_util.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sv;
  try {
    const std::string path = fuzz::write_file("sp/tokenizer.model", data, size);
    auto tok = text::load_sentencepiece(path);
    for (int64_t id : tok->encode("A purple hexagon dancing at sunset, 4K! \xe4\xb8\xad\xe6\x96\x87")) (void)tok->piece(id);
  } catch (const std::exception&) {
  }
  return 0;
}
