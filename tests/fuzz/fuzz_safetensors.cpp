// safetensors files (header, offsets, dtypes, shapes) and shard indexes, as model folders and the
// --latents / --prompt-embeds inputs are read: open, list, read every tensor, widen it to fp32.
#include "fuzz_util.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sv;
  // The first byte picks the form: a single file, or a shard index naming two shards (written from
  // the rest of the input too, so the index and its shards are both fuzzed).
  if (size < 1) return 0;
  const bool index = data[0] & 1;
  try {
    std::string path;
    if (index) {
      const size_t half = (size - 1) / 2;
      fuzz::write_file("model-00001-of-00002.safetensors", data + 1, half);
      fuzz::write_file("model-00002-of-00002.safetensors", data + 1 + half, size - 1 - half);
      path = fuzz::write_file("model.safetensors.index.json", data + 1, size - 1);
    } else {
      path = fuzz::write_file("single.safetensors", data + 1, size - 1);
    }
    const io::TensorSource src = io::TensorSource::open(path);
    for (const std::string& name : src.names()) {
      const Tensor t = src.get(name);
      if (t.numel() <= (int64_t(1) << 20)) (void)t.to_f32();
    }
  } catch (const std::exception&) {
  }
  return 0;
}
