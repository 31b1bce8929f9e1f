// tokenizer.json (BPE, added tokens, normalizer/pre-tokenizer fields) loaded from arbitrary bytes, then
// used to encode the input's tail.
#include "fuzz_util.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sv;
  // Split at the last NUL: tokenizer.json before it, the text after it.
  size_t cut = size;
  for (size_t i = size; i > 0; --i)
    if (data[i - 1] == 0) {
      cut = i - 1;
      break;
    }
  try {
    const std::string path = fuzz::write_file("tok/tokenizer.json", data, cut);
    auto tok = text::load_json_bpe(path);
    const std::string text = cut < size ? std::string(reinterpret_cast<const char*>(data) + cut + 1, size - cut - 1) : "a cat";
    for (int64_t id : tok->encode(text)) (void)tok->piece(id);
  } catch (const std::exception&) {
  }
  return 0;
}
